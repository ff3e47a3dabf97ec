package metrics

import (
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// This file: the evaluation rules of CloudWatch metric alarms, as a pure function of the
// alarm, its current state and the datapoints of its evaluation range (reference/monitoring.md
// §3.2). The table in testdata/evaluation.txt is AWS's documented table, row for row.

// period is one datapoint of the evaluation range: the alarm's statistic over one Period.
type period struct {
	Start       time.Time
	Present     bool
	Value       float64
	SampleCount float64
}

// outcome is what one evaluation decided. Retain means the state stays as it is.
type outcome struct {
	State      string
	Reason     string
	ReasonData string
	Retain     bool
}

// rangeLength is how many periods an evaluation looks at: more than N, so that missing
// datapoints can be looked past (AWS's example uses 5 for N = 3; AWS does not document the
// general rule, this is LocalStack's N + max(N/3, 2)).
func rangeLength(n int) int { return n + max(n/3, 2) }

// evaluate decides the alarm's state from pts, the evaluation range oldest first.
//
// With at least N real datapoints in the range, the most recent N decide: ALARM when at least M
// breach. With fewer, TreatMissingData decides how the gap is filled:
//   - notBreaching / breaching: the real points plus as many good / bad points as needed.
//   - missing: no real point → INSUFFICIENT_DATA. Otherwise ALARM when at least M real points
//     breach, or prematurely when every real point in the range breaches and the oldest breaching
//     point within the last N periods is at least M periods old (AWS's "- - X - -" row);
//     otherwise OK.
//   - ignore: no real point → state kept. At least M breaching → ALARM; when every real point
//     breaches but fewer than M, the state is kept (the doc table's "retain" rows); otherwise OK.
//
// The rules for fewer than N points reconcile AWS's prose with its table, which is authoritative
// where they differ (the prose's premature-alarm rule would alarm on "0 - X - -", the table says OK).
func evaluate(c *AlarmConfig, state string, pts []period, now time.Time) outcome {
	n, m := c.EvaluationPeriods, c.M()
	var real []int
	for i, p := range pts {
		if p.Present {
			real = append(real, i)
		}
	}
	if p, ok := ParsePercentile(c.ExtendedStatistic); ok && c.EvaluateLowSampleCountPercentile == "ignore" {
		// 10/(1-p) and 10/p, rounded so that floating-point noise does not ask for one more
		// sample (1-0.9 would make p90 need 100.00000000000003).
		need := 1000 / (100 - p)
		if p < 50 {
			need = 1000 / p
		}
		need = math.Round(need*1e6) / 1e6
		for _, i := range real {
			if pts[i].SampleCount < need {
				return outcome{Retain: true}
			}
		}
	}
	if len(real) >= n {
		ev := real[len(real)-n:]
		return thresholdOutcome(c, state, pts, ev, 0, false, now)
	}
	breaching := 0
	for _, i := range real {
		if c.Breaches(pts[i].Value) {
			breaching++
		}
	}
	fill := n - len(real)
	switch c.Treatment() {
	case "notBreaching", "breaching":
		bad := c.Treatment() == "breaching"
		if len(real) == 0 {
			st := StateOK
			word := "NonBreaching"
			if bad && fill >= m {
				st, word = StateAlarm, "Breaching"
			} else if bad {
				word = "Breaching"
			}
			return outcome{State: st, Reason: fmt.Sprintf("Threshold Crossed: no datapoints were received for %s and %s treated as [%s].",
				plural(fill, "period", "periods"), plural(fill, "missing datapoint was", "missing datapoints were"), word),
				ReasonData: reasonData(c, pts, lastN(pts, n), now)}
		}
		return thresholdOutcome(c, state, pts, real, fill, bad, now)
	case "ignore":
		if len(real) == 0 {
			return outcome{Retain: true}
		}
		if breaching >= m {
			return thresholdOutcome(c, state, pts, real, 0, false, now)
		}
		if breaching == len(real) {
			return outcome{Retain: true}
		}
		return thresholdOutcome(c, state, pts, real, 0, false, now)
	default: // missing
		if len(real) == 0 {
			return outcome{State: StateInsufficientData, Reason: fmt.Sprintf("Insufficient Data: %s unknown.", plural(n, "datapoint was", "datapoints were")),
				ReasonData: reasonData(c, pts, lastN(pts, n), now)}
		}
		if breaching < m && breaching == len(real) {
			// Premature alarm: the oldest breaching point within the last N is ≥ M periods old.
			for i := max(len(pts)-n, 0); i < len(pts); i++ {
				if pts[i].Present {
					if len(pts)-i >= m {
						return thresholdOutcome(c, state, pts, real, 0, false, now).forceAlarm(c, state, pts, real)
					}
					break
				}
			}
		}
		return thresholdOutcome(c, state, pts, real, 0, false, now)
	}
}

// forceAlarm turns an outcome computed on too few points into the premature ALARM.
func (o outcome) forceAlarm(c *AlarmConfig, state string, pts []period, ev []int) outcome {
	o.State = StateAlarm
	o.Reason = thresholdReason(c, state, pts, ev, len(ev), true)
	return o
}

// thresholdOutcome decides on the evaluated points ev plus fill filled points (bad or good).
func thresholdOutcome(c *AlarmConfig, state string, pts []period, ev []int, fill int, bad bool, now time.Time) outcome {
	breaching := 0
	for _, i := range ev {
		if c.Breaches(pts[i].Value) {
			breaching++
		}
	}
	if bad {
		breaching += fill
	}
	total := len(ev) + fill
	alarm := breaching >= c.M()
	o := outcome{State: StateOK, ReasonData: reasonData(c, pts, ev, now)}
	if alarm {
		o.State = StateAlarm
		o.Reason = thresholdReason(c, state, pts, ev, total, true)
	} else {
		o.Reason = thresholdReason(c, state, pts, ev, total, false)
	}
	return o
}

// thresholdReason words a threshold decision as CloudWatch does:
// "Threshold Crossed: 1 out of the last 1 datapoints [3.0 (01/01/26 00:05:00)] was greater than or
// equal to the threshold (2.0) (minimum 1 datapoint for OK -> ALARM transition)."
func thresholdReason(c *AlarmConfig, state string, pts []period, ev []int, total int, alarm bool) string {
	var shown []string
	for k := len(ev) - 1; k >= 0; k-- { // newest first
		p := pts[ev[k]]
		if c.Breaches(p.Value) == alarm {
			shown = append(shown, javaDouble(p.Value).String()+" ("+p.Start.UTC().Format("02/01/06 15:04:05")+")")
		}
	}
	op := comparisons[c.ComparisonOperator]
	verb := "was"
	if len(shown) != 1 {
		verb = "were"
	}
	to, minimum := StateAlarm, c.M()
	if !alarm {
		to, minimum, op = StateOK, c.EvaluationPeriods-c.M()+1, "not "+op
	}
	if state == "" {
		state = StateInsufficientData
	}
	return fmt.Sprintf("Threshold Crossed: %d out of the last %d datapoints [%s] %s %s the threshold (%s) (minimum %s for %s -> %s transition).",
		len(shown), total, strings.Join(shown, ", "), verb, op, javaDouble(c.Threshold), plural(minimum, "datapoint", "datapoints"), state, to)
}

func lastN(pts []period, n int) []int {
	var out []int
	for i := max(len(pts)-n, 0); i < len(pts); i++ {
		out = append(out, i)
	}
	return out
}

func plural(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return strconv.Itoa(n) + " " + many
}

// reasonData is StateReasonData as CloudWatch writes it.
func reasonData(c *AlarmConfig, pts []period, ev []int, now time.Time) string {
	type evaluated struct {
		Timestamp   string      `json:"timestamp"`
		SampleCount *javaDouble `json:"sampleCount,omitempty"`
		Value       *javaDouble `json:"value,omitempty"`
	}
	d := struct {
		Version             string       `json:"version"`
		QueryDate           string       `json:"queryDate"`
		StartDate           string       `json:"startDate,omitempty"`
		Unit                string       `json:"unit,omitempty"`
		Statistic           string       `json:"statistic,omitempty"`
		ExtendedStatistic   string       `json:"extendedStatistic,omitempty"`
		Period              int          `json:"period"`
		RecentDatapoints    []javaDouble `json:"recentDatapoints"`
		Threshold           javaDouble   `json:"threshold"`
		EvaluatedDatapoints []evaluated  `json:"evaluatedDatapoints,omitempty"`
	}{Version: "1.0", QueryDate: formatTime(now), Unit: c.Unit, Statistic: c.Statistic, ExtendedStatistic: c.ExtendedStatistic,
		Period: c.Period, RecentDatapoints: []javaDouble{}, Threshold: javaDouble(c.Threshold)}
	if len(ev) > 0 {
		d.StartDate = formatTime(pts[ev[0]].Start)
	}
	for _, i := range ev {
		if pts[i].Present {
			d.RecentDatapoints = append(d.RecentDatapoints, javaDouble(pts[i].Value))
		}
	}
	for k := len(ev) - 1; k >= 0; k-- {
		p := pts[ev[k]]
		e := evaluated{Timestamp: formatTime(p.Start)}
		if p.Present {
			sc, v := javaDouble(p.SampleCount), javaDouble(p.Value)
			e.SampleCount, e.Value = &sc, &v
		}
		d.EvaluatedDatapoints = append(d.EvaluatedDatapoints, e)
	}
	return marshal(d)
}

// formatTime is CloudWatch's timestamp in messages: 2026-01-01T00:10:12.345+0000.
func formatTime(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000-0700") }

// javaDouble renders a float64 as Java's Double.toString does, which is how CloudWatch writes
// numbers in reasons and messages: 2.0, 72.68, 1.0E7.
type javaDouble float64

func (d javaDouble) String() string {
	f := float64(d)
	switch {
	case math.IsNaN(f):
		return "NaN"
	case math.IsInf(f, 1):
		return "Infinity"
	case math.IsInf(f, -1):
		return "-Infinity"
	case f == 0:
		if math.Signbit(f) {
			return "-0.0"
		}
		return "0.0"
	}
	if a := math.Abs(f); a >= 1e-3 && a < 1e7 {
		s := strconv.FormatFloat(f, 'f', -1, 64)
		if !strings.Contains(s, ".") {
			s += ".0"
		}
		return s
	}
	s := strconv.FormatFloat(f, 'E', -1, 64) // 1E+07 → 1.0E7
	mant, exp, _ := strings.Cut(s, "E")
	if !strings.Contains(mant, ".") {
		mant += ".0"
	}
	e, _ := strconv.Atoi(exp)
	return mant + "E" + strconv.Itoa(e)
}

func (d javaDouble) MarshalJSON() ([]byte, error) {
	if math.IsNaN(float64(d)) || math.IsInf(float64(d), 0) {
		return []byte("null"), nil
	}
	return []byte(d.String()), nil
}

// marshal renders JSON as CloudWatch does: "->" stays "->", not "\u003e".
func marshal(v any) string {
	var b strings.Builder
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	enc.Encode(v)
	return strings.TrimSuffix(b.String(), "\n")
}
