package pattern

import (
	"bytes"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/cairn-dev/cairn/internal/gen"
)

// seedPattern is the scenario's pattern (SCENARIOS.md §3, CIS 4.6).
const seedPattern = `{ ($.eventName = ConsoleLogin) && ($.errorMessage = "Failed authentication") }`

// corpus holds generated CloudTrail records: failed sign-ins (the seed
// pattern matches them), successful sign-ins (same event name, no match),
// other events, and the generator's natural mix.
type corpus struct {
	match, login, other, mix [][]byte
}

var benchCorpus *corpus

func loadCorpus(tb testing.TB) *corpus {
	tb.Helper()
	if benchCorpus != nil {
		return benchCorpus
	}
	c := &corpus{}
	g := gen.New(gen.Config{Seed: 7})
	start := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	for i := 0; len(c.match) < 256 || len(c.mix) < 4096; i++ {
		raw := bytes.Clone(g.Event(start.Add(time.Duration(i) * time.Second)))
		if len(c.mix) < 4096 {
			c.mix = append(c.mix, raw)
		}
		failed := bytes.Contains(raw, []byte(`"errorMessage":"Failed authentication"`))
		switch {
		case failed && len(c.match) < 256:
			c.match = append(c.match, raw)
		case !failed && bytes.Contains(raw, []byte(`"eventName":"ConsoleLogin"`)) && len(c.login) < 256:
			c.login = append(c.login, raw)
		case !failed && len(c.other) < 1024:
			c.other = append(c.other, raw)
		}
	}
	benchCorpus = c
	return c
}

func avgSize(msgs [][]byte) int64 {
	n := 0
	for _, m := range msgs {
		n += len(m)
	}
	return int64(n / len(msgs))
}

// cpuTime is the process's user and system CPU time: on a shared machine it
// is a steadier measure than elapsed time.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func benchMatch(b *testing.B, match func([]byte) bool, msgs [][]byte, wantAll, wantNone bool) {
	b.SetBytes(avgSize(msgs))
	b.ReportAllocs()
	hits := 0
	cpu := cpuTime()
	for i := 0; b.Loop(); i++ {
		if match(msgs[i%len(msgs)]) {
			hits++
		}
	}
	cpu = cpuTime() - cpu
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "matches/s")
	b.ReportMetric(float64(cpu.Nanoseconds())/float64(b.N), "cpu-ns/op")
	if wantAll && hits != b.N || wantNone && hits != 0 {
		b.Fatalf("%d of %d matched", hits, b.N)
	}
}

// BenchmarkSeedPattern measures the seed JSON pattern on generated CloudTrail
// records: match (failed sign-ins), login (successful sign-ins, which pass
// the ConsoleLogin literal check), other (everything else) and mix (the
// generator's traffic as it comes).
func BenchmarkSeedPattern(b *testing.B) {
	c := loadCorpus(b)
	p := MustCompile(seedPattern)
	noPrefilter := *p.json
	noPrefilter.need = nil
	for _, v := range []struct {
		name  string
		match func([]byte) bool
	}{
		{"scan+prefilter", p.Match},
		{"scan", noPrefilter.match},
		{"oracle", func(msg []byte) bool { ok, _ := oracleMatch(p.json, msg); return ok }},
	} {
		b.Run(v.name+"/match", func(b *testing.B) { benchMatch(b, v.match, c.match, true, false) })
		b.Run(v.name+"/login", func(b *testing.B) { benchMatch(b, v.match, c.login, false, true) })
		b.Run(v.name+"/other", func(b *testing.B) { benchMatch(b, v.match, c.other, false, true) })
		b.Run(v.name+"/mix", func(b *testing.B) { benchMatch(b, v.match, c.mix, false, false) })
	}
}

// BenchmarkCIS measures the 15 published CIS filters together, per event.
func BenchmarkCIS(b *testing.B) {
	c := loadCorpus(b)
	var pack []*Pattern
	for id, p := range loadCIS(b) {
		if !strings.Contains(id, "-") {
			pack = append(pack, p)
		}
	}
	b.SetBytes(avgSize(c.mix))
	b.ReportAllocs()
	cpu := cpuTime()
	for i := 0; b.Loop(); i++ {
		msg := c.mix[i%len(c.mix)]
		for _, p := range pack {
			p.Match(msg)
		}
	}
	cpu = cpuTime() - cpu
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
	b.ReportMetric(float64(cpu.Nanoseconds())/float64(b.N), "cpu-ns/op")
}

