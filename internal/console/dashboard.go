package console

import (
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/cairn-dev/cairn/internal/history"
)

// dashboardRanges are the windows a dashboard can show.
var dashboardRanges = []struct{ Value, Label string }{
	{"1h", "Last hour"}, {"24h", "Last day"}, {"168h", "Last 7 days"}, {"720h", "Last 30 days"},
}

type dashboardData struct {
	Region, Range string
	Regions       []string
	Ranges        []struct{ Value, Label string }
	A             *history.Activity
	Timeline      timelineChart
	FailedTimes   timelineChart
	Names, Users  barChart
	Sources       barChart
	IPs, Errors   barChart
	RegionBars    barChart
	FailedUsers   barChart
	SignInsURL    string
	ErrorRate     string
}

func (c *Console) dashboard(w http.ResponseWriter, r *http.Request) {
	s := sessionFrom(r)
	q := r.URL.Query()
	d := dashboardData{Region: q.Get("region"), Range: q.Get("range"), Ranges: dashboardRanges}
	if d.Region == "" {
		d.Region = s.Region
	}
	d.Regions = c.regions(d.Region)
	if d.Range == "" {
		d.Range = "24h"
	}
	window, err := time.ParseDuration(d.Range)
	if err != nil || window <= 0 || window > c.cfg.History.Retention() {
		c.fail(w, r, http.StatusBadRequest, "Dashboard range "+d.Range+" is not one of the choices.")
		return
	}
	end := c.cfg.Now().UTC().Truncate(time.Minute).Add(time.Minute)
	start := end.Add(-window)
	a, err := c.cfg.History.Activity(r.Context(), history.ActivityQuery{Account: s.Principal.AccountID, Region: d.Region,
		Regions: c.cfg.Regions, Start: start, End: end})
	var he *history.Error
	if errors.As(err, &he) {
		c.fail(w, r, http.StatusBadRequest, he.Message)
		return
	}
	if err != nil {
		c.internal(w, r, "summarise events", err)
		return
	}
	d.A = a
	// Click-through: every chart links to event history with the matching filter.
	base := filter{Region: d.Region, Range: "custom", Start: start, End: end, Attrs: map[string]string{}}
	between := func(key, value string) func(from, to time.Time) string {
		return func(from, to time.Time) string {
			f := base
			f.Start, f.End = from, to
			if key != "" {
				return f.With(key, value)
			}
			return Prefix + "events?" + f.Query()
		}
	}
	with := func(key string) func(string) string {
		return func(v string) string { return base.With(key, v) }
	}
	d.Timeline = newTimeline("Events over time", a.Timeline, a.Step, between("", ""))
	d.FailedTimes = newTimeline("Failed console sign-ins over time", a.FailedSignInTimes, a.Step, between("EventName", "ConsoleLogin"))
	d.FailedTimes.Bad = true
	d.Names = newBars("Top event names", a.EventNames, with("EventName"))
	d.Users = newBars("Top users", a.Users, with("Username"))
	d.Sources = newBars("Top event sources", a.Sources, with("EventSource"))
	d.IPs = newBars("Top source IP addresses", a.SourceIPs, nil)
	d.Errors = newBars("Top error codes", a.Errors, nil)
	d.Errors.Bad = true
	d.FailedUsers = newBars("Failed sign-ins by user", a.FailedSignInUsers, nil)
	d.FailedUsers.Bad = true
	d.RegionBars = newBars("Events by region", a.ByRegion, func(region string) string {
		f := base
		f.Region = region
		return Prefix + "events?" + f.Query()
	})
	d.SignInsURL = base.With("EventName", "ConsoleLogin")
	if a.Sampled > 0 {
		d.ErrorRate = fmt.Sprintf("%.1f%%", 100*float64(a.SampledErrors)/float64(a.Sampled))
	}
	c.render(w, r, http.StatusOK, "dashboard", "Dashboard", page{Data: d})
}
