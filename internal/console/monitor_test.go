package console

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cairn-dev/cairn/internal/event"
	"github.com/cairn-dev/cairn/internal/logs"
	"github.com/cairn-dev/cairn/internal/metrics"
	"github.com/cairn-dev/cairn/internal/notify"
	"github.com/cairn-dev/cairn/internal/recorder"
)

// monitorFixture is a console with log groups, metrics and topics, and an auditor whose
// records audited returns.
type monitorFixture struct {
	*fixture
	logs    *logs.Store
	metrics *metrics.Store
	notify  *notify.Service
}

func newMonitorFixture(t *testing.T) *monitorFixture {
	t.Helper()
	m := &monitorFixture{}
	m.fixture = newFixture(t, func(f *fixture, cfg *Config) {
		ctx := context.Background()
		now := func() time.Time { return f.now }
		var err error
		if m.metrics, err = metrics.Open(ctx, f.db, metrics.Options{Now: now, Logger: cfg.Logger}); err != nil {
			t.Fatal(err)
		}
		m.logs = logs.NewStore(f.db, logs.Options{Sink: m.metrics, Now: now, Logger: cfg.Logger})
		signer, err := notify.LoadSigner(filepath.Join(t.TempDir(), "sns"))
		if err != nil {
			t.Fatal(err)
		}
		m.notify = notify.New(notify.Options{DB: f.db, Signer: signer, PublicURL: "https://cairn.example", Now: now, Logger: cfg.Logger})
		cfg.Auditor = recorder.NewAuditor(cfg.Recorder)
		actx, cancel := context.WithCancel(ctx)
		stopped := make(chan struct{})
		go func() { cfg.Auditor.Run(actx); close(stopped) }()
		t.Cleanup(func() { cancel(); <-stopped })
		cfg.LogGroups, cfg.Metrics, cfg.Notify = m.logs, m.metrics, m.notify
	})
	return m
}

// audited returns the calls the auditor recorded from source, oldest first, once there are n.
func (m *monitorFixture) audited(source string, n int) []*event.Record {
	m.t.Helper()
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		var out []*event.Record
		for _, r := range m.records("") {
			if r.EventSource == source {
				out = append(out, r)
			}
		}
		if len(out) >= n || time.Now().After(deadline) {
			return out
		}
	}
}

// signedIn returns a signed-in browser.
func (m *monitorFixture) signedIn() *client {
	cl := m.client()
	if w := cl.signIn(testPassword); w.Code != http.StatusSeeOther {
		m.t.Fatalf("sign-in: %d", w.Code)
	}
	return cl
}

func wantRedirect(t *testing.T, w *httptest.ResponseRecorder, prefix string) string {
	t.Helper()
	if w.Code != http.StatusSeeOther || !strings.HasPrefix(w.Header().Get("Location"), prefix) {
		t.Fatalf("want a redirect to %s, got %d %s\n%s", prefix, w.Code, w.Header().Get("Location"), w.Body)
	}
	return w.Header().Get("Location")
}

func wantPage(t *testing.T, w *httptest.ResponseRecorder, status int, texts ...string) {
	t.Helper()
	if w.Code != status {
		t.Fatalf("status %d, want %d\n%s", w.Code, status, w.Body)
	}
	for _, s := range texts {
		if !strings.Contains(w.Body.String(), s) {
			t.Errorf("page lacks %q", s)
		}
	}
}

const failedSignIns = `{ ($.eventName = ConsoleLogin) && ($.errorMessage = "Failed authentication") }`

