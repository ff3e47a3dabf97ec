package integration

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/cloudtrail"
	"github.com/chromedp/chromedp"

	"github.com/cairn-dev/cairn/internal/cairntest"
	"github.com/cairn-dev/cairn/internal/notify"
)

// TestScreenshots regenerates docs/screenshots (make screenshots): every console page at
// 1280×800 against a demo server. It runs only when CAIRN_SCREENSHOTS names the directory.
func TestScreenshots(t *testing.T) {
	dir := os.Getenv("CAIRN_SCREENSHOTS")
	if dir == "" {
		t.Skip("set CAIRN_SCREENSHOTS to a directory to regenerate the console's screenshots")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	// An SNS endpoint and a mailbox, so the topic page has confirmed and pending subscriptions.
	ep := cairntest.NewSNSEndpoint(t)
	mb := cairntest.NewMailbox(t)
	s := cairntest.Start(t, "--demo", "--smtp-addr", mb.Addr, "--smtp-from", "alerts@cairn.test", "--sns-endpoint-ca", ep.CAFile)
	ep.CairnHost = s.Addr
	ctx := browser(t)
	if err := chromedp.Do(ctx, chromedp.EmulateViewport(1280, 800)); err != nil {
		t.Fatal(err)
	}
	shot := func(name, path string, wait string) {
		t.Helper()
		if err := chromedp.Do(ctx, chromedp.Navigate(s.Endpoint+path), chromedp.WaitVisible(chromedp.CSS(wait))); err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		png, err := chromedp.Run(ctx, chromedp.CaptureScreenshot())
		if err != nil {
			t.Fatalf("screenshot of %s: %v", path, err)
		}
		if err := os.WriteFile(filepath.Join(dir, name+".png"), png, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	shot("signin", "/console/signin", "#account")
	signIn(t, ctx, s, "a-wrong-password")
	signIn(t, ctx, s, "another-wrong-one")
	if alert := signIn(t, ctx, s, cairntest.ConsolePassword); alert != "" {
		t.Fatalf("sign in: %s", alert)
	}
	// The demo's day of backfill is indexed within seconds.
	cairntest.WaitFor(t, 30*time.Second, "demo events in history", func() bool {
		if err := chromedp.Do(ctx, chromedp.Navigate(s.Endpoint+"/console/events"), chromedp.WaitVisible(chromedp.CSS(`h1`))); err != nil {
			t.Fatal(err)
		}
		n, err := chromedp.Run(ctx, chromedp.Evaluate[int](`document.querySelectorAll('table tbody tr').length`))
		if err != nil {
			t.Logf("counting events: %v", err)
		}
		return err == nil && n > 40
	})
	// A trail, so the trails page has one.
	err := chromedp.Do(ctx,
		chromedp.Navigate(s.Endpoint+"/console/trails/new"),
		chromedp.WaitVisible(chromedp.CSS(`#name`)),
		chromedp.SendKeys(chromedp.CSS(`#name`), "management-events"),
		chromedp.SendKeys(chromedp.CSS(`#bucket`), "audit-logs-111122223333"),
		submit(`#bucket`),
		chromedp.WaitVisible(chromedp.CSS(`.flash`)),
	)
	if err != nil {
		t.Fatal(err)
	}
	shot("dashboard", "/console/", "svg.chart")
	shot("event-history", "/console/events", "table")
	shot("event-history-filtered", "/console/events?EventName=ConsoleLogin", "table")
	id, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.querySelector('table tbody tr td a').getAttribute('href')`))
	if err != nil {
		t.Fatal(err)
	}
	shot("event-detail", id, "pre.json")
	shot("trails", "/console/trails", "table")
	shot("trail-create", "/console/trails/new", "#name")
	shot("trail-edit", "/console/trails/management-events", "#bucket")

	// An event data store of the demo's live management events (leaving out the calls made here,
	// as root), and the seed scenario's query over it.
	shot("lake-store-create", "/console/lake/stores/new", "#selectors")
	err = chromedp.Do(ctx,
		chromedp.SendKeys(chromedp.CSS(`#name`), "security-lake"),
		chromedp.SetValue(chromedp.CSS(`#selectors`), `[{"Name": "Management events of the workloads", "FieldSelectors": [`+
			`{"Field": "eventCategory", "Equals": ["Management"]}, {"Field": "userIdentity.arn", "NotEquals": ["arn:aws:iam::`+cairntest.AccountID+`:root"]}]}]`),
		submit(`#name`),
		chromedp.WaitVisible(chromedp.CSS(`.flash`)),
	)
	if err != nil {
		t.Fatal(err)
	}
	store, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.querySelector('table tbody tr .small').textContent.trim()`))
	if err != nil {
		t.Fatal(err)
	}
	c := cloudtrail.NewFromConfig(s.AWSConfig())
	cairntest.WaitFor(t, 2*time.Minute, "demo events in the store", func() bool {
		_, rows, err := sdkQuery(context.Background(), c, "SELECT count(*) FROM "+store)
		n, _ := strconv.Atoi(firstCell(rows))
		time.Sleep(time.Second) // each query is a few calls; the console's history shows them
		return err == nil && n >= 30
	})
	shot("lake-stores", "/console/lake/stores", "table")
	shot("lake-store", "/console/lake/stores/"+store, "#selectors")
	// Two samples, then the seed's query (the editor's default), so the history has some.
	for _, q := range []string{"&sample=4", "&sample=1", ""} {
		err = chromedp.Do(ctx,
			chromedp.Navigate(s.Endpoint+"/console/lake?store="+store+q),
			chromedp.WaitVisible(chromedp.CSS(`#sql`)),
			chromedp.Click(chromedp.CSS(`form[action="/console/lake/queries"] button[type=submit]`)),
			chromedp.WaitVisible(chromedp.CSS(`table.results`)),
		)
		if err != nil {
			t.Fatal(err)
		}
	}
	results, err := chromedp.Run(ctx, chromedp.Location())
	if err != nil {
		t.Fatal(err)
	}
	shot("lake-results", strings.TrimPrefix(results, s.Endpoint), "table.results")
	shot("lake", "/console/lake?store="+store, "#sql")
	monitoring(t, ctx, s, ep)
	shot("log-groups", "/console/loggroups", "table")
	shot("log-group", "/console/loggroups/CloudTrail/DefaultLogGroup", "table")
	shot("topics", "/console/topics", "table")
	shot("topic", "/console/topics/security-alerts", "table")
	shot("alarms", "/console/alarms", "table")
	shot("alarm", "/console/alarms/show?name=Console+sign-in+failures", "svg.chart")
	shot("alarm-edit", "/console/alarms/edit?name=Console+sign-in+failures", "#threshold")
}

