//go:build race

package gen

// raceEnabled shortens the statistical tests, which check output, not
// concurrency, under the race detector's 10× slowdown.
const raceEnabled = true