func TestLogGroupPages(t *testing.T) {
	m := newMonitorFixture(t)
	cl := m.signedIn()
	const group = "CloudTrail/Default#1"
	page := "/console/loggroups/" + escapePath(group)

	wantRedirect(t, cl.post("/console/loggroups", "/console/loggroups", url.Values{"name": {group}, "retention": {"30"}}), page)
	wantPage(t, cl.do("GET", "/console/loggroups", nil), http.StatusOK, `href="/console/loggroups/CloudTrail/Default%231"`, "30 days")
	// A name the API refuses is refused with its words, the form keeping what was typed.
	wantPage(t, cl.post("/console/loggroups", "/console/loggroups", url.Values{"name": {"bad name"}}), http.StatusBadRequest,
		"failed to satisfy constraint: Member must satisfy regular expression pattern", `value="bad name"`)
	wantPage(t, cl.post("/console/loggroups", "/console/loggroups", url.Values{"name": {group}}), http.StatusBadRequest, "The specified log group already exists")

	// A pattern with a syntax error: internal/pattern's report, verbatim, and the pattern kept.
	bad := `{ ($.eventName = ConsoleLogin) && ($.errorMessage = "Failed authentication" }`
	w := cl.post(page, page, url.Values{"action": {"putfilter"}, "filter": {"ConsoleSignInFailures"}, "pattern": {bad},
		"namespace": {"CloudTrailMetrics"}, "metric": {"ConsoleSigninFailureCount"}, "value": {"1"}})
	wantPage(t, w, http.StatusBadRequest, "invalid filter pattern at column 35: unbalanced parentheses", "Failed authentication&#34; }</textarea>")
	w = cl.post(page, page, url.Values{"action": {"putfilter"}, "filter": {"ConsoleSignInFailures"}, "pattern": {failedSignIns},
		"namespace": {"CloudTrailMetrics"}, "metric": {"ConsoleSigninFailureCount"}, "value": {"1"}, "default": {"0"}, "unit": {"Count"}})
	wantRedirect(t, w, page)
	wantPage(t, cl.do("GET", page, nil), http.StatusOK, "ConsoleSignInFailures", "CloudTrailMetrics / ConsoleSigninFailureCount",
		`/console/alarms/new?namespace=CloudTrailMetrics&amp;metric=ConsoleSigninFailureCount`)
	wantPage(t, cl.post(page, page, url.Values{"action": {"putfilter"}, "filter": {"x"}, "pattern": {""}, "namespace": {"N"}, "metric": {"M"},
		"value": {"1"}, "default": {"one"}}), http.StatusBadRequest, "Default value &#34;one&#34; is not a number.")

	// The CIS pack, as cairn monitor enable-cis installs it.
	wantRedirect(t, cl.post(page, page, url.Values{"action": {"cis"}, "namespace": {"CISBenchmark"}}), page)
	fs, _, err := m.logs.DescribeMetricFilters(context.Background(), logs.Scope{Account: testAccount, Region: "us-east-1"}, logs.MetricFilterQuery{Group: group})
	if err != nil || len(fs) != len(logs.CIS)+1 {
		t.Fatalf("after installing CIS: %d filters, %v", len(fs), err)
	}

	wantRedirect(t, cl.post(page, page, url.Values{"action": {"deletefilter"}, "filter": {"ConsoleSignInFailures"}}), page)
	wantPage(t, cl.post(page, page, url.Values{"action": {"deletefilter"}, "filter": {"ConsoleSignInFailures"}}), http.StatusNotFound,
		"The specified metric filter does not exist")
	wantPage(t, cl.post(page, page, url.Values{"action": {"retention"}, "retention": {"31"}}), http.StatusBadRequest, "Member must satisfy enum value set")
	wantRedirect(t, cl.post(page, page, url.Values{"action": {"retention"}, "retention": {""}}), page)
	if g, _ := m.logs.Group(context.Background(), logs.Scope{Account: testAccount, Region: "us-east-1"}, group); g.RetentionInDays != 0 {
		t.Errorf("retention %d after removing it", g.RetentionInDays)
	}
	wantRedirect(t, cl.post(page, page, url.Values{"action": {"delete"}}), "/console/loggroups?")
	wantPage(t, cl.do("GET", page, nil), http.StatusNotFound, "The specified log group does not exist")

	// Every change is recorded as its API call, failures with the API's error code.
	want := []string{"CreateLogGroup/", "PutRetentionPolicy/", "CreateLogGroup/InvalidParameterException", "CreateLogGroup/ResourceAlreadyExistsException",
		"PutMetricFilter/InvalidParameterException", "PutMetricFilter/"}
	for range logs.CIS {
		want = append(want, "PutMetricFilter/")
	}
	want = append(want, "DeleteMetricFilter/", "DeleteMetricFilter/ResourceNotFoundException", "PutRetentionPolicy/InvalidParameterException",
		"DeleteRetentionPolicy/", "DeleteLogGroup/")
	var names []string
	for _, r := range m.audited("logs.amazonaws.com", len(want)) {
		if r.UserIdentity.Type != "Root" || r.SourceIPAddress == "" {
			t.Errorf("record %s", r.Raw)
		}
		names = append(names, r.EventName+"/"+r.ErrorCode)
	}
	if strings.Join(names, " ") != strings.Join(want, " ") {
		t.Errorf("recorded\n%v\nwant\n%v", names, want)
	}
}

