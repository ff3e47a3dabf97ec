package lake

import (
	"context"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/cairn-dev/cairn/internal/gen"
	"github.com/cairn-dev/cairn/internal/journal"
	"github.com/cairn-dev/cairn/internal/recorder"
)

// BenchmarkIngest measures how fast the Lake applies generated events (management and data
// events of three accounts; the store takes its account's, about 70 %) already in the journal
// into one event data store: the catch-up after a restart, which is also its steady-state rate.
func BenchmarkIngest(b *testing.B) {
	const n = 200_000
	g := gen.New(gen.Config{Seed: 1, Accounts: []string{acct, other, "333344445555"}})
	end := time.Now().UTC()
	var raws [][]byte
	g.Spread(n, end.Add(-24*time.Hour), end, func(raw []byte) error {
		raws = append(raws, append([]byte(nil), raw...))
		return nil
	})
	for _, tc := range []struct{ name, kmsKey string }{{"plain", ""}, {"kms", "alias/bench"}} {
		b.Run(tc.name, func(b *testing.B) {
			for range b.N {
				b.StopTimer()
				e := newEnv(b)
				e.kmsKey = tc.kmsKey
				e.store(owner, "bench", sel("Management"), sel("Data", FieldSelector{Field: "resources.type",
					Equals: []string{"AWS::S3::Object", "AWS::DynamoDB::Table", "AWS::Lambda::Function", "AWS::S3::Bucket", "AWS::KMS::Key"}}))
				e.stop()
				e.stop = nil
				j, err := journal.Open(filepath.Join(e.dir, "journal"), journal.Options{})
				if err != nil {
					b.Fatal(err)
				}
				rec := recorder.New(j, recorder.Options{})
				for i := 0; i < len(raws); i += 1000 {
					if _, err := rec.Record(context.Background(), recorder.Scope{AnyAccount: true}, raws[i:min(i+1000, len(raws))]); err != nil {
						b.Fatal(err)
					}
				}
				last := j.LastSeq()
				j.Close()

				b.StartTimer()
				start, cpu0 := time.Now(), cpuTime()
				e = openEnv(b, e.dir, func(c *Config) { c.MemoryLimit = "256MB"; c.Options.FlushInterval = time.Second })
				ctx, cancel := context.WithTimeout(context.Background(), 30*time.Minute)
				if err := e.l.Wait(ctx, last); err != nil {
					b.Fatal(err)
				}
				cancel()
				b.ReportMetric(float64(n)/time.Since(start).Seconds(), "events/s")
				b.ReportMetric(float64(cpuTime()-cpu0)/n, "cpu-ns/event")
				b.StopTimer()
				e.stop()
				e.stop = nil
				b.StartTimer()
			}
		})
	}
}

// cpuTime is the CPU time the process has used: on a shared machine wall time alone misleads.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
