package metrics

import (
	"context"
	"encoding/json"
	"math"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cairn-dev/cairn/internal/meta"
)

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time      { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Add(d time.Duration) { c.mu.Lock(); c.t = c.t.Add(d); c.mu.Unlock() }
func newClock(t time.Time) *clock    { return &clock{t: t} }

type published struct{ topic, subject, message string }

type fakePublisher struct {
	mu  sync.Mutex
	got []published
}

func (f *fakePublisher) Publish(ctx context.Context, topic, subject, message string) (string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.got = append(f.got, published{topic, subject, message})
	return "m-1", nil
}

func (f *fakePublisher) all() []published {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]published(nil), f.got...)
}

func openStore(t testing.TB, dir string, opt Options) *Store {
	t.Helper()
	db, err := meta.Open(context.Background(), filepath.Join(dir, "meta.sqlite"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	s, err := Open(context.Background(), db, opt)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestStatisticsAndPercentiles(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	t0 := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	clk := newClock(t0.Add(time.Hour))
	s := openStore(t, dir, Options{Now: clk.Now})
	var data []Datum
	for i := 1; i <= 1000; i++ {
		data = append(data, Datum{Account: "111111111111", Region: "us-east-1", Namespace: "App", Name: "Latency",
			Dimensions: []Dimension{{"Host", "a"}, {"Az", "1"}}, Time: t0.Add(time.Duration(i%10) * time.Minute), Value: float64(i), Unit: "Milliseconds"})
	}
	if err := s.Put(ctx, data[:500]); err != nil {
		t.Fatal(err)
	}
	if err := s.Put(ctx, data[500:]); err != nil {
		t.Fatal(err)
	}
	// Dimension order does not identify the metric.
	q := Query{Metric: Metric{"111111111111", "us-east-1", "App", "Latency", []Dimension{{"Az", "1"}, {"Host", "a"}}}, Start: t0, End: t0.Add(10 * time.Minute), Period: 5 * time.Minute}
	check := func(s *Store) {
		dps, err := s.Statistics(ctx, q)
		if err != nil {
			t.Fatal(err)
		}
		if len(dps) != 2 {
			t.Fatalf("got %d datapoints, want 2", len(dps))
		}
		var sum, count float64
		for _, d := range dps {
			sum += d.Sum
			count += d.SampleCount
			if d.Unit != "Milliseconds" {
				t.Errorf("unit %q", d.Unit)
			}
		}
		if sum != 500500 || count != 1000 {
			t.Errorf("sum %v count %v", sum, count)
		}
		q1 := q
		q1.Period = 10 * time.Minute
		all, _ := s.Statistics(ctx, q1)
		if len(all) != 1 || all[0].Minimum != 1 || all[0].Maximum != 1000 || all[0].Average() != 500.5 {
			t.Fatalf("one period: %+v", all)
		}
		for _, p := range []float64{50, 90, 99, 99.9} {
			got, want := all[0].Percentile(p), p*10
			if math.Abs(got-want)/want > 0.02 {
				t.Errorf("p%v = %v, want %v ± 2%%", p, got, want)
			}
		}
	}
	check(s)
	// Datapoints survive a restart.
	check(openStore(t, dir, Options{Now: clk.Now}))

	list, next, err := s.ListMetrics(ctx, ListQuery{Account: "111111111111", Region: "us-east-1", Dimensions: []DimensionFilter{{Name: "Host"}}})
	if err != nil || next != 0 || len(list) != 1 || list[0].Name != "Latency" {
		t.Fatalf("ListMetrics: %v %v %v", list, next, err)
	}
	if list, _, _ := s.ListMetrics(ctx, ListQuery{Account: "222222222222", Region: "us-east-1"}); len(list) != 0 {
		t.Errorf("other account sees %v", list)
	}
	// Retention drops old minutes.
	clk.Add(16 * 24 * time.Hour)
	if err := s.Sweep(ctx); err != nil {
		t.Fatal(err)
	}
	if dps, _ := s.Statistics(ctx, q); len(dps) != 0 {
		t.Errorf("after retention: %v", dps)
	}
}

func TestSketchRoundTrip(t *testing.T) {
	sk := newSketch()
	for _, v := range []float64{-5, 0, 1e-12, 3, 3, 1e9} {
		sk.add(v, 1)
	}
	b := sk.marshal()
	got, err := unmarshalSketch(b)
	if err != nil || got.total() != 6 || got.quantile(0) > -4.9 || got.quantile(1) < 0.98e9 {
		t.Fatalf("%v %v", got, err)
	}
	for i := range b {
		unmarshalSketch(b[:i]) // must not panic
	}
}

func FuzzUnmarshalSketch(f *testing.F) {
	sk := newSketch()
	sk.add(3, 2)
	sk.add(-1, 1)
	f.Add(sk.marshal())
	f.Fuzz(func(t *testing.T, b []byte) {
		if s, err := unmarshalSketch(b); err == nil {
			s.quantile(0.5)
		}
	})
}

// The scenario's alarm: Sum over 300 s ≥ 2, one datapoint → no alarm, two → ALARM at once,
// with CloudWatch's notification; quiet periods are OK (notBreaching); the alarm survives a restart.
func TestAlarmLifecycle(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	clk := newClock(time.Date(2026, 3, 1, 12, 0, 10, 0, time.UTC))
	pub := &fakePublisher{}
	s := openStore(t, dir, Options{Now: clk.Now, Publisher: pub})
	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	go s.actions.run(runCtx)

	desc := "Raises alarms if more than 2 console sign-in failures occur in 5 minutes"
	topic := "arn:aws:sns:us-east-1:111111111111:sec-alerts"
	cfg := AlarmConfig{Name: "Console sign-in failures", Description: &desc, ActionsEnabled: true, AlarmActions: []string{topic}, OKActions: []string{topic},
		Namespace: "CloudTrailMetrics", MetricName: "ConsoleSigninFailureCount", Statistic: "Sum", Period: 300, EvaluationPeriods: 1,
		Threshold: 2, ComparisonOperator: "GreaterThanOrEqualToThreshold", TreatMissingData: "notBreaching"}
	if err := s.PutAlarm(ctx, "111111111111", "us-east-1", cfg); err != nil {
		t.Fatal(err)
	}
	a, _ := s.Alarm("111111111111", "us-east-1", cfg.Name)
	if a.State != StateOK { // no data, notBreaching: settles OK at once, firing OKActions
		t.Fatalf("state %s %s", a.State, a.StateReason)
	}
	fail := Datum{Account: "111111111111", Region: "us-east-1", Namespace: "CloudTrailMetrics", Name: "ConsoleSigninFailureCount", Time: clk.Now(), Value: 1}
	if err := s.Put(ctx, []Datum{fail}); err != nil {
		t.Fatal(err)
	}
	if a, _ = s.Alarm("111111111111", "us-east-1", cfg.Name); a.State != StateOK {
		t.Fatalf("one failure: %s", a.State)
	}
	clk.Add(90 * time.Second)
	fail.Time = clk.Now()
	if err := s.Put(ctx, []Datum{fail}); err != nil {
		t.Fatal(err)
	}
	if a, _ = s.Alarm("111111111111", "us-east-1", cfg.Name); a.State != StateAlarm {
		t.Fatalf("two failures: %s %s", a.State, a.StateReason)
	}
	s.Idle()
	got := pub.all()
	if len(got) != 2 || got[1].subject != `ALARM: "Console sign-in failures" in US East (N. Virginia)` || got[1].topic != topic {
		t.Fatalf("published %+v", got)
	}
	var msg map[string]any
	if err := json.Unmarshal([]byte(got[1].message), &msg); err != nil {
		t.Fatal(err)
	}
	trig := msg["Trigger"].(map[string]any)
	if msg["NewStateValue"] != "ALARM" || msg["OldStateValue"] != "OK" || msg["AlarmDescription"] != desc || msg["AWSAccountId"] != "111111111111" ||
		msg["AlarmArn"] != "arn:aws:cloudwatch:us-east-1:111111111111:alarm:Console sign-in failures" || trig["Statistic"] != "SUM" || trig["Unit"] != nil ||
		trig["TreatMissingData"] != "notBreaching" || trig["Period"] != 300.0 {
		t.Errorf("message %s", got[1].message)
	}
	wantPrefix := `{"AlarmName":"Console sign-in failures","AlarmDescription":"Raises alarms if more than 2 console sign-in failures occur in 5 minutes","AWSAccountId":"111111111111","AlarmConfigurationUpdatedTimestamp":"2026-03-01T12:00:10.000+0000","NewStateValue":"ALARM","NewStateReason":"Threshold Crossed: 1 out of the last 1 datapoints [2.0 (01/03/26 11:57:00)] was greater than or equal to the threshold (2.0) (minimum 1 datapoint for OK -> ALARM transition).","StateChangeTime":"2026-03-01T12:01:40.000+0000","Region":"US East (N. Virginia)"`
	if got[1].message[:len(wantPrefix)] != wantPrefix {
		t.Errorf("message\n got %s\nwant %s…", got[1].message, wantPrefix)
	}

	// History: newest first; the transition, the action, the creation.
	items, _, err := s.History(ctx, HistoryQuery{Account: "111111111111", Region: "us-east-1", AlarmName: cfg.Name})
	if err != nil {
		t.Fatal(err)
	}
	var summaries []string
	for _, h := range items {
		summaries = append(summaries, h.Type+": "+h.Summary)
	}
	want := []string{"Action: Successfully executed action " + topic, "StateUpdate: Alarm updated from OK to ALARM",
		"Action: Successfully executed action " + topic, "StateUpdate: Alarm updated from INSUFFICIENT_DATA to OK",
		`ConfigurationUpdate: Alarm "Console sign-in failures" created`}
	if len(summaries) != len(want) {
		t.Fatalf("history %q", summaries)
	}
	for i := range want {
		if summaries[i] != want[i] {
			t.Errorf("history[%d] = %q, want %q", i, summaries[i], want[i])
		}
	}

	// The evaluation range looks back 3 periods for real datapoints (AWS: the most recent real
	// points decide, TreatMissingData unused); once they leave it, the tick brings the alarm back
	// to OK. Disabled actions publish nothing.
	if err := s.SetActionsEnabled(ctx, "111111111111", "us-east-1", []string{cfg.Name}, false); err != nil {
		t.Fatal(err)
	}
	clk.Add(16 * time.Minute)
	if err := s.EvaluateAll(ctx); err != nil {
		t.Fatal(err)
	}
	s.Idle()
	if a, _ = s.Alarm("111111111111", "us-east-1", cfg.Name); a.State != StateOK || len(pub.all()) != 2 {
		t.Fatalf("after quiet period: %s, %d published", a.State, len(pub.all()))
	}
	// SetAlarmState: set, then the next evaluation restores the computed state.
	if err := s.SetAlarmState(ctx, "111111111111", "us-east-1", cfg.Name, StateAlarm, "testing", `{"a":1}`); err != nil {
		t.Fatal(err)
	}
	if a, _ = s.Alarm("111111111111", "us-east-1", cfg.Name); a.State != StateAlarm || a.StateReason != "testing" {
		t.Fatalf("SetAlarmState: %s", a.State)
	}
	if err := s.SetAlarmState(ctx, "111111111111", "us-east-1", "nope", StateAlarm, "x", ""); !isKind(err, ErrNotFound) {
		t.Errorf("unknown alarm: %v", err)
	}
	if err := s.SetAlarmState(ctx, "111111111111", "us-east-1", cfg.Name, StateAlarm, "x", "{"); !isKind(err, ErrInvalidFormat) {
		t.Errorf("bad JSON: %v", err)
	}
	s2 := openStore(t, dir, Options{Now: clk.Now})
	if a, ok := s2.Alarm("111111111111", "us-east-1", cfg.Name); !ok || a.State != StateAlarm || a.ActionsEnabled {
		t.Fatalf("after restart: %+v", a)
	}
	s2.EvaluateAll(ctx)
	if a, _ := s2.Alarm("111111111111", "us-east-1", cfg.Name); a.State != StateOK {
		t.Fatalf("evaluation after SetAlarmState: %s", a.State)
	}
	if err := s2.DeleteAlarms(ctx, "111111111111", "us-east-1", []string{cfg.Name, "nope"}); !isKind(err, ErrNotFound) {
		t.Errorf("delete with unknown: %v", err)
	}
	if err := s2.DeleteAlarms(ctx, "111111111111", "us-east-1", []string{cfg.Name}); err != nil {
		t.Fatal(err)
	}
	if l, _ := s2.Alarms(AlarmQuery{Account: "111111111111", Region: "us-east-1"}); len(l) != 0 {
		t.Errorf("after delete: %v", l)
	}
}

func isKind(err, kind error) bool {
	e, ok := err.(*Error)
	return ok && e.Kind == kind
}

func TestAlarmValidation(t *testing.T) {
	good := AlarmConfig{Name: "a", Namespace: "N", MetricName: "M", Statistic: "Sum", Period: 60, EvaluationPeriods: 1, ComparisonOperator: "GreaterThanThreshold"}
	if err := good.Validate(); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		mod  func(*AlarmConfig)
		kind error
	}{
		{func(c *AlarmConfig) { c.Name = "" }, ErrMissingParameter},
		{func(c *AlarmConfig) { c.Statistic = "Median" }, ErrInvalidParameter},
		{func(c *AlarmConfig) { c.ExtendedStatistic = "p90" }, ErrInvalidCombination},
		{func(c *AlarmConfig) { c.Statistic, c.ExtendedStatistic = "", "tm90" }, ErrInvalidParameter},
		{func(c *AlarmConfig) { c.Period = 90 }, ErrInvalidParameter},
		{func(c *AlarmConfig) { c.DatapointsToAlarm = 2 }, ErrInvalidParameter},
		{func(c *AlarmConfig) { c.ComparisonOperator = "LessThanLowerThreshold" }, ErrInvalidParameter},
		{func(c *AlarmConfig) { c.TreatMissingData = "zero" }, ErrInvalidParameter},
		{func(c *AlarmConfig) { c.Period, c.EvaluationPeriods = 3000, 30 }, ErrInvalidParameter},
		{func(c *AlarmConfig) { c.AlarmActions = []string{"topic"} }, ErrInvalidParameter},
		{func(c *AlarmConfig) { c.Unit = "Furlongs" }, ErrInvalidParameter},
	} {
		c := good
		tc.mod(&c)
		if err := c.Validate(); !isKind(err, tc.kind) {
			t.Errorf("%+v: got %v, want %v", c, err, tc.kind)
		}
	}
}

// An alarm on a percentile (ExtendedStatistic pNN) evaluates the minute's sketch as each
// datapoint arrives, publishes a Trigger naming the ExtendedStatistic, and with
// EvaluateLowSampleCountPercentile=ignore keeps its state while samples are too few.
func TestPercentileAlarm(t *testing.T) {
	ctx := context.Background()
	clk := newClock(time.Date(2026, 3, 1, 12, 0, 10, 0, time.UTC))
	pub := &fakePublisher{}
	s := openStore(t, t.TempDir(), Options{Now: clk.Now, Publisher: pub})
	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	go s.actions.run(runCtx)
	const acct, region, topic = "111111111111", "us-east-1", "arn:aws:sns:us-east-1:111111111111:latency"
	cfg := AlarmConfig{Name: "p90 latency", ActionsEnabled: true, AlarmActions: []string{topic}, Namespace: "App", MetricName: "Latency",
		ExtendedStatistic: "p90", Period: 60, EvaluationPeriods: 1, Threshold: 500, ComparisonOperator: "GreaterThanThreshold", Unit: "Milliseconds"}
	low := cfg
	low.Name, low.MetricName, low.EvaluateLowSampleCountPercentile = "p90 latency, enough samples", "Latency2", "ignore"
	for _, c := range []AlarmConfig{cfg, low} {
		if err := s.PutAlarm(ctx, acct, region, c); err != nil {
			t.Fatal(err)
		}
	}
	put := func(metric string, values ...float64) {
		t.Helper()
		var data []Datum
		for _, v := range values {
			data = append(data, Datum{Account: acct, Region: region, Namespace: "App", Name: metric, Unit: "Milliseconds", Time: clk.Now(), Value: v})
		}
		if err := s.Put(ctx, data); err != nil {
			t.Fatal(err)
		}
	}
	state := func(name string) string { a, _ := s.Alarm(acct, region, name); return a.State }

	// 85 fast requests and 15 slow ones: the average is low, the 90th percentile is not.
	var values []float64
	for i := 0; i < 100; i++ {
		values = append(values, map[bool]float64{true: 2000, false: 100}[i >= 85])
	}
	put("Latency", values[:50]...)
	if st := state(cfg.Name); st != StateOK {
		t.Fatalf("p90 of 50 fast requests: %s", st)
	}
	put("Latency", values[50:]...)
	a, _ := s.Alarm(acct, region, cfg.Name)
	if a.State != StateAlarm || !strings.Contains(a.StateReason, "was greater than the threshold (500.0)") {
		t.Fatalf("p90 with 15%% slow requests: %s %q", a.State, a.StateReason)
	}
	var reason map[string]any
	if err := json.Unmarshal([]byte(a.StateReasonData), &reason); err != nil || reason["extendedStatistic"] != "p90" || reason["unit"] != "Milliseconds" {
		t.Errorf("reason data %s: %v", a.StateReasonData, err)
	}
	s.Idle()
	got := pub.all()
	if len(got) != 1 || got[0].topic != topic {
		t.Fatalf("published %+v", got)
	}
	var msg struct{ Trigger map[string]any }
	if err := json.Unmarshal([]byte(got[0].message), &msg); err != nil {
		t.Fatal(err)
	}
	if tr := msg.Trigger; tr["StatisticType"] != "ExtendedStatistic" || tr["ExtendedStatistic"] != "p90" || tr["Unit"] != "Milliseconds" {
		t.Errorf("Trigger %v", tr)
	}
	if _, ok := msg.Trigger["Statistic"]; ok {
		t.Errorf("Trigger of a percentile alarm has Statistic: %v", msg.Trigger)
	}

	// ignore: p90 needs 10/(1-0.9) = 100 samples; with fewer the state stays INSUFFICIENT_DATA.
	put("Latency2", 2000, 2000, 2000)
	if st := state(low.Name); st != StateInsufficientData {
		t.Errorf("3 samples with EvaluateLowSampleCountPercentile=ignore: %s", st)
	}
	put("Latency2", values[:97]...)
	if st := state(low.Name); st != StateAlarm {
		t.Errorf("100 samples with EvaluateLowSampleCountPercentile=ignore: %s", st)
	}
	// The same threshold for other percentiles: 10/(1-p) from p50, 10/p below.
	for p, need := range map[string]float64{"p99.9": 10000, "p99": 1000, "p50": 20, "p10": 100, "p25": 40} {
		c := &AlarmConfig{ExtendedStatistic: p, EvaluateLowSampleCountPercentile: "ignore", EvaluationPeriods: 1, ComparisonOperator: "GreaterThanThreshold"}
		for _, n := range []float64{need - 1, need} {
			o := evaluate(c, StateOK, []period{{Present: true, Value: 1, SampleCount: n}}, clk.Now())
			if o.Retain != (n < need) {
				t.Errorf("%s with %v samples: retain %v, want %v", p, n, o.Retain, n < need)
			}
		}
	}
}

// Each state's actions run when the alarm enters it: OKActions on data that does not breach,
// InsufficientDataActions when the data stops (TreatMissingData missing).
func TestInsufficientDataActions(t *testing.T) {
	ctx := context.Background()
	clk := newClock(time.Date(2026, 3, 1, 12, 0, 10, 0, time.UTC))
	pub := &fakePublisher{}
	s := openStore(t, t.TempDir(), Options{Now: clk.Now, Publisher: pub})
	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	go s.actions.run(runCtx)
	const acct, region = "111111111111", "us-east-1"
	okTopic, noDataTopic := "arn:aws:sns:us-east-1:111111111111:ok", "arn:aws:sns:us-east-1:111111111111:no-data"
	cfg := AlarmConfig{Name: "heartbeat", ActionsEnabled: true, OKActions: []string{okTopic}, InsufficientDataActions: []string{noDataTopic},
		Namespace: "App", MetricName: "Heartbeat", Statistic: "SampleCount", Period: 60, EvaluationPeriods: 1, Threshold: 1,
		ComparisonOperator: "LessThanThreshold"}
	if err := s.PutAlarm(ctx, acct, region, cfg); err != nil {
		t.Fatal(err)
	}
	if err := s.Put(ctx, []Datum{{Account: acct, Region: region, Namespace: "App", Name: "Heartbeat", Time: clk.Now(), Value: 1}}); err != nil {
		t.Fatal(err)
	}
	clk.Add(10 * time.Minute)
	if err := s.EvaluateAll(ctx); err != nil {
		t.Fatal(err)
	}
	s.Idle()
	a, _ := s.Alarm(acct, region, cfg.Name)
	got := pub.all()
	if a.State != StateInsufficientData || len(got) != 2 || got[0].topic != okTopic || got[1].topic != noDataTopic ||
		got[1].subject != `INSUFFICIENT_DATA: "heartbeat" in US East (N. Virginia)` {
		t.Fatalf("state %s (%s); published %+v", a.State, a.StateReason, got)
	}
	if !strings.Contains(got[1].message, `"NewStateValue":"INSUFFICIENT_DATA"`) || !strings.Contains(got[1].message, `"OldStateValue":"OK"`) {
		t.Errorf("message %s", got[1].message)
	}
}
