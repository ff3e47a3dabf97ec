package console

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/cairn-dev/cairn/internal/event"
	"github.com/cairn-dev/cairn/internal/history"
)

// attrFields are the lookup attributes in the order the filter form shows them.
var attrFields = []struct{ Key, Label string }{
	{history.AttrEventName, "Event name"},
	{history.AttrUsername, "User name"},
	{history.AttrEventSource, "Event source"},
	{history.AttrResourceType, "Resource type"},
	{history.AttrResourceName, "Resource name"},
	{history.AttrAccessKeyID, "Access key ID"},
	{history.AttrEventID, "Event ID"},
	{history.AttrReadOnly, "Read only"},
}

// ranges are the time range presets; "custom" uses start and end.
var ranges = []struct{ Value, Label string }{
	{"1h", "Last hour"}, {"3h", "Last 3 hours"}, {"12h", "Last 12 hours"}, {"24h", "Last day"},
	{"168h", "Last 7 days"}, {"720h", "Last 30 days"}, {"2160h", "Last 90 days"}, {"custom", "Custom range (UTC)"},
}

// filter is the event history form: everything LookupEvents takes.
type filter struct {
	Region   string
	Category string // "" or insight
	Attrs    map[string]string
	Range    string
	Start    time.Time
	End      time.Time
	Next     string
}

// parseFilter reads a filter from the query string. Problems are returned for the page to show,
// with the rest of the filter kept.
func (c *Console) parseFilter(r *http.Request, s *session) (filter, []string) {
	q := r.URL.Query()
	f := filter{Region: q.Get("region"), Category: q.Get("category"), Attrs: map[string]string{}, Range: q.Get("range"), Next: q.Get("next")}
	var problems []string
	if f.Region == "" {
		f.Region = s.Region
	}
	for _, a := range attrFields {
		if v := strings.TrimSpace(q.Get(a.Key)); v != "" {
			f.Attrs[a.Key] = v
		}
	}
	now := c.cfg.Now().UTC()
	switch f.Range {
	case "":
		if q.Get("start") != "" || q.Get("end") != "" {
			f.Range = "custom"
		}
	case "custom":
	default:
		d, err := time.ParseDuration(f.Range)
		if err != nil || d <= 0 {
			problems = append(problems, fmt.Sprintf("Time range %q is not one of the choices.", f.Range))
			f.Range = ""
		} else {
			f.Start = now.Add(-d)
		}
	}
	if f.Range == "custom" {
		for _, p := range []struct {
			name string
			dst  *time.Time
		}{{"start", &f.Start}, {"end", &f.End}} {
			v := q.Get(p.name)
			if v == "" {
				continue
			}
			t, err := parseTime(v)
			if err != nil {
				problems = append(problems, fmt.Sprintf("The %s time %q is not a date and time such as 2026-01-31T23:59 (UTC).", p.name, v))
				continue
			}
			*p.dst = t
		}
	}
	return f, problems
}

func parseTime(v string) (time.Time, error) {
	for _, layout := range []string{"2006-01-02T15:04", "2006-01-02T15:04:05", time.RFC3339, "2006-01-02"} {
		if t, err := time.Parse(layout, v); err == nil {
			return t.UTC(), nil
		}
	}
	return time.Time{}, errors.New("bad time")
}

// query is the filter as a history lookup in the session's account.
func (f filter) query(s *session, maxResults int) history.Query {
	q := history.Query{Account: s.Principal.AccountID, Region: f.Region, Category: f.Category,
		Start: f.Start, End: f.End, MaxResults: maxResults, NextToken: f.Next}
	for _, a := range attrFields {
		if v, ok := f.Attrs[a.Key]; ok {
			q.Attributes = append(q.Attributes, history.Attribute{Key: a.Key, Value: v})
		}
	}
	return q
}