func firstCell(rows [][]string) string {
	if len(rows) == 0 || len(rows[0]) == 0 {
		return ""
	}
	return rows[0][0]
}

// monitoring sets up what the monitoring pages show: log groups with the CIS pack and the
// failed sign-ins filter (made in the console), a topic with a confirmed HTTPS and a pending
// email subscription, and alarms in each state, one with three hours of metric data.
func monitoring(t *testing.T, ctx context.Context, s *cairntest.Server, ep *cairntest.SNSEndpoint) {
	t.Helper()
	for _, g := range []string{"CloudTrail/DefaultLogGroup", "app/api-access"} {
		browse(t, ctx, "create log group "+g,
			chromedp.Navigate(s.Endpoint+"/console/loggroups"),
			chromedp.WaitVisible(chromedp.CSS(`#name`)),
			chromedp.SendKeys(chromedp.CSS(`#name`), g),
			chromedp.SetValue(chromedp.CSS(`#retention`), "365"),
			submit(`#name`),
			chromedp.WaitVisible(chromedp.CSS(`.flash`)),
		)
	}
	browse(t, ctx, "install the CIS pack",
		chromedp.Navigate(s.Endpoint+"/console/loggroups/CloudTrail/DefaultLogGroup"),
		chromedp.WaitVisible(chromedp.CSS(`#cis-namespace`)),
		submit(`#cis-namespace`),
		chromedp.WaitVisible(chromedp.CSS(`.flash`)),
		chromedp.SendKeys(chromedp.CSS(`#filter`), "ConsoleSignInFailures"),
		chromedp.SetValue(chromedp.CSS(`#pattern`), signInFailures),
		chromedp.SendKeys(chromedp.CSS(`#namespace`), "CloudTrailMetrics"),
		chromedp.SendKeys(chromedp.CSS(`#metric`), "ConsoleSigninFailureCount"),
		submit(`#filter`),
		chromedp.WaitVisible(chromedp.CSS(`.flash`)),
	)
	aws := cairntest.Tool(t, "aws")
	cli := func(out any, args ...string) { t.Helper(); awsCLI(t, s, aws, out, args...) }
	var topic struct{ TopicArn string }
	cli(&topic, "sns", "create-topic", "--name", "security-alerts")
	cli(nil, "sns", "create-topic", "--name", "ops-pager")
	cli(nil, "sns", "subscribe", "--topic-arn", topic.TopicArn, "--protocol", "https", "--notification-endpoint", ep.URL)
	cli(nil, "sns", "subscribe", "--topic-arn", topic.TopicArn, "--protocol", "email", "--notification-endpoint", "secops@example.com")
	cairntest.WaitFor(t, 30*time.Second, "the HTTPS subscription confirmed", func() bool {
		var attrs struct{ Attributes map[string]string }
		cli(&attrs, "sns", "get-topic-attributes", "--topic-arn", topic.TopicArn)
		return attrs.Attributes["SubscriptionsConfirmed"] == "1"
	})
	alarm := func(name, namespace, metric, threshold, missing string, actions ...string) {
		args := []string{"cloudwatch", "put-metric-alarm", "--alarm-name", name, "--namespace", namespace, "--metric-name", metric,
			"--statistic", "Sum", "--period", "300", "--evaluation-periods", "1", "--threshold", threshold,
			"--comparison-operator", "GreaterThanOrEqualToThreshold", "--treat-missing-data", missing}
		if len(actions) > 0 {
			args = append(args, "--alarm-actions")
			args = append(args, actions...)
		}
		cli(nil, args...)
	}
	alarm("Console sign-in failures", "CloudTrailMetrics", "ConsoleSigninFailureCount", "2", "notBreaching", topic.TopicArn)
	alarm("CIS 4.3 root account usage", "CISBenchmark", "RootAccountUsage", "1", "notBreaching", topic.TopicArn)
	alarm("CIS 4.1 unauthorized API calls", "CISBenchmark", "UnauthorizedAPICalls", "5", "missing")
	// Three hours of failed sign-ins, a few now and then and three in the last five minutes.
	var data []map[string]any
	now := time.Now().UTC()
	for i, n := range []int{1, 0, 0, 1, 0, 2, 0, 0, 0, 1, 0, 0, 1, 1, 0, 0, 0, 0, 1, 0, 0, 1, 0, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 3} {
		if n > 0 {
			data = append(data, map[string]any{"MetricName": "ConsoleSigninFailureCount", "Value": n,
				"Timestamp": now.Add(-time.Duration(34-i) * 5 * time.Minute).Format(time.RFC3339)})
		}
	}
	b, _ := json.Marshal(data)
	cli(nil, "cloudwatch", "put-metric-data", "--namespace", "CloudTrailMetrics", "--metric-data", string(b))
	ep.Await(notify.TypeNotification, nil)
}
