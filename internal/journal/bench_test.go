package journal

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
)

// BenchmarkAppend measures durable appends of 1.5 KB records. One op is one Append call.
func BenchmarkAppend(b *testing.B) {
	const recordBytes = 1536
	for _, producers := range []int{1, 8} {
		for _, batch := range []int{1, 100} {
			b.Run(fmt.Sprintf("producers=%d/batch=%d", producers, batch), func(b *testing.B) {
				j := mustOpen(b, b.TempDir(), Options{})
				defer j.Close()
				recs := make([][]byte, batch)
				for i := range recs {
					recs[i] = make([]byte, recordBytes)
					for k := range recs[i] {
						recs[i][k] = byte('a' + (i+k)%26)
					}
				}
				b.SetBytes(int64(batch * recordBytes))
				b.ReportAllocs()
				b.ResetTimer()
				var left atomic.Int64
				left.Store(int64(b.N))
				var wg sync.WaitGroup
				for range producers {
					wg.Go(func() {
						for left.Add(-1) >= 0 {
							if _, err := j.Append(context.Background(), recs); err != nil {
								b.Error(err)
								return
							}
						}
					})
				}
				wg.Wait()
				b.ReportMetric(float64(b.N*batch)/b.Elapsed().Seconds(), "records/s")
				j.Close()
				b.ReportMetric(float64(b.N*batch)/float64(j.w.commits), "records/fsync")
			})
		}
	}
}

// BenchmarkCursor measures reading 1.5 KB records that are already durable.
func BenchmarkCursor(b *testing.B) {
	const recordBytes, n = 1536, 20000
	j := mustOpen(b, b.TempDir(), Options{})
	defer j.Close()
	recs := make([][]byte, 100)
	for i := range recs {
		recs[i] = make([]byte, recordBytes)
	}
	for range n / len(recs) {
		mustAppend(b, j, recs...)
	}
	b.SetBytes(n * recordBytes)
	b.ResetTimer()
	for b.Loop() {
		c := j.Cursor(0)
		got := 0
		for got < n {
			es, err := c.TryNext(1000, 1<<20)
			if err != nil {
				b.Fatal(err)
			}
			got += len(es)
		}
		c.Close()
	}
	b.ReportMetric(float64(b.N*n)/b.Elapsed().Seconds(), "records/s")
}