func TestAlarmPages(t *testing.T) {
	m := newMonitorFixture(t)
	cl := m.signedIn()
	ctx := context.Background()
	wantRedirect(t, cl.post("/console/topics", "/console/topics", url.Values{"name": {"sec-alerts"}}), "/console/topics/sec-alerts")
	topic := "arn:aws:sns:us-east-1:" + testAccount + ":sec-alerts"

	// The form offers the region's topics as actions.
	wantPage(t, cl.do("GET", "/console/alarms/new?namespace=CloudTrailMetrics&metric=ConsoleSigninFailureCount", nil), http.StatusOK,
		`value="CloudTrailMetrics"`, `name="action" value="`+topic+`"`)
	form := func(changes ...string) url.Values {
		v := url.Values{"new": {"1"}, "name": {"Console sign-in failures"}, "namespace": {"CloudTrailMetrics"}, "metric": {"ConsoleSigninFailureCount"},
			"statistic": {"Sum"}, "period": {"300"}, "evaluation": {"1"}, "datapoints": {"1"}, "threshold": {"2"},
			"comparison": {"GreaterThanOrEqualToThreshold"}, "treatment": {"notBreaching"}, "action": {topic}, "actionsenabled": {"on"}}
		for i := 0; i+1 < len(changes); i += 2 {
			v.Set(changes[i], changes[i+1])
		}
		return v
	}
	for _, tt := range []struct {
		changes []string
		want    string
	}{
		{[]string{"period", "90"}, "The parameter Period must be a multiple of 60"},
		{[]string{"threshold", "two"}, "Threshold &#34;two&#34; is not a number."},
		{[]string{"statistic", "Median"}, "The value Median for parameter Statistic is not one of"},
		{[]string{"datapoints", "2"}, "The parameter DatapointsToAlarm must be between 1 and EvaluationPeriods (1), got 2."},
		{[]string{"dimensions", "User"}, "Dimension &#34;User&#34;: write one Name=Value per line."},
		{[]string{"otheraction", "topic"}, "The value topic for parameter AlarmActions is not a valid ARN."},
	} {
		wantPage(t, cl.post("/console/alarms/new", "/console/alarms/save", form(tt.changes...)), http.StatusBadRequest, tt.want)
	}
	show := wantRedirect(t, cl.post("/console/alarms/new", "/console/alarms/save", form()), "/console/alarms/show?name=Console+sign-in+failures")
	wantPage(t, cl.post("/console/alarms/new", "/console/alarms/save", form()), http.StatusBadRequest, "already exists")

	// Two failures in five minutes: ALARM, a breaching column above the threshold line.
	m.now = m.now.Add(time.Minute)
	datum := metrics.Datum{Account: testAccount, Region: "us-east-1", Namespace: "CloudTrailMetrics", Name: "ConsoleSigninFailureCount", Time: m.now, Value: 1}
	if err := m.metrics.Put(ctx, []metrics.Datum{datum, datum}); err != nil {
		t.Fatal(err)
	}
	wantPage(t, cl.do("GET", "/console/alarms", nil), http.StatusOK, `<span class="state ALARM">ALARM</span>`, "Sum ≥ 2 for 1 of 1 datapoints within 5 minutes")
	wantPage(t, cl.do("GET", "/console/alarms?state=OK", nil), http.StatusOK, "No alarms in state OK.")
	wantPage(t, cl.do("GET", show, nil), http.StatusOK, `<line class="threshold"`, "Threshold 2", `class="bar bad"`, ": Sum 2</title>",
		"to ALARM</summary>", "Alarm &#34;Console sign-in failures&#34; created")
	wantPage(t, cl.do("GET", show+"&range=5m", nil), http.StatusBadRequest, "Chart range 5m is not one of the choices")

	// Changing the alarm keeps what the form does not show.
	a, _ := m.metrics.Alarm(testAccount, "us-east-1", "Console sign-in failures")
	a.OKActions = []string{topic}
	if err := m.metrics.PutAlarm(ctx, testAccount, "us-east-1", a.AlarmConfig); err != nil {
		t.Fatal(err)
	}
	wantPage(t, cl.do("GET", "/console/alarms/edit?name=Console+sign-in+failures", nil), http.StatusOK, `value="300" selected`, "checked")
	edit := form("new", "", "threshold", "3", "period", "120")
	wantRedirect(t, cl.post(show, "/console/alarms/save", edit), show)
	a, _ = m.metrics.Alarm(testAccount, "us-east-1", "Console sign-in failures")
	if a.Threshold != 3 || a.Period != 120 || len(a.OKActions) != 1 || len(a.AlarmActions) != 1 {
		t.Errorf("after the change: %+v", a.AlarmConfig)
	}
	wantPage(t, cl.do("GET", "/console/alarms/edit?name=Console+sign-in+failures", nil), http.StatusOK, `<option value="120" selected>2 minutes</option>`)

	wantRedirect(t, cl.post(show, "/console/alarms/actions", url.Values{"name": {a.Name}, "back": {show}}), show)
	if a, _ = m.metrics.Alarm(testAccount, "us-east-1", a.Name); a.ActionsEnabled {
		t.Error("actions still enabled")
	}
	wantRedirect(t, cl.post(show, "/console/alarms/actions", url.Values{"name": {a.Name}, "enabled": {"on"}, "back": {"https://evil.example/"}}), "/console/?")
	wantRedirect(t, cl.post(show, "/console/alarms/delete", url.Values{"name": {a.Name}}), "/console/alarms?")
	wantPage(t, cl.do("GET", show, nil), http.StatusNotFound, "does not exist")

	want := "PutMetricAlarm/InvalidParameterValueException PutMetricAlarm/InvalidParameterValueException PutMetricAlarm/InvalidParameterValueException " +
		"PutMetricAlarm/InvalidParameterValueException PutMetricAlarm/ PutMetricAlarm/ DisableAlarmActions/ EnableAlarmActions/ DeleteAlarms/"
	var names []string
	for _, r := range m.audited("monitoring.amazonaws.com", len(strings.Fields(want))) {
		names = append(names, r.EventName+"/"+r.ErrorCode)
	}
	if got := strings.Join(names, " "); got != want {
		t.Errorf("recorded\n%s\nwant\n%s", got, want)
	}
}

