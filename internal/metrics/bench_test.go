package metrics

import (
	"context"
	"strconv"
	"testing"
	"time"
)

// BenchmarkPut stores batches of 100 datapoints spread over 100 metrics, each watched by an alarm
// that Put evaluates: the cost of PutMetricData inside the server.
func BenchmarkPut(b *testing.B) {
	ctx := context.Background()
	s := openStore(b, b.TempDir(), Options{})
	for i := 0; i < 100; i++ {
		if err := s.PutAlarm(ctx, "1", "us-east-1", AlarmConfig{Name: "a" + strconv.Itoa(i), Namespace: "N", MetricName: "M",
			Dimensions: []Dimension{{"Probe", strconv.Itoa(i)}}, Statistic: "Sum", Period: 300, EvaluationPeriods: 1,
			Threshold: 2, ComparisonOperator: "GreaterThanOrEqualToThreshold"}); err != nil {
			b.Fatal(err)
		}
	}
	batch := make([]Datum, 100)
	b.ResetTimer()
	for n := 0; n < b.N; n++ {
		for j := range batch {
			batch[j] = Datum{Account: "1", Region: "us-east-1", Namespace: "N", Name: "M", Dimensions: []Dimension{{"Probe", strconv.Itoa(j)}}, Time: time.Now(), Value: 1}
		}
		if err := s.Put(ctx, batch); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N*len(batch))/b.Elapsed().Seconds(), "datapoints/s")
}

// BenchmarkPutToAlarm is one datapoint arriving → the alarm on its metric in ALARM.
func BenchmarkPutToAlarm(b *testing.B) {
	ctx := context.Background()
	s := openStore(b, b.TempDir(), Options{})
	b.ResetTimer()
	for n := 0; n < b.N; n++ {
		b.StopTimer()
		name := "a" + strconv.Itoa(n)
		dims := []Dimension{{"Probe", name}}
		if err := s.PutAlarm(ctx, "1", "us-east-1", AlarmConfig{Name: name, Namespace: "N", MetricName: "M", Dimensions: dims, Statistic: "Sum",
			Period: 60, EvaluationPeriods: 1, Threshold: 1, ComparisonOperator: "GreaterThanOrEqualToThreshold"}); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		if err := s.Put(ctx, []Datum{{Account: "1", Region: "us-east-1", Namespace: "N", Name: "M", Dimensions: dims, Time: time.Now(), Value: 1}}); err != nil {
			b.Fatal(err)
		}
		if a, _ := s.Alarm("1", "us-east-1", name); a.State != StateAlarm {
			b.Fatalf("state %s", a.State)
		}
	}
}
