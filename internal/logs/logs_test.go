package logs

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cairn-dev/cairn/internal/meta"
	"github.com/cairn-dev/cairn/internal/metrics"
)

type fakeSink struct {
	mu   sync.Mutex
	data []metrics.Datum
}

func (f *fakeSink) Put(_ context.Context, data []metrics.Datum) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.data = append(f.data, data...)
	return nil
}

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

var sc = Scope{Account: "123456789012", Region: "us-east-1"}

func newStore(t *testing.T) (*Store, *clock, *fakeSink) {
	t.Helper()
	db, err := meta.Open(context.Background(), filepath.Join(t.TempDir(), "meta.sqlite"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	clk := &clock{t: time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)}
	sink := &fakeSink{}
	return NewStore(db, Options{Sink: sink, Now: clk.now}), clk, sink
}

// wantErr checks err is a logs error of kind whose message mentions each of words.
func wantErr(t *testing.T, err error, kind error, words ...string) {
	t.Helper()
	if !errors.Is(err, kind) {
		t.Fatalf("error %v; want %v", err, kind)
	}
	for _, w := range words {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("error %q does not mention %q", err, w)
		}
	}
}

func TestGroups(t *testing.T) {
	s, _, _ := newStore(t)
	ctx := context.Background()
	for _, n := range []string{"/aws/cloudtrail/a", "/aws/cloudtrail/b", "app-logs", "CloudTrail/Default"} {
		if err := s.CreateGroup(ctx, sc, n, "", map[string]string{"team": "sec"}); err != nil {
			t.Fatal(err)
		}
	}
	wantErr(t, s.CreateGroup(ctx, sc, "app-logs", "", nil), ErrAlreadyExists, "app-logs")
	wantErr(t, s.CreateGroup(ctx, sc, "bad name!", "", nil), ErrInvalidParameter, "logGroupName", "bad name!")
	wantErr(t, s.CreateGroup(ctx, sc, "", "", nil), ErrInvalidParameter, "logGroupName")
	wantErr(t, s.CreateGroup(ctx, sc, "x", "", map[string]string{"aws:x": "1"}), ErrInvalidParameter, "aws:")
	// Other accounts and regions see nothing.
	if gs, _, _ := s.DescribeGroups(ctx, Scope{"210987654321", "us-east-1"}, GroupQuery{}); len(gs) != 0 {
		t.Errorf("another account sees %d groups", len(gs))
	}
	gs, next, err := s.DescribeGroups(ctx, sc, GroupQuery{Prefix: "/aws/", Limit: 1})
	if err != nil || len(gs) != 1 || gs[0].Name != "/aws/cloudtrail/a" || next == "" {
		t.Fatalf("page 1: %v %q %v", names(gs), next, err)
	}
	gs, next, err = s.DescribeGroups(ctx, sc, GroupQuery{Prefix: "/aws/", Limit: 1, NextToken: next})
	if err != nil || len(gs) != 1 || gs[0].Name != "/aws/cloudtrail/b" || next != "" {
		t.Fatalf("page 2 (the last): %v %q %v", names(gs), next, err)
	}
	gs, _, _ = s.DescribeGroups(ctx, sc, GroupQuery{Pattern: "cloudtrail"})
	if got := strings.Join(names(gs), ","); got != "/aws/cloudtrail/a,/aws/cloudtrail/b,CloudTrail/Default" {
		t.Errorf("pattern cloudtrail: %s", got)
	}
	_, _, err = s.DescribeGroups(ctx, sc, GroupQuery{Prefix: "a", Pattern: "b"})
	wantErr(t, err, ErrInvalidParameter, "mutually exclusive")
	_, _, err = s.DescribeGroups(ctx, sc, GroupQuery{Limit: 51})
	wantErr(t, err, ErrInvalidParameter, "limit", "51")

	wantErr(t, s.PutRetention(ctx, sc, "app-logs", 2), ErrInvalidParameter, "retentionInDays", "'2'")
	wantErr(t, s.PutRetention(ctx, sc, "nope", 7), ErrNotFound, "nope")
	if err := s.PutRetention(ctx, sc, "app-logs", 7); err != nil {
		t.Fatal(err)
	}
	if g, _ := s.Group(ctx, sc, "app-logs"); g.RetentionInDays != 7 {
		t.Errorf("retention %d", g.RetentionInDays)
	}
	if err := s.TagGroup(ctx, sc, "app-logs", map[string]string{"env": "prod"}); err != nil {
		t.Fatal(err)
	}
	if err := s.UntagGroup(ctx, sc, "app-logs", []string{"team"}); err != nil {
		t.Fatal(err)
	}
	if tags, _ := s.Tags(ctx, sc, "app-logs"); len(tags) != 1 || tags["env"] != "prod" {
		t.Errorf("tags %v", tags)
	}
	if err := s.DeleteGroup(ctx, sc, "app-logs"); err != nil {
		t.Fatal(err)
	}
	wantErr(t, s.DeleteGroup(ctx, sc, "app-logs"), ErrNotFound, "does not exist", "app-logs")
}

