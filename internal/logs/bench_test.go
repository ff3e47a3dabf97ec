package logs

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"
)

// BenchmarkPut stores batches of 500 CloudTrail-sized (1.5 KB) events, with the scenario's
// metric filter on the group.
func BenchmarkPut(b *testing.B) {
	s, clk, _ := newStore(&testing.T{})
	ctx := context.Background()
	must2(b, s.CreateGroup(ctx, sc, "g", "", nil))
	must2(b, s.CreateStream(ctx, sc, "g", "s"))
	must2(b, s.PutMetricFilter(ctx, sc, MetricFilter{Group: "g", Name: "f", Pattern: `{ ($.eventName = ConsoleLogin) && ($.errorMessage = "Failed authentication") }`,
		Transformation: Transformation{MetricName: "M", MetricNamespace: "N", MetricValue: "1"}}))
	msg := `{"eventVersion":"1.08","eventName":"ConsoleLogin","pad":"` + strings.Repeat("x", 1400) + `"}`
	batch := make([]InputEvent, 500)
	b.SetBytes(int64(len(msg) * len(batch)))
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		ts := clk.now().Add(-time.Hour).UnixMilli()
		for k := range batch {
			batch[k] = InputEvent{Timestamp: ts, Message: msg}
		}
		if _, err := s.Put(ctx, sc, "g", "s", batch); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N*len(batch))/b.Elapsed().Seconds(), "events/s")
}

func must2(b *testing.B, err error) {
	if err != nil {
		b.Fatal(fmt.Sprint(err))
	}
}