// values renders the filter as a query string, without the page token.
func (f filter) values() url.Values {
	v := url.Values{}
	v.Set("region", f.Region)
	if f.Category != "" {
		v.Set("category", f.Category)
	}
	for k, val := range f.Attrs {
		v.Set(k, val)
	}
	if f.Range != "" {
		v.Set("range", f.Range)
	}
	if f.Range == "custom" {
		if !f.Start.IsZero() {
			v.Set("start", f.Start.Format("2006-01-02T15:04:05"))
		}
		if !f.End.IsZero() {
			v.Set("end", f.End.Format("2006-01-02T15:04:05"))
		}
	}
	return v
}

// With is the history URL of this filter with one attribute set: the click-through links.
func (f filter) With(key, value string) string {
	v := f.values()
	v.Set(key, value)
	return Prefix + "events?" + v.Encode()
}

// Query is the filter's query string.
func (f filter) Query() string { return f.values().Encode() }

// eventRow is one line of the history table.
type eventRow struct {
	ID, Name, Source, User, AccessKey, SourceIP, ErrorCode, Region string
	Time                                                           time.Time
	Resources                                                      []event.LookupResource
	ReadOnly                                                       string
}

func rowOf(r *event.Record) eventRow {
	row := eventRow{ID: r.EventID, Name: r.EventName, Source: r.EventSource, User: r.Username(), AccessKey: r.AccessKeyID(),
		SourceIP: r.SourceIPAddress, ErrorCode: r.ErrorCode, Region: r.AWSRegion, Time: r.EventTime, Resources: r.LookupResources()}
	if r.InsightDetails != nil {
		row.Name, row.Source = r.InsightDetails.EventName, r.InsightDetails.EventSource
	}
	if row.ErrorCode == "" && r.ErrorMessage != "" {
		row.ErrorCode = r.ErrorMessage // ConsoleLogin failures carry only errorMessage
	}
	if r.ReadOnly != nil {
		row.ReadOnly = fmt.Sprint(*r.ReadOnly)
	}
	return row
}

type eventsData struct {
	Filter     filter
	AttrFields []struct{ Key, Label string }
	Ranges     []struct{ Value, Label string }
	Regions    []string
	Rows       []eventRow
	NextURL    string
	FirstURL   string
	Paged      bool
	Problems   []string
	MaxExport  int
}

// maxExport bounds a download: a browser download of more belongs to a trail or to Lake.
const maxExport = 10_000

func (c *Console) events(w http.ResponseWriter, r *http.Request) {
	s := sessionFrom(r)
	f, problems := c.parseFilter(r, s)
	d := eventsData{Filter: f, AttrFields: attrFields, Ranges: ranges, Regions: c.regions(f.Region), Problems: problems,
		Paged: f.Next != "", FirstURL: Prefix + "events?" + f.Query(), MaxExport: maxExport}
	status := http.StatusOK
	if len(problems) == 0 {
		page, err := c.cfg.History.Lookup(r.Context(), f.query(s, history.MaxMaxResults))
		var he *history.Error
		switch {
		case errors.As(err, &he):
			d.Problems, status = append(d.Problems, he.Message), http.StatusBadRequest
		case err != nil:
			c.internal(w, r, "look up events", err)
			return
		default:
			for _, e := range page.Events {
				d.Rows = append(d.Rows, rowOf(e))
			}
			if page.NextToken != "" {
				v := f.values()
				v.Set("next", page.NextToken)
				d.NextURL = Prefix + "events?" + v.Encode()
			}
		}
	} else {
		status = http.StatusBadRequest
	}
	c.render(w, r, status, "events", "Event history", page{Data: d})
}

// regions lists the regions to choose from, with the current one included.
func (c *Console) regions(current string) []string {
	out := slices.Clone(c.cfg.Regions)
	if current != "" && !slices.Contains(out, current) {
		out = append(out, current)
	}
	return out
}

type detailData struct {
	Row    eventRow
	JSON   string
	Filter filter
}