func TestTopicPages(t *testing.T) {
	m := newMonitorFixture(t)
	cl := m.signedIn()
	wantPage(t, cl.post("/console/topics", "/console/topics", url.Values{"name": {"sec alerts"}}), http.StatusBadRequest, "Invalid parameter: Topic Name", `value="sec alerts"`)
	page := wantRedirect(t, cl.post("/console/topics", "/console/topics", url.Values{"name": {"sec-alerts"}}), "/console/topics/sec-alerts")
	wantPage(t, cl.do("GET", "/console/topics", nil), http.StatusOK, `href="/console/topics/sec-alerts"`)

	const here = "/console/topics/sec-alerts"
	wantPage(t, cl.post(here, here, url.Values{"action": {"subscribe"}, "protocol": {"email"}, "endpoint": {"secops@example.com"}}), http.StatusBadRequest,
		"email needs an SMTP server")
	wantPage(t, cl.post(here, here, url.Values{"action": {"subscribe"}, "protocol": {"https"}, "endpoint": {"http://hooks.example/sns"}}), http.StatusBadRequest,
		"Endpoint Reason: must be an absolute https:// URL", `value="http://hooks.example/sns"`)
	wantRedirect(t, cl.post(here, here, url.Values{"action": {"subscribe"}, "protocol": {"https"}, "endpoint": {"https://hooks.example/sns"}}), here)
	w := cl.do("GET", page, nil)
	wantPage(t, w, http.StatusOK, "https://hooks.example/sns", "Pending confirmation", "0 confirmed, 1 pending")
	subs, _, err := m.notify.TopicSubscriptions(context.Background(), notify.Caller{Account: testAccount, Region: "us-east-1"}, "arn:aws:sns:us-east-1:"+testAccount+":sec-alerts", "")
	if err != nil || len(subs) != 1 || !subs[0].Pending {
		t.Fatalf("subscriptions %+v, %v", subs, err)
	}
	// A pending subscription can be removed from the console (the API's lists hide its ARN).
	wantRedirect(t, cl.post(here, here, url.Values{"action": {"unsubscribe"}, "subscription": {subs[0].ARN}, "endpoint": {subs[0].Endpoint}}), here)
	wantPage(t, cl.do("GET", here, nil), http.StatusOK, "No subscriptions")
	wantPage(t, cl.post(here, here, url.Values{"action": {"unsubscribe"}, "subscription": {subs[0].ARN}}), http.StatusNotFound, "Subscription does not exist")
	wantRedirect(t, cl.post(here, here, url.Values{"action": {"delete"}}), "/console/topics?")
	wantPage(t, cl.do("GET", here, nil), http.StatusNotFound, "Topic does not exist")

	want := "CreateTopic/InvalidParameter CreateTopic/ Subscribe/InvalidParameter Subscribe/InvalidParameter Subscribe/ Unsubscribe/ Unsubscribe/NotFound DeleteTopic/"
	var names []string
	for _, r := range m.audited("sns.amazonaws.com", len(strings.Fields(want))) {
		names = append(names, r.EventName+"/"+r.ErrorCode)
	}
	if got := strings.Join(names, " "); got != want {
		t.Errorf("recorded\n%s\nwant\n%s", got, want)
	}
}