func names(gs []*Group) []string {
	var out []string
	for _, g := range gs {
		out = append(out, g.Name)
	}
	return out
}

func TestPutGetFilter(t *testing.T) {
	s, clk, _ := newStore(t)
	ctx := context.Background()
	must(t, s.CreateGroup(ctx, sc, "g", "", nil))
	must(t, s.CreateStream(ctx, sc, "g", "a"))
	must(t, s.CreateStream(ctx, sc, "g", "b"))
	wantErr(t, s.CreateStream(ctx, sc, "g", "a"), ErrAlreadyExists, "a")
	wantErr(t, s.CreateStream(ctx, sc, "g", "x:y"), ErrInvalidParameter, "logStreamName")
	now := clk.now().UnixMilli()

	_, err := s.Put(ctx, sc, "g", "a", []InputEvent{{now, "2"}, {now - 1, "1"}})
	wantErr(t, err, ErrInvalidParameter, "chronological", "event 1")
	_, err = s.Put(ctx, sc, "g", "missing", []InputEvent{{now, "x"}})
	wantErr(t, err, ErrNotFound, "log stream", "missing")
	_, err = s.Put(ctx, sc, "g", "a", []InputEvent{{now, ""}})
	wantErr(t, err, ErrInvalidParameter, "empty message")
	_, err = s.Put(ctx, sc, "g", "a", nil)
	wantErr(t, err, ErrInvalidParameter, "logEvents")

	// Too old and too new events are rejected, the rest stored.
	rej, err := s.Put(ctx, sc, "g", "a", []InputEvent{
		{now - int64(15*24*time.Hour/time.Millisecond), "old"},
		{now - 3000, `{"eventName":"ConsoleLogin","errorMessage":"Failed authentication"}`},
		{now - 2000, `{"eventName":"ConsoleLogin","responseElements":{"ConsoleLogin":"Success"}}`},
		{now + int64(3*time.Hour/time.Millisecond), "future"},
	})
	must(t, err)
	if rej != (Rejected{TooNewStartIndex: 3, TooOldEndIndex: 0, ExpiredEndIndex: -1}) {
		t.Errorf("rejected %+v", rej)
	}
	_, err = s.Put(ctx, sc, "g", "b", []InputEvent{{now - 1000, `{"eventName":"ConsoleLogin","errorMessage":"Failed authentication"}`}, {now, "plain text ERROR"}})
	must(t, err)

	page, err := s.Filter(ctx, sc, "g", FilterQuery{Pattern: `{ ($.eventName = ConsoleLogin) && ($.errorMessage = "Failed authentication") }`})
	must(t, err)
	if len(page.Events) != 2 || page.Events[0].Stream != "a" || page.Events[1].Stream != "b" || page.Next != "" {
		t.Fatalf("filter: %+v", page)
	}
	_, err = s.Filter(ctx, sc, "g", FilterQuery{Pattern: `{ $.a = `})
	wantErr(t, err, ErrInvalidParameter, "filter pattern", "column")
	// Pagination: one event per page, in time order.
	var got []string
	tok := ""
	for i := 0; i < 10; i++ {
		p, err := s.Filter(ctx, sc, "g", FilterQuery{Limit: 1, NextToken: tok})
		must(t, err)
		for _, e := range p.Events {
			got = append(got, e.Message[:min(5, len(e.Message))])
		}
		if tok = p.Next; tok == "" {
			break
		}
	}
	if strings.Join(got, "|") != `{"eve|{"eve|{"eve|plain` {
		t.Errorf("pages: %q", got)
	}
	p, err := s.Filter(ctx, sc, "g", FilterQuery{StreamNames: []string{"b"}, Pattern: "ERROR"})
	must(t, err)
	if len(p.Events) != 1 || p.Events[0].Message != "plain text ERROR" || len(p.Searched) != 1 {
		t.Errorf("stream b ERROR: %+v", p)
	}
	start, end := now-2500, now-1000
	p, _ = s.Filter(ctx, sc, "g", FilterQuery{Start: &start, End: &end})
	if len(p.Events) != 2 {
		t.Errorf("time range: %d events", len(p.Events))
	}

	// GetLogEvents: newest first page, then backwards; forward token at the end comes back.
	gp, err := s.Get(ctx, sc, "g", "a", GetQuery{Limit: 1})
	must(t, err)
	if len(gp.Events) != 1 || !strings.Contains(gp.Events[0].Message, "Success") {
		t.Fatalf("get newest: %+v", gp)
	}
	gp2, err := s.Get(ctx, sc, "g", "a", GetQuery{Limit: 1, NextToken: gp.Backward})
	must(t, err)
	if len(gp2.Events) != 1 || !strings.Contains(gp2.Events[0].Message, "Failed") {
		t.Fatalf("get backward: %+v", gp2)
	}
	end1, err := s.Get(ctx, sc, "g", "a", GetQuery{NextToken: gp.NextForward})
	must(t, err)
	if len(end1.Events) != 0 || end1.NextForward != gp.NextForward {
		t.Errorf("at the end: %+v; want the same forward token %q", end1, gp.NextForward)
	}
	head, _ := s.Get(ctx, sc, "g", "a", GetQuery{StartFromHead: true})
	if len(head.Events) != 2 {
		t.Errorf("from head: %d events", len(head.Events))
	}
	_, err = s.Get(ctx, sc, "g", "a", GetQuery{NextToken: "garbage"})
	wantErr(t, err, ErrInvalidParameter, "nextToken")

	streams, _, err := s.DescribeStreams(ctx, sc, "g", StreamQuery{ByLastEvent: true, Descending: true})
	must(t, err)
	if len(streams) != 2 || streams[0].Name != "b" || streams[1].FirstEventTimestamp != now-3000 || streams[1].StoredBytes == 0 {
		t.Errorf("streams: %+v %+v", streams[0], streams[1])
	}
	_, _, err = s.DescribeStreams(ctx, sc, "g", StreamQuery{ByLastEvent: true, Prefix: "a"})
	wantErr(t, err, ErrInvalidParameter, "LastEventTime")
}

