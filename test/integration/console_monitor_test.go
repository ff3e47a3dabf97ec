package integration

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/cairn-dev/cairn/internal/cairntest"
)

// browse runs chromedp actions, failing the test with what was being done.
func browse(t *testing.T, ctx context.Context, what string, actions ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	if err := chromedp.Do(ctx, actions...); err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

// flash returns the page's flash banner, failing the test on an alert instead.
func flash(t *testing.T, ctx context.Context, what string) string {
	t.Helper()
	text, err := chromedp.Run(ctx, chromedp.Evaluate[string](`(document.querySelector('.alert') ? 'ALERT: ' + document.querySelector('.alert').textContent : (document.querySelector('.flash') || {textContent: ''}).textContent)`))
	if err != nil || strings.HasPrefix(text, "ALERT: ") {
		t.Fatalf("%s: %s %v", what, text, err)
	}
	return text
}

// Scenario 3 built and watched in the console, in a real browser: a log group, a trail feeding
// it, the metric filter and the alarm, all made through the console's forms; two failed
// sign-ins through the sign-in form; after signing in, the alarms page shows the alarm in ALARM
// and its page charts the breaching period against the threshold line.
func TestConsoleMonitoringInChromium(t *testing.T) {
	s := cairntest.Start(t)
	ctx := browser(t)
	if alert := signIn(t, ctx, s, cairntest.ConsolePassword); alert != "" {
		t.Fatalf("sign in: %s", alert)
	}

	const group = "CloudTrail/DefaultLogGroup"
	browse(t, ctx, "create the log group",
		chromedp.Navigate(s.Endpoint+"/console/loggroups"),
		chromedp.WaitVisible(chromedp.CSS(`#name`)),
		chromedp.SendKeys(chromedp.CSS(`#name`), group),
		chromedp.SetValue(chromedp.CSS(`#retention`), "90"),
		submit(`#name`),
		chromedp.WaitVisible(chromedp.CSS(`.flash`)),
	)
	if f := flash(t, ctx, "create the log group"); !strings.Contains(f, "Created log group "+group) {
		t.Errorf("after creating the log group: %q", f)
	}

	browse(t, ctx, "create the trail",
		chromedp.Navigate(s.Endpoint+"/console/trails/new"),
		chromedp.WaitVisible(chromedp.CSS(`#name`)),
		chromedp.SendKeys(chromedp.CSS(`#name`), "management-events"),
		chromedp.SendKeys(chromedp.CSS(`#bucket`), "monitoring-trail-bucket"),
		chromedp.SendKeys(chromedp.CSS(`#loggroup`), "arn:aws:logs:"+cairntest.Region+":"+cairntest.AccountID+":log-group:"+group+":*"),
		chromedp.SendKeys(chromedp.CSS(`#logsrole`), "arn:aws:iam::"+cairntest.AccountID+":role/CloudTrail_CloudWatchLogs_Role"),
		submit(`#bucket`),
		chromedp.WaitVisible(chromedp.CSS(`.flash`)),
	)
	flash(t, ctx, "create the trail")

	// A pattern with a syntax error is refused with internal/pattern's report; then the right one.
	metricFilter := func(pattern string) {
		browse(t, ctx, "submit the metric filter",
			chromedp.Navigate(s.Endpoint+"/console/loggroups/"+group),
			chromedp.WaitVisible(chromedp.CSS(`#filter`)),
			chromedp.SendKeys(chromedp.CSS(`#filter`), "ConsoleSignInFailures"),
			chromedp.SetValue(chromedp.CSS(`#pattern`), pattern),
			chromedp.SendKeys(chromedp.CSS(`#namespace`), "CloudTrailMetrics"),
			chromedp.SendKeys(chromedp.CSS(`#metric`), "ConsoleSigninFailureCount"),
			submit(`#filter`),
			chromedp.WaitReady(chromedp.CSS(`h1`)),
		)
	}
	metricFilter(strings.TrimSuffix(signInFailures, " }"))
	alert, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(`#create-filter .alert`)))
	if err != nil || !strings.Contains(alert, "invalid filter pattern") {
		t.Errorf("a pattern without its closing brace: alert %q, %v", alert, err)
	}
	metricFilter(signInFailures)
	flash(t, ctx, "create the metric filter")

	// The filter's "Create alarm" link fills in its metric.
	browse(t, ctx, "create the alarm",
		chromedp.Click(chromedp.CSS(`a[href^="/console/alarms/new"]`)),
		chromedp.WaitVisible(chromedp.CSS(`#name`)),
		chromedp.SendKeys(chromedp.CSS(`#name`), "Console sign-in failures"),
		chromedp.SetValue(chromedp.CSS(`#threshold`), "2"),
		chromedp.SetValue(chromedp.CSS(`#period`), "300"),
		chromedp.SetValue(chromedp.CSS(`#statistic`), "Sum"),
		chromedp.SetValue(chromedp.CSS(`#comparison`), "GreaterThanOrEqualToThreshold"),
		chromedp.SendKeys(chromedp.CSS(`#description`), "Raises alarms if more than 2 console sign-in failures occur in 5 minutes"),
		submit(`#name`),
		chromedp.WaitVisible(chromedp.CSS(`.flash`)),
	)
	flash(t, ctx, "create the alarm")
	metric, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(`dl.kv`)))
	if err != nil || !strings.Contains(metric, "CloudTrailMetrics / ConsoleSigninFailureCount") || !strings.Contains(metric, "Sum ≥ 2 for 1 of 1 datapoints within 5 minutes") {
		t.Errorf("the alarm's configuration: %q, %v", metric, err)
	}

	// Two failed sign-ins through the form, then the right password.
	browse(t, ctx, "sign out", chromedp.Click(chromedp.CSS(`header form button`)), chromedp.WaitVisible(chromedp.CSS(`#password`)))
	for i := range 2 {
		if alert := signIn(t, ctx, s, "not-the-password"); !strings.Contains(alert, "authentication information is incorrect") {
			t.Fatalf("failed sign-in %d: alert %q", i+1, alert)
		}
	}
	if alert := signIn(t, ctx, s, cairntest.ConsolePassword); alert != "" {
		t.Fatalf("sign in: %s", alert)
	}

	// The trail feeds the failures to the log group; the filter counts them; the alarm fires.
	var state string
	cairntest.WaitFor(t, 60*time.Second, "the alarm in ALARM on the alarms page", func() bool {
		browse(t, ctx, "open the alarms page", chromedp.Navigate(s.Endpoint+"/console/alarms"), chromedp.WaitVisible(chromedp.CSS(`table`)))
		state, err = chromedp.Run(ctx, chromedp.Text(chromedp.CSS(`table tbody tr td .state`)))
		return err == nil && state == "ALARM"
	})
	cls, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.querySelector('table tbody tr td .state').className`))
	if err != nil || cls != "state ALARM" {
		t.Errorf("state badge class %q, %v", cls, err)
	}

	browse(t, ctx, "open the alarm",
		chromedp.Click(chromedp.CSS(`table tbody tr td a`)),
		chromedp.WaitVisible(chromedp.CSS(`svg.chart`)),
	)
	chart, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](`[document.querySelectorAll('svg.chart line.threshold').length + '',
		document.querySelectorAll('svg.chart rect.bar.bad').length + '', document.querySelector('svg.chart text.threshold').textContent,
		[...document.querySelectorAll('table tbody td details summary')].map(s => s.textContent).join('|')]`))
	if err != nil {
		t.Fatal(err)
	}
	if chart[0] != "1" || chart[1] == "0" || chart[2] != "Threshold 2" || !strings.Contains(chart[3], "to ALARM") {
		t.Errorf("alarm page: threshold lines %s, breaching bars %s, label %q, history %q", chart[0], chart[1], chart[2], chart[3])
	}
}
