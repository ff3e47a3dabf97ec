package console

import (
	"fmt"
	"time"

	"github.com/cairn-dev/cairn/internal/history"
)

// Charts are inline SVG computed here and drawn by templates/chart.html: no scripts, nothing
// fetched, readable by screen readers through their titles, every bar a link to the events.

type timelineChart struct {
	W, H, Left, Base int
	Max              int64
	Label            string
	Bad              bool
	Bars             []vbar
	Ticks            []tick
}

type vbar struct {
	X, Y, W, H  float64
	Href, Title string
}

type tick struct {
	X     float64
	Label string
}

// newTimeline draws buckets as columns; href links a bucket to its events.
func newTimeline(label string, buckets []history.Bucket, step time.Duration, href func(from, to time.Time) string) timelineChart {
	c := timelineChart{W: 1200, H: 196, Left: 40, Base: 172, Label: label}
	for _, b := range buckets {
		c.Max = max(c.Max, b.N)
	}
	if len(buckets) == 0 {
		return c
	}
	slot := float64(c.W-c.Left) / float64(len(buckets))
	scale := 0.0
	if c.Max > 0 {
		scale = float64(c.Base-12) / float64(c.Max)
	}
	layout := "15:04"
	if step >= 6*time.Hour {
		layout = "Jan 2"
	} else if step >= time.Hour {
		layout = "Jan 2 15h"
	}
	every := max(1, len(buckets)/6)
	for i, b := range buckets {
		h := float64(b.N) * scale
		if b.N > 0 && h < 1 {
			h = 1
		}
		x := float64(c.Left) + float64(i)*slot
		end := b.Start.Add(step)
		c.Bars = append(c.Bars, vbar{X: x + 1, Y: float64(c.Base) - h, W: max(slot-2, 1), H: h,
			Href:  href(b.Start, end.Add(-time.Second)),
			Title: fmt.Sprintf("%s – %s UTC: %d", b.Start.UTC().Format("Jan 2 15:04"), end.UTC().Format("15:04"), b.N)})
		if i%every == 0 {
			c.Ticks = append(c.Ticks, tick{X: x + slot/2, Label: b.Start.UTC().Format(layout)})
		}
	}
	return c
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