func TestRetention(t *testing.T) {
	s, clk, _ := newStore(t)
	ctx := context.Background()
	must(t, s.CreateGroup(ctx, sc, "g", "", nil))
	must(t, s.CreateStream(ctx, sc, "g", "s"))
	now := clk.now().UnixMilli()
	day := int64(24 * time.Hour / time.Millisecond)
	_, err := s.Put(ctx, sc, "g", "s", []InputEvent{{now - 3*day, "three days old"}})
	must(t, err)
	_, err = s.Put(ctx, sc, "g", "s", []InputEvent{{now, "new"}})
	must(t, err)
	// Retention 1 day: the older event disappears at once.
	must(t, s.PutRetention(ctx, sc, "g", 1))
	p, _ := s.Filter(ctx, sc, "g", FilterQuery{})
	if len(p.Events) != 1 || p.Events[0].Message != "new" {
		t.Fatalf("after retention: %+v", p.Events)
	}
	// Events older than the retention are rejected as expired.
	rej, err := s.Put(ctx, sc, "g", "s", []InputEvent{{now - 2*day, "expired"}, {now + 1, "ok"}})
	must(t, err)
	if rej.ExpiredEndIndex != 0 {
		t.Errorf("rejected %+v", rej)
	}
	// A day and a bit later, reads no longer return them, and Expire deletes them.
	clk.add(25 * time.Hour)
	if p, _ := s.Filter(ctx, sc, "g", FilterQuery{}); len(p.Events) != 0 {
		t.Errorf("expired events still returned: %+v", p.Events)
	}
	if g, _ := s.Get(ctx, sc, "g", "s", GetQuery{StartFromHead: true}); len(g.Events) != 0 {
		t.Errorf("GetLogEvents returns expired events: %+v", g.Events)
	}
	n, err := s.Expire(ctx)
	must(t, err)
	if n != 2 {
		t.Errorf("expired %d events; want 2", n)
	}
	// Without retention nothing expires.
	must(t, s.DeleteRetention(ctx, sc, "g"))
	if g, _ := s.Group(ctx, sc, "g"); g.RetentionInDays != 0 || g.StoredBytes != 0 {
		t.Errorf("group after expiry: %+v", g)
	}
}