// BenchmarkOtherKinds measures term, regex and space-delimited patterns on
// access-log lines and on CloudTrail records.
func BenchmarkOtherKinds(b *testing.B) {
	c := loadCorpus(b)
	apache := [][]byte{
		[]byte(`127.0.0.1 - frank [10/Oct/2000:13:25:15 -0700] "GET /index.html HTTP/1.0" 404 1534`),
		[]byte(`10.0.0.7 - - [10/Oct/2000:13:25:16 -0700] "POST /api/v1/items HTTP/1.1" 201 88`),
		[]byte(`10.0.0.9 - bob [10/Oct/2000:13:25:17 -0700] "GET /static/app.js HTTP/1.1" 200 53112`),
	}
	for _, v := range []struct {
		name, pattern string
		msgs          [][]byte
	}{
		{"terms/cloudtrail", `ConsoleLogin "Failed authentication"`, c.mix},
		{"regex/cloudtrail", `%Failed authentication|AccessDenied%`, c.mix},
		{"space/access-log", `[ip, id, user, ts, request = *.html*, status = 4*, bytes > 1000]`, apache},
		{"space-ellipsis/access-log", `[..., status = 4* || status = 5*, bytes]`, apache},
	} {
		p := MustCompile(v.pattern)
		b.Run(v.name, func(b *testing.B) { benchMatch(b, p.Match, v.msgs, false, false) })
	}
}

// BenchmarkWorstCase shows matching time stays linear on hostile input: a
// wildcard over 20,000 elements, 1,000 levels of nesting, a 256 KB message
// searched by a regex.
func BenchmarkWorstCase(b *testing.B) {
	var wide strings.Builder
	wide.WriteString(`{"a":[`)
	for i := range 20000 {
		if i > 0 {
			wide.WriteByte(',')
		}
		wide.WriteString(`{"b":[0,{"c":"xxxxxxxxxxxxxxxx"}]}`)
	}
	wide.WriteString(`]}`)
	deep := `{"a":` + strings.Repeat("[", 999) + strings.Repeat("]", 999) + `}`
	big := []byte(strings.Repeat("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa ", 4096))
	for _, v := range []struct {
		name, pattern string
		msg           []byte
	}{
		{"wildcard-20k", `{ $.a[*].b[1].c = %x{17}% || $.a[*].b[0] > 5 || $.a[*].b[1].c != "x" }`, []byte(wide.String())},
		{"deep-1000", `{ $.a[0][0][0] IS NULL }`, []byte(deep)},
		{"regex-256KB", `%a{60}b%`, big},
		{"space-256KB", `[a, ..., b = x]`, big},
	} {
		p := MustCompile(v.pattern)
		b.Run(v.name, func(b *testing.B) { benchMatch(b, p.Match, [][]byte{v.msg}, false, true) })
	}
}

func TestMatchDoesNotAllocate(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector allocates")
	}
	c := loadCorpus(t)
	for _, v := range []struct {
		pattern string
		msgs    [][]byte
	}{
		{seedPattern, c.match},
		{seedPattern, c.mix},
		{`{ $.userIdentity.sessionContext.attributes.mfaAuthenticated != "true" || $.resources[*].ARN = *role* }`, c.mix},
		{`{ $.requestParameters.durationSeconds >= 3600 || $.readOnly IS TRUE }`, c.mix},
		{`ConsoleLogin -Success`, c.mix},
		{`%Failed authentication|AccessDenied%`, c.mix},
		{`{ $.errorCode = %^Access% }`, c.mix},
		{`[a, b, ..., c = *Management*]`, c.mix},
	} {
		p := MustCompile(v.pattern)
		i := 0
		if n := testing.AllocsPerRun(1000, func() { p.Match(v.msgs[i%len(v.msgs)]); i++ }); n != 0 {
			t.Errorf("Compile(%q).Match allocates %.2f times per call", v.pattern, n)
		}
	}
}