func (c *Console) eventDetail(w http.ResponseWriter, r *http.Request) {
	s := sessionFrom(r)
	f, _ := c.parseFilter(r, s)
	f.Attrs = map[string]string{history.AttrEventID: r.PathValue("id")}
	f.Start, f.End, f.Range, f.Next = time.Time{}, time.Time{}, "", ""
	page1, err := c.cfg.History.Lookup(r.Context(), f.query(s, 1))
	var he *history.Error
	if errors.As(err, &he) {
		c.fail(w, r, http.StatusBadRequest, he.Message)
		return
	}
	if err != nil {
		c.internal(w, r, "look up the event", err)
		return
	}
	if len(page1.Events) == 0 {
		c.fail(w, r, http.StatusNotFound, fmt.Sprintf("No event %s in account %s, region %s (event history keeps events for %v).",
			r.PathValue("id"), s.Principal.AccountID, f.Region, c.cfg.History.Retention()))
		return
	}
	e := page1.Events[0]
	var b bytes.Buffer
	if err := json.Indent(&b, e.Raw, "", "  "); err != nil {
		b.Reset()
		b.Write(e.Raw)
	}
	f.Attrs = map[string]string{}
	c.render(w, r, http.StatusOK, "event", e.EventName, page{Data: detailData{Row: rowOf(e), JSON: b.String(), Filter: f}})
}

// download streams the filtered events, newest first, as CSV (the event history columns) or as
// JSON in CloudTrail's log file shape ({"Records":[…]}, each record's original bytes).
func (c *Console) download(w http.ResponseWriter, r *http.Request) {
	s := sessionFrom(r)
	f, problems := c.parseFilter(r, s)
	if len(problems) > 0 {
		c.fail(w, r, http.StatusBadRequest, strings.Join(problems, " "))
		return
	}
	format := r.URL.Query().Get("format")
	if format != "csv" && format != "json" {
		c.fail(w, r, http.StatusBadRequest, fmt.Sprintf("Download format %q: choose csv or json.", format))
		return
	}
	f.Next = ""
	q := f.query(s, history.MaxMaxResults)
	first, err := c.cfg.History.Lookup(r.Context(), q)
	var he *history.Error
	if errors.As(err, &he) {
		c.fail(w, r, http.StatusBadRequest, he.Message)
		return
	}
	if err != nil {
		c.internal(w, r, "look up events", err)
		return
	}
	name := fmt.Sprintf("event-history-%s-%s.%s", s.Principal.AccountID, c.cfg.Now().UTC().Format("20060102T150405Z"), format)
	w.Header().Set("Content-Disposition", `attachment; filename="`+name+`"`)
	var cw *csv.Writer
	if format == "csv" {
		w.Header().Set("Content-Type", "text/csv; charset=utf-8")
		cw = csv.NewWriter(w)
		cw.Write([]string{"Event ID", "Event time", "User name", "Event name", "Event source", "Resource type", "Resource name",
			"AWS access key", "AWS region", "Error code", "Source IP address", "Read only"})
	} else {
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte(`{"Records":[`))
	}
	n := 0
	for p := first; ; {
		for _, e := range p.Events {
			if format == "csv" {
				row := rowOf(e)
				var types, names []string
				for _, res := range row.Resources {
					types, names = append(types, res.Type), append(names, res.Name)
				}
				cw.Write([]string{row.ID, e.EventTimeText, row.User, row.Name, row.Source, strings.Join(types, ","), strings.Join(names, ","),
					row.AccessKey, row.Region, row.ErrorCode, row.SourceIP, row.ReadOnly})
			} else {
				if n > 0 {
					w.Write([]byte(",\n"))
				}
				w.Write(e.Raw)
			}
			n++
		}
		if p.NextToken == "" || n >= maxExport {
			break
		}
		q.NextToken = p.NextToken
		if p, err = c.cfg.History.Lookup(r.Context(), q); err != nil {
			// Headers are sent: all that is left is to end the file short and log why.
			c.cfg.Logger.Error("console: download", "err", err)
			break
		}
	}
	if format == "csv" {
		cw.Flush()
	} else {
		w.Write([]byte("]}\n"))
	}
}
