package trail

import (
	"context"
	"testing"
	"time"

	"github.com/cairn-dev/cairn/internal/gen"
	"github.com/cairn-dev/cairn/internal/recorder"
)

// Delivery throughput: journal records routed, batched, gzipped and written as log files to
// the local object store, per second. One multi-region trail takes every management event.
func BenchmarkDelivery(b *testing.B) {
	const events = 100_000
	f := newFixture(b)
	tr := &Trail{Name: "bench", Account: acct, HomeRegion: "us-east-1", S3BucketName: "bench-bucket", IncludeGlobalServiceEvents: true, IsMultiRegionTrail: true, LogFileValidationEnabled: true}
	ctx := context.Background()
	f.objects.CreateBucket(ctx, tr.S3BucketName)
	if err := f.store.Create(ctx, tr, nil); err != nil {
		b.Fatal(err)
	}
	f.store.SetLogging(ctx, tr.ARN, true, time.Now().Add(-time.Hour))
	g := gen.New(gen.Config{Seed: 1, Accounts: []string{acct}})
	var bytes int64
	var batch [][]byte
	for i := 0; i < events; i++ {
		raw := g.Event(time.Now())
		bytes += int64(len(raw))
		batch = append(batch, raw)
		if len(batch) == 1000 {
			if _, err := f.rec.Record(ctx, recorder.Scope{AnyAccount: true}, batch); err != nil {
				b.Fatal(err)
			}
			batch = nil
		}
	}
	b.SetBytes(bytes)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		// Deliver the same range again each iteration: a redo writes the same objects.
		if _, err := f.store.db.Exec(`UPDATE trail_delivery SET delivered_seq = 0, pending_from = NULL`); err != nil {
			b.Fatal(err)
		}
		if err := f.d.step(ctx); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(events*b.N)/b.Elapsed().Seconds(), "events/s")
}
