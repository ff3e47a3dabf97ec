package integration

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/cairn-dev/cairn/internal/cairntest"
	"github.com/cairn-dev/cairn/internal/notify"
)

// Scenario 3 end to end, as a user follows it with the aws CLI only: a trail with a bucket,
// log file validation and a log group; the metric filter; a topic with an HTTPS subscription
// (an endpoint that verifies every signature) and a confirmed email subscription; the alarm.
// The sign-ins are real: a browser-like client posts cairn's own console sign-in form, which
// records every attempt as a ConsoleLogin event. One failed sign-in raises nothing; the second
// within five minutes puts the alarm in ALARM and the notification, naming the alarm, reaches
// the endpoint and the mailbox.
func TestScenario3FailedSignInsEndToEnd(t *testing.T) {
	awsBin := cairntest.Tool(t, "aws")
	s, ep, mb := startSNS(t)
	cli := func(out any, args ...string) { t.Helper(); awsCLI(t, s, awsBin, out, args...) }

	// 1. The trail, with a new bucket, validation on, and a new log group.
	const group = "CloudTrail/DefaultLogGroup"
	cli(nil, "logs", "create-log-group", "--log-group-name", group)
	cli(nil, "cloudtrail", "create-trail", "--name", "management-events", "--s3-bucket-name", "scenario3-trail-bucket",
		"--is-multi-region-trail", "--enable-log-file-validation",
		"--cloud-watch-logs-log-group-arn", fmt.Sprintf("arn:aws:logs:%s:%s:log-group:%s:*", cairntest.Region, cairntest.AccountID, group),
		"--cloud-watch-logs-role-arn", "arn:aws:iam::"+cairntest.AccountID+":role/CloudTrail_CloudWatchLogs_Role")
	cli(nil, "cloudtrail", "start-logging", "--name", "management-events")

	// 2. The metric filter.
	cli(nil, "logs", "put-metric-filter", "--log-group-name", group, "--filter-name", "ConsoleSignInFailures",
		"--filter-pattern", signInFailures,
		"--metric-transformations", "metricName=ConsoleSigninFailureCount,metricNamespace=CloudTrailMetrics,metricValue=1")

	// 4. The topic, an HTTPS subscription (the endpoint confirms by visiting SubscribeURL) and an
	// email subscription confirmed through the link in its mail.
	var topic struct{ TopicArn string }
	cli(&topic, "sns", "create-topic", "--name", "sec-alerts")
	cli(nil, "sns", "subscribe", "--topic-arn", topic.TopicArn, "--protocol", "https", "--notification-endpoint", ep.URL)
	cli(nil, "sns", "subscribe", "--topic-arn", topic.TopicArn, "--protocol", "email", "--notification-endpoint", "secops@example.com")
	confirmation := mb.Await(t, "secops@example.com", "Subscription Confirmation")
	resp, err := http.Get(linkRE.FindString(confirmation.Body))
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("following the confirmation link: %v %v", err, resp)
	}
	resp.Body.Close()
	cairntest.WaitFor(t, 30*time.Second, "both subscriptions confirmed", func() bool {
		var attrs struct{ Attributes map[string]string }
		cli(&attrs, "sns", "get-topic-attributes", "--topic-arn", topic.TopicArn)
		return attrs.Attributes["SubscriptionsConfirmed"] == "2"
	})

	// 3. The alarm.
	const alarm = "Console sign-in failures"
	cli(nil, "cloudwatch", "put-metric-alarm", "--alarm-name", alarm,
		"--alarm-description", "Raises alarms if more than 2 console sign-in failures occur in 5 minutes",
		"--namespace", "CloudTrailMetrics", "--metric-name", "ConsoleSigninFailureCount", "--statistic", "Sum",
		"--period", "300", "--evaluation-periods", "1", "--threshold", "2", "--comparison-operator", "GreaterThanOrEqualToThreshold",
		"--treat-missing-data", "notBreaching", "--alarm-actions", topic.TopicArn)
	state := func() string {
		var out struct{ MetricAlarms []struct{ StateValue string } }
		cli(&out, "cloudwatch", "describe-alarms", "--alarm-names", alarm)
		if len(out.MetricAlarms) != 1 {
			t.Fatalf("describe-alarms: %+v", out)
		}
		return out.MetricAlarms[0].StateValue
	}
	sum := func() float64 {
		var out struct{ Datapoints []struct{ Sum float64 } }
		now := time.Now().UTC()
		cli(&out, "cloudwatch", "get-metric-statistics", "--namespace", "CloudTrailMetrics", "--metric-name", "ConsoleSigninFailureCount",
			"--start-time", now.Add(-time.Hour).Format(time.RFC3339), "--end-time", now.Add(time.Hour).Format(time.RFC3339),
			"--period", "7200", "--statistics", "Sum")
		total := 0.0
		for _, d := range out.Datapoints {
			total += d.Sum
		}
		return total
	}
	notifications := func() (n []*notify.Message) {
		for _, m := range ep.Messages() {
			if m.Type == notify.TypeNotification {
				n = append(n, m)
			}
		}
		return n
	}

	// 5. A successful sign-in and one failed one: below the threshold, no alarm.
	consoleSignIn(t, s, cairntest.ConsolePassword, true)
	consoleSignIn(t, s, "not the password", false)
	cairntest.WaitFor(t, 30*time.Second, "the first failure counted by the metric filter", func() bool { return sum() == 1 })
	time.Sleep(time.Second) // room for a wrong notification to arrive
	if st := state(); st == "ALARM" {
		t.Fatalf("one failure put the alarm in %s", st)
	}
	if n := notifications(); len(n) != 0 {
		t.Fatalf("one failure sent %d notifications", len(n))
	}

	// The second failure within five minutes: ALARM, and the notification arrives signed.
	consoleSignIn(t, s, "still not the password", false)
	n := ep.Await(notify.TypeNotification, nil)
	var msg struct {
		AlarmName, AlarmDescription, NewStateValue, OldStateValue, NewStateReason string
		Trigger                                                                   struct{ MetricName, Namespace, Statistic string }
	}
	if err := json.Unmarshal([]byte(n.Message), &msg); err != nil {
		t.Fatalf("notification message is not CloudWatch's JSON: %v\n%s", err, n.Message)
	}
	if msg.AlarmName != alarm || msg.NewStateValue != "ALARM" || msg.Trigger.MetricName != "ConsoleSigninFailureCount" ||
		msg.Trigger.Namespace != "CloudTrailMetrics" || !strings.Contains(msg.AlarmDescription, "more than 2 console sign-in failures") {
		t.Errorf("notification %+v", msg)
	}
	if n.TopicArn != topic.TopicArn || !strings.HasPrefix(n.Subject, `ALARM: "Console sign-in failures" in `) {
		t.Errorf("notification envelope: topic %s subject %q", n.TopicArn, n.Subject)
	}
	if st := state(); st != "ALARM" {
		t.Errorf("alarm state %s after two failures", st)
	}
	m := mb.Await(t, "secops@example.com", alarm)
	if !strings.Contains(m.Body, alarm) {
		t.Errorf("alarm mail body %q", m.Body)
	}
	if got := len(notifications()); got != 1 {
		t.Errorf("%d notifications at the endpoint, want 1", got)
	}

	// The chain's ConsoleLogin failures are in event history too.
	var events struct{ Events []struct{ EventID string } }
	cli(&events, "cloudtrail", "lookup-events", "--lookup-attributes", "AttributeKey=EventName,AttributeValue=ConsoleLogin")
	if len(events.Events) != 3 {
		t.Errorf("lookup-events found %d ConsoleLogin events, want 3", len(events.Events))
	}
}