// Without the services, the pages and their navigation are absent.
func TestMonitorPagesHidden(t *testing.T) {
	f := newFixture(t)
	cl := f.client()
	cl.signIn(testPassword)
	w := cl.do("GET", "/console/nowhere", nil)
	for _, p := range []string{"loggroups", "alarms", "topics"} {
		if strings.Contains(w.Body.String(), `href="/console/`+p+`"`) {
			t.Errorf("navigation links to %s", p)
		}
		if w := cl.do("GET", "/console/"+p, nil); w.Code != http.StatusNotFound {
			t.Errorf("GET /console/%s: %d", p, w.Code)
		}
	}
}

func TestColumnsThreshold(t *testing.T) {
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	threshold := 2.0
	tests := []struct {
		name      string
		values    []float64
		top, bott string
		lineY     float64
	}{
		{"threshold above the data", []float64{0, 1}, "2", "0", 12},
		{"threshold inside", []float64{4, 1}, "4", "0", 92},
		{"negative values", []float64{-2, 2}, "2", "-2", 12},
		{"no data", nil, "2", "0", 12},
	}
	for _, tt := range tests {
		var cols []column
		for i, v := range tt.values {
			cols = append(cols, column{Start: start.Add(time.Duration(i) * time.Minute), Value: v, Present: true})
		}
		c := columns("x", cols, time.Minute, &threshold)
		if c.Top != tt.top || c.Bottom != tt.bott || c.Threshold == nil || c.Threshold.Y != tt.lineY {
			t.Errorf("%s: top %s bottom %s threshold %+v", tt.name, c.Top, c.Bottom, c.Threshold)
		}
		for _, b := range c.Bars {
			if b.Y < 0 || b.Y+b.H > float64(c.Base)+0.001 {
				t.Errorf("%s: bar %+v outside the chart", tt.name, b)
			}
		}
	}
}
