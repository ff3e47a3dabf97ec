package metrics

import (
	"bufio"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestEvaluationTable runs testdata/evaluation.txt: AWS's table of M-of-N evaluation with every
// TreatMissingData, as data.
func TestEvaluationTable(t *testing.T) {
	f, err := os.Open("testdata/evaluation.txt")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	now := time.Date(2026, 1, 1, 0, 10, 30, 0, time.UTC)
	sc := bufio.NewScanner(f)
	rows := 0
	for line := 1; sc.Scan(); line++ {
		fields := strings.Fields(sc.Text())
		if len(fields) == 0 || strings.HasPrefix(fields[0], "#") {
			continue
		}
		if len(fields) != 5 {
			t.Fatalf("line %d: want 5 columns, got %q", line, sc.Text())
		}
		mn := strings.Split(fields[0], "/")
		m, _ := strconv.Atoi(mn[0])
		n, _ := strconv.Atoi(mn[1])
		c := &AlarmConfig{Name: "a", Statistic: "Sum", Period: 60, EvaluationPeriods: n, DatapointsToAlarm: m,
			Threshold: 1, ComparisonOperator: "GreaterThanOrEqualToThreshold", TreatMissingData: fields[2]}
		pts := make([]period, len(fields[1]))
		for i, ch := range fields[1] {
			pts[i].Start = now.Truncate(time.Minute).Add(time.Duration(i-len(pts)+1) * time.Minute)
			switch ch {
			case '0':
				pts[i].Present, pts[i].Value, pts[i].SampleCount = true, 0, 1
			case 'X':
				pts[i].Present, pts[i].Value, pts[i].SampleCount = true, 5, 1
			}
		}
		o := evaluate(c, fields[3], pts, now)
		got := o.State
		if o.Retain {
			got = "retain"
		}
		if got != fields[4] {
			t.Errorf("line %d: %s %s %s from %s: got %s, want %s (%s)", line, fields[0], fields[1], fields[2], fields[3], got, fields[4], o.Reason)
		}
		rows++
	}
	if rows < 40 {
		t.Fatalf("only %d rows", rows)
	}
}

func TestReasonWording(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 10, 12, 345e6, time.UTC)
	c := &AlarmConfig{Name: "a", Statistic: "Sum", Period: 300, EvaluationPeriods: 1, Threshold: 2, ComparisonOperator: "GreaterThanOrEqualToThreshold"}
	start := time.Date(2026, 1, 1, 0, 6, 0, 0, time.UTC)
	pts := []period{{Start: start.Add(-600 * time.Second)}, {Start: start.Add(-300 * time.Second)}, {Start: start, Present: true, Value: 3, SampleCount: 3}}
	o := evaluate(c, StateOK, pts, now)
	want := "Threshold Crossed: 1 out of the last 1 datapoints [3.0 (01/01/26 00:06:00)] was greater than or equal to the threshold (2.0) (minimum 1 datapoint for OK -> ALARM transition)."
	if o.State != StateAlarm || o.Reason != want {
		t.Errorf("got %s %q\nwant %q", o.State, o.Reason, want)
	}
	wantData := `{"version":"1.0","queryDate":"2026-01-01T00:10:12.345+0000","startDate":"2026-01-01T00:06:00.000+0000","statistic":"Sum","period":300,"recentDatapoints":[3.0],"threshold":2.0,"evaluatedDatapoints":[{"timestamp":"2026-01-01T00:06:00.000+0000","sampleCount":3.0,"value":3.0}]}`
	if o.ReasonData != wantData {
		t.Errorf("reason data\n got %s\nwant %s", o.ReasonData, wantData)
	}
	pts[2].Value = 1
	o = evaluate(c, StateAlarm, pts, now)
	want = "Threshold Crossed: 1 out of the last 1 datapoints [1.0 (01/01/26 00:06:00)] was not greater than or equal to the threshold (2.0) (minimum 1 datapoint for ALARM -> OK transition)."
	if o.State != StateOK || o.Reason != want {
		t.Errorf("got %s %q\nwant %q", o.State, o.Reason, want)
	}
	c.TreatMissingData = "notBreaching"
	o = evaluate(c, StateAlarm, []period{{Start: start}, {Start: start}, {Start: start}}, now)
	want = "Threshold Crossed: no datapoints were received for 1 period and 1 missing datapoint was treated as [NonBreaching]."
	if o.State != StateOK || o.Reason != want {
		t.Errorf("got %s %q\nwant %q", o.State, o.Reason, want)
	}
	c.TreatMissingData = "missing"
	o = evaluate(c, StateOK, []period{{Start: start}, {Start: start}, {Start: start}}, now)
	if want := "Insufficient Data: 1 datapoint was unknown."; o.State != StateInsufficientData || o.Reason != want {
		t.Errorf("got %s %q, want %q", o.State, o.Reason, want)
	}
}