func TestMetricFilters(t *testing.T) {
	s, clk, sink := newStore(t)
	ctx := context.Background()
	must(t, s.CreateGroup(ctx, sc, "trail", "", nil))
	must(t, s.CreateStream(ctx, sc, "trail", "s"))
	one := 0.0
	must(t, s.PutMetricFilter(ctx, sc, MetricFilter{Group: "trail", Name: "ConsoleSignInFailures",
		Pattern:        `{ ($.eventName = ConsoleLogin) && ($.errorMessage = "Failed authentication") }`,
		Transformation: Transformation{MetricName: "ConsoleSigninFailureCount", MetricNamespace: "CloudTrailMetrics", MetricValue: "1", DefaultValue: &one}}))
	must(t, s.PutMetricFilter(ctx, sc, MetricFilter{Group: "trail", Name: "Bytes",
		Pattern:        `{ $.bytes = * }`,
		Transformation: Transformation{MetricName: "Bytes", MetricNamespace: "App", MetricValue: "$.bytes", Unit: "Bytes", Dimensions: map[string]string{"Op": "$.op"}}}))
	now := clk.now().UnixMilli()
	_, err := s.Put(ctx, sc, "trail", "s", []InputEvent{
		{now, `{"eventName":"ConsoleLogin","errorMessage":"Failed authentication"}`},
		{now, `{"eventName":"ConsoleLogin"}`},
		{now, `{"bytes":512,"op":"GetObject"}`},
		{now, `{"bytes":"abc","op":"x"}`},
		{now, `{"bytes":7}`},
	})
	must(t, err)
	var got []string
	for _, d := range sink.data {
		b, _ := json.Marshal(struct {
			N string
			V float64
			D []metrics.Dimension
			U string
		}{d.Namespace + "/" + d.Name, d.Value, d.Dimensions, d.Unit})
		got = append(got, string(b))
		if d.Account != sc.Account || d.Region != sc.Region || !d.Time.Equal(time.UnixMilli(now)) {
			t.Errorf("datum %+v: wrong account, region or time", d)
		}
	}
	want := []string{
		`{"N":"CloudTrailMetrics/ConsoleSigninFailureCount","V":1,"D":null,"U":""}`,
		`{"N":"CloudTrailMetrics/ConsoleSigninFailureCount","V":0,"D":null,"U":""}`,
		`{"N":"App/Bytes","V":512,"D":[{"Name":"Op","Value":"GetObject"}],"U":"Bytes"}`,
		`{"N":"CloudTrailMetrics/ConsoleSigninFailureCount","V":0,"D":null,"U":""}`,
		`{"N":"CloudTrailMetrics/ConsoleSigninFailureCount","V":0,"D":null,"U":""}`,
		`{"N":"App/Bytes","V":7,"D":null,"U":"Bytes"}`,
		`{"N":"CloudTrailMetrics/ConsoleSigninFailureCount","V":0,"D":null,"U":""}`,
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("metric data:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}

	fs, _, err := s.DescribeMetricFilters(ctx, sc, MetricFilterQuery{MetricName: "ConsoleSigninFailureCount", MetricNamespace: "CloudTrailMetrics"})
	must(t, err)
	if len(fs) != 1 || fs[0].Name != "ConsoleSignInFailures" || fs[0].Group != "trail" {
		t.Errorf("describe by metric: %+v", fs)
	}
	if g, _ := s.Group(ctx, sc, "trail"); g.MetricFilterCount != 2 {
		t.Errorf("metricFilterCount %d", g.MetricFilterCount)
	}
	must(t, s.DeleteMetricFilter(ctx, sc, "trail", "Bytes"))
	wantErr(t, s.DeleteMetricFilter(ctx, sc, "trail", "Bytes"), ErrNotFound, "Bytes")
	sink.data = nil
	_, err = s.Put(ctx, sc, "trail", "s", []InputEvent{{now, `{"bytes":1}`}})
	must(t, err)
	if len(sink.data) != 1 || sink.data[0].Name != "ConsoleSigninFailureCount" {
		t.Errorf("after delete: %+v", sink.data)
	}
}

func TestMetricFilterValidation(t *testing.T) {
	s, _, _ := newStore(t)
	ctx := context.Background()
	must(t, s.CreateGroup(ctx, sc, "g", "", nil))
	def := 0.0
	ok := Transformation{MetricName: "M", MetricNamespace: "N", MetricValue: "1"}
	for _, c := range []struct {
		name, pattern string
		tr            func(t Transformation) Transformation
		words         []string
	}{
		{"f", `{ $.a = `, nil, []string{"filter pattern", "column"}},
		{"f", `{ $.a = 1 } junk`, nil, []string{"filter pattern", "must end with"}},
		{"f", `%a%b%`, nil, []string{"filter pattern"}},
		{"f", strings.Repeat("a", 1025), nil, []string{"filter pattern", "1024"}},
		{"a:b", `x`, nil, []string{"filterName"}},
		{"", `x`, nil, []string{"filterName"}},
		{"f", `x`, func(t Transformation) Transformation { t.MetricName = "a$b"; return t }, []string{"metricName"}},
		{"f", `x`, func(t Transformation) Transformation { t.MetricNamespace = ""; return t }, []string{"metricNamespace"}},
		{"f", `x`, func(t Transformation) Transformation { t.MetricValue = "one"; return t }, []string{"metric value", "one"}},
		{"f", `x`, func(t Transformation) Transformation { t.MetricValue = "$.a"; return t }, []string{"metric value", "JSON or space-delimited"}},
		{"f", `{ $.a = 1 }`, func(t Transformation) Transformation { t.MetricValue = "$.b[*]"; return t }, []string{"wildcard"}},
		{"f", `[a, b]`, func(t Transformation) Transformation { t.MetricValue = "$c"; return t }, []string{"no field named"}},
		{"f", `{ $.a = 1 }`, func(t Transformation) Transformation { t.Unit = "Furlongs"; return t }, []string{"unit", "Furlongs"}},
		{"f", `{ $.a = 1 }`, func(t Transformation) Transformation {
			t.Dimensions = map[string]string{"d": "$.a"}
			t.DefaultValue = &def
			return t
		}, []string{"dimensions", "defaultValue"}},
		{"f", `{ $.a = 1 }`, func(t Transformation) Transformation { t.Dimensions = map[string]string{"d": "literal"}; return t }, []string{"Dimension d", "reference"}},
		{"f", `ERROR`, func(t Transformation) Transformation { t.Dimensions = map[string]string{"d": "$.a"}; return t }, []string{"JSON or space-delimited"}},
		{"f", `{ $.a = 1 }`, func(t Transformation) Transformation {
			t.Dimensions = map[string]string{"a": "$.a", "b": "$.b", "c": "$.c", "d": "$.d"}
			return t
		}, []string{"at most 3 dimensions"}},
	} {
		tr := ok
		if c.tr != nil {
			tr = c.tr(ok)
		}
		err := s.PutMetricFilter(ctx, sc, MetricFilter{Group: "g", Name: c.name, Pattern: c.pattern, Transformation: tr})
		wantErr(t, err, ErrInvalidParameter, c.words...)
	}
	wantErr(t, s.PutMetricFilter(ctx, sc, MetricFilter{Group: "nope", Name: "f", Pattern: "x", Transformation: ok}), ErrNotFound, "nope")
}

// A log group holds at most 5 filters with regular expressions (AWS's quota); replacing one of
// them, or adding one without a regex, is still allowed.
func TestRegexFilterLimit(t *testing.T) {
	s, _, _ := newStore(t)
	ctx := context.Background()
	must(t, s.CreateGroup(ctx, sc, "g", "", nil))
	tr := Transformation{MetricName: "M", MetricNamespace: "N", MetricValue: "1"}
	put := func(name, p string) error {
		return s.PutMetricFilter(ctx, sc, MetricFilter{Group: "g", Name: name, Pattern: p, Transformation: tr})
	}
	must(t, put("json", `{ $.a = %x+% }`))
	must(t, put("space", `[a=%y%, b]`))
	must(t, put("term", `%z%`))
	must(t, put("two", `{ $.a = %1% || $.b = %2% }`))
	must(t, put("five", `%five%`))
	must(t, put("plain", `ERROR`))
	wantErr(t, put("sixth", `%six%`), ErrLimitExceeded, "regular expressions", "5")
	must(t, put("five", `%still five%`))
	must(t, put("quoted", `"100%"`))
	must(t, s.DeleteMetricFilter(ctx, sc, "g", "term"))
	must(t, put("sixth", `%six%`))
}

func TestTestMetricFilter(t *testing.T) {
	msgs := []string{
		`{"eventName":"ConsoleLogin","errorMessage":"Failed authentication","sourceIPAddress":"198.51.100.7"}`,
		`{"eventName":"ConsoleLogin","responseElements":{"ConsoleLogin":"Success"}}`,
		`{"eventName":"CreateTrail"}`,
		`{"eventName":"ConsoleLogin","errorMessage":"Failed authentication"}`,
		`not json`,
	}
	m, err := TestMetricFilter(`{ ($.eventName = ConsoleLogin) && ($.errorMessage = "Failed authentication") }`, msgs)
	must(t, err)
	if len(m) != 2 || m[0].EventNumber != 1 || m[1].EventNumber != 4 || m[1].EventMessage != msgs[3] || m[0].ExtractedValues == nil {
		t.Errorf("matches %+v", m)
	}
	m, err = TestMetricFilter(`[ip, user, status=4*]`, []string{"10.0.0.1 bob 404", "10.0.0.2 amy 200"})
	must(t, err)
	if len(m) != 1 || m[0].ExtractedValues["$status"] != "404" || m[0].ExtractedValues["$ip"] != "10.0.0.1" {
		t.Errorf("space-delimited: %+v", m)
	}
	_, err = TestMetricFilter(`{ $.a = }`, msgs)
	wantErr(t, err, ErrInvalidParameter, "filter pattern")
	_, err = TestMetricFilter(`x`, nil)
	wantErr(t, err, ErrInvalidParameter, "logEventMessages")
}

// The pack ships the CIS text verbatim: the same patterns the pattern package's CIS cases test.
func TestCISPack(t *testing.T) {
	raw, err := os.ReadFile("../pattern/testdata/cis-patterns.json")
	must(t, err)
	var want map[string]string
	must(t, json.Unmarshal(raw, &want))
	if len(CIS) != 15 {
		t.Fatalf("%d controls; want 4.1–4.15", len(CIS))
	}
	seen := map[string]bool{}
	for _, c := range CIS {
		if c.Pattern != want[c.ID] {
			t.Errorf("%s: pattern %q; the CIS text is %q", c.ID, c.Pattern, want[c.ID])
		}
		if seen[c.Metric] {
			t.Errorf("%s: metric %s used twice", c.ID, c.Metric)
		}
		seen[c.Metric] = true
		if _, err := compileFilter(c.MetricFilter("g")); err != nil {
			t.Errorf("%s: %v", c.ID, err)
		}
	}
}

func TestParseGroupARN(t *testing.T) {
	a, r, n, err := ParseGroupARN("arn:aws:logs:eu-west-1:123456789012:log-group:CloudTrail/Default:*")
	if err != nil || a != "123456789012" || r != "eu-west-1" || n != "CloudTrail/Default" {
		t.Errorf("got %s %s %s %v", a, r, n, err)
	}
	for _, bad := range []string{"", "arn:aws:s3:::bucket", "arn:aws:logs:us-east-1:1:log-stream:x", "arn:aws:logs:us-east-1:123:log-group:bad name:*"} {
		if _, _, _, err := ParseGroupARN(bad); !errors.Is(err, ErrInvalidParameter) {
			t.Errorf("%q: %v", bad, err)
		}
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// Concurrent batches are committed together; a batch for a missing stream fails alone.
func TestPutGroupCommit(t *testing.T) {
	s, clk, _ := newStore(t)
	ctx := context.Background()
	must(t, s.CreateGroup(ctx, sc, "g", "", nil))
	for i := 0; i < 4; i++ {
		must(t, s.CreateStream(ctx, sc, "g", fmt.Sprint("s", i)))
	}
	now := clk.now().UnixMilli()
	var wg sync.WaitGroup
	errs := make([]error, 5)
	for i := 0; i < 5; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for k := 0; k < 20 && errs[i] == nil; k++ {
				_, errs[i] = s.Put(ctx, sc, "g", fmt.Sprint("s", i), []InputEvent{{now, fmt.Sprint("m", i, "-", k)}, {now, "x"}})
			}
		}()
	}
	wg.Wait()
	for i := 0; i < 4; i++ {
		must(t, errs[i])
	}
	wantErr(t, errs[4], ErrNotFound, "s4")
	p, err := s.Filter(ctx, sc, "g", FilterQuery{})
	must(t, err)
	if len(p.Events) != 4*20*2 {
		t.Errorf("%d events stored; want %d", len(p.Events), 4*20*2)
	}
}
