//go:build race

package pattern

// raceEnabled skips allocation counts and shortens the generated-traffic
// test under the race detector.
const raceEnabled = true