func TestJavaDouble(t *testing.T) {
	for v, want := range map[float64]string{2: "2.0", 72.68: "72.68", 1e7: "1.0E7", 0.0001: "1.0E-4", -3.5: "-3.5", 0: "0.0", 123456.5: "123456.5"} {
		if got := javaDouble(v).String(); got != want {
			t.Errorf("%v: got %s, want %s", v, got, want)
		}
	}
}

// Every ComparisonOperator, with the statistic as the left operand, and the reasons AWS words
// for them (reference/monitoring.md §3.3, from real notifications).
func TestComparisonOperators(t *testing.T) {
	for _, c := range []struct {
		op                   string
		below, equal, beyond bool // breaches at threshold-1, threshold, threshold+1
	}{
		{"GreaterThanOrEqualToThreshold", false, true, true},
		{"GreaterThanThreshold", false, false, true},
		{"LessThanThreshold", true, false, false},
		{"LessThanOrEqualToThreshold", true, true, false},
	} {
		a := &AlarmConfig{ComparisonOperator: c.op, Threshold: 10}
		if got := [3]bool{a.Breaches(9), a.Breaches(10), a.Breaches(11)}; got != [3]bool{c.below, c.equal, c.beyond} {
			t.Errorf("%s: breaches(9, 10, 11) = %v, want %v", c.op, got, [3]bool{c.below, c.equal, c.beyond})
		}
	}

	at := func(s string) time.Time { tm, _ := time.Parse("02/01/06 15:04:05", s); return tm }
	now := at("19/07/18 20:27:10")
	c := &AlarmConfig{Name: "a", Statistic: "Average", Period: 60, EvaluationPeriods: 1, Threshold: 100, ComparisonOperator: "LessThanOrEqualToThreshold"}
	o := evaluate(c, StateOK, []period{{Start: at("19/07/18 20:26:00"), Present: true, Value: 72.68, SampleCount: 1}}, now)
	want := "Threshold Crossed: 1 out of the last 1 datapoints [72.68 (19/07/18 20:26:00)] was less than or equal to the threshold (100.0) (minimum 1 datapoint for OK -> ALARM transition)."
	if o.State != StateAlarm || o.Reason != want {
		t.Errorf("LessThanOrEqualToThreshold: %s %q\nwant %q", o.State, o.Reason, want)
	}

	c = &AlarmConfig{Name: "a", Statistic: "Average", Period: 60, EvaluationPeriods: 2, Threshold: 40, ComparisonOperator: "GreaterThanThreshold"}
	pts := []period{{Start: at("19/07/18 20:25:00"), Present: true, Value: 12.5, SampleCount: 1}, {Start: at("19/07/18 20:26:00"), Present: true, Value: 40, SampleCount: 1}}
	o = evaluate(c, StateAlarm, pts, now)
	want = "Threshold Crossed: 2 out of the last 2 datapoints [40.0 (19/07/18 20:26:00), 12.5 (19/07/18 20:25:00)] were not greater than the threshold (40.0) (minimum 1 datapoint for ALARM -> OK transition)."
	if o.State != StateOK || o.Reason != want {
		t.Errorf("GreaterThanThreshold: %s %q\nwant %q", o.State, o.Reason, want)
	}

	// LessThanThreshold with M of N (2 of 3): one low point is not enough, two are.
	c = &AlarmConfig{Name: "a", Statistic: "Minimum", Period: 60, EvaluationPeriods: 3, DatapointsToAlarm: 2, Threshold: 5, ComparisonOperator: "LessThanThreshold"}
	pts = []period{{Start: at("19/07/18 20:24:00"), Present: true, Value: 7, SampleCount: 1}, {Start: at("19/07/18 20:25:00"), Present: true, Value: 4, SampleCount: 1},
		{Start: at("19/07/18 20:26:00"), Present: true, Value: 5, SampleCount: 1}}
	if o = evaluate(c, StateOK, pts, now); o.State != StateOK {
		t.Errorf("LessThanThreshold, one of three below: %s %q", o.State, o.Reason)
	}
	pts[2].Value = 1
	o = evaluate(c, StateOK, pts, now)
	want = "Threshold Crossed: 2 out of the last 3 datapoints [1.0 (19/07/18 20:26:00), 4.0 (19/07/18 20:25:00)] were less than the threshold (5.0) (minimum 2 datapoints for OK -> ALARM transition)."
	if o.State != StateAlarm || o.Reason != want {
		t.Errorf("LessThanThreshold 2 of 3: %s %q\nwant %q", o.State, o.Reason, want)
	}
}