var csrfRE = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

// consoleSignIn posts the console's sign-in form for the root user as a browser would (cookie jar,
// CSRF token from the form) and checks the outcome.
func consoleSignIn(t *testing.T, s *cairntest.Server, password string, wantOK bool) {
	t.Helper()
	jar, _ := cookiejar.New(nil)
	hc := &http.Client{Jar: jar}
	page, err := hc.Get(s.Endpoint + "/console/signin")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(page.Body)
	page.Body.Close()
	m := csrfRE.FindSubmatch(body)
	if m == nil {
		t.Fatalf("no CSRF token in the sign-in page:\n%s", body)
	}
	resp, err := hc.PostForm(s.Endpoint+"/console/signin", url.Values{"csrf": {string(m[1])}, "next": {"/console/"},
		"account": {cairntest.AccountID}, "user": {"root"}, "password": {password}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	signedIn := false
	for _, c := range jar.Cookies(resp.Request.URL) {
		signedIn = signedIn || strings.Contains(strings.ToLower(c.Name), "session") && c.Value != ""
	}
	if signedIn != wantOK {
		t.Fatalf("sign-in with password %q: signed in %v, want %v (final page %s, HTTP %d)", password, signedIn, wantOK, resp.Request.URL, resp.StatusCode)
	}
}
