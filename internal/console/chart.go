package console

import (
	"fmt"
	"math"
	"strconv"
	"time"

	"github.com/cairn-dev/cairn/internal/history"
)

// Charts are inline SVG computed here and drawn by templates/chart.html: no scripts, nothing
// fetched, readable by screen readers through their titles, every bar a link to the events.

type timelineChart struct {
	W, H, Left, Base int
	Top, Bottom      string // the axis labels: highest and lowest value
	Label            string
	Bad              bool
	Bars             []vbar
	Ticks            []tick
	Threshold        *hline // nil: none
}

type vbar struct {
	X, Y, W, H  float64
	Href, Title string
	Bad         bool // breaches the threshold
}

type tick struct {
	X     float64
	Label string
}

// hline is a horizontal line across the chart: an alarm's threshold.
type hline struct {
	Y     float64
	Label string
}

// column is one period of a timeline: its value, if it has one.
type column struct {
	Start   time.Time
	Value   float64
	Present bool
	Title   string
	Href    string
	Bad     bool
}

// newTimeline draws buckets as columns; href links a bucket to its events.
func newTimeline(label string, buckets []history.Bucket, step time.Duration, href func(from, to time.Time) string) timelineChart {
	cols := make([]column, len(buckets))
	for i, b := range buckets {
		end := b.Start.Add(step)
		cols[i] = column{Start: b.Start, Value: float64(b.N), Present: true, Href: href(b.Start, end.Add(-time.Second)),
			Title: fmt.Sprintf("%s – %s UTC: %d", b.Start.UTC().Format("Jan 2 15:04"), end.UTC().Format("15:04"), b.N)}
	}
	return columns(label, cols, step, nil)
}

// columns lays out a timeline. The value axis runs from the lowest to the highest of zero, the
// values and the threshold (if any), so the threshold line is always inside the chart.
func columns(label string, cols []column, step time.Duration, threshold *float64) timelineChart {
	c := timelineChart{W: 1200, H: 196, Left: 40, Base: 172, Label: label}
	lo, hi := 0.0, 0.0
	for _, col := range cols {
		if col.Present {
			lo, hi = min(lo, col.Value), max(hi, col.Value)
		}
	}
	if threshold != nil {
		lo, hi = min(lo, *threshold), max(hi, *threshold)
	}
	c.Top, c.Bottom = formatNumber(hi), formatNumber(lo)
	const top = 12.0
	y := func(v float64) float64 {
		if hi == lo {
			return float64(c.Base)
		}
		return top + (hi-v)/(hi-lo)*(float64(c.Base)-top)
	}
	if threshold != nil {
		c.Threshold = &hline{Y: y(*threshold), Label: "Threshold " + formatNumber(*threshold)}
	}
	if len(cols) == 0 {
		return c
	}
	slot := float64(c.W-c.Left) / float64(len(cols))
	layout := "15:04"
	if step >= 6*time.Hour {
		layout = "Jan 2"
	} else if step >= time.Hour {
		layout = "Jan 2 15h"
	}
	every := max(1, len(cols)/6)
	zero := y(0)
	for i, col := range cols {
		x := float64(c.Left) + float64(i)*slot
		if col.Present {
			barY, h := min(y(col.Value), zero), math.Abs(y(col.Value)-zero)
			if col.Value != 0 && h < 1 { // a small value stays visible
				h = 1
				if col.Value > 0 {
					barY = zero - 1
				}
			}
			c.Bars = append(c.Bars, vbar{X: x + 1, Y: barY, W: max(slot-2, 1), H: h, Href: col.Href, Title: col.Title, Bad: col.Bad})
		}
		if i%every == 0 {
			c.Ticks = append(c.Ticks, tick{X: x + slot/2, Label: col.Start.UTC().Format(layout)})
		}
	}
	return c
}

// formatNumber writes a chart value briefly: integers in full, others to four significant digits.
func formatNumber(v float64) string {
	if v == math.Trunc(v) && math.Abs(v) < 1e15 {
		return strconv.FormatInt(int64(v), 10)
	}
	return strconv.FormatFloat(v, 'g', 4, 64)
}

type barChart struct {
	W, H, Left, BarH int
	Label            string
	Bad              bool
	Rows             []hbar
}

type hbar struct {
	Key, Short, Href string
	Value            int64
	Y, TextY, W      float64
	ValueX           float64
}

// newBars draws counts as labelled horizontal bars; href (may be nil) links a key to its events.
func newBars(label string, counts []history.Count, href func(key string) string) barChart {
	c := barChart{W: 480, Left: 200, BarH: 16, Label: label}
	var most int64
	for _, n := range counts {
		most = max(most, n.N)
	}
	room := float64(c.W - c.Left - 60)
	for i, n := range counts {
		y := float64(i * 24)
		w := 0.0
		if most > 0 {
			w = max(float64(n.N)/float64(most)*room, 1)
		}
		short := n.Key
		if r := []rune(short); len(r) > 24 {
			short = string(r[:23]) + "…"
		}
		if short == "" {
			short = "(none)"
		}
		r := hbar{Key: n.Key, Short: short, Value: n.N, Y: y + 3, TextY: y + 16, W: w, ValueX: float64(c.Left) + w}
		if href != nil && n.Key != "" {
			r.Href = href(n.Key)
		}
		c.Rows = append(c.Rows, r)
	}
	c.H = max(len(counts)*24, 24)
	return c
}
