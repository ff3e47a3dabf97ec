package integration

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	"github.com/aws/aws-sdk-go-v2/service/sns/types"

	"github.com/cairn-dev/cairn/internal/cairntest"
	"github.com/cairn-dev/cairn/internal/notify"
)

// startSNS starts cairn with an SMTP mailbox and trusting the HTTPS endpoint's certificate.
func startSNS(t *testing.T) (*cairntest.Server, *cairntest.SNSEndpoint, *cairntest.Mailbox) {
	ep := cairntest.NewSNSEndpoint(t)
	mb := cairntest.NewMailbox(t)
	s := cairntest.Start(t, "--smtp-addr", mb.Addr, "--smtp-from", "alerts@cairn.test", "--sns-endpoint-ca", ep.CAFile)
	ep.CairnHost = s.Addr
	return s, ep, mb
}

// awsCLI runs an aws CLI (v1 from PATH, or Debian's v2 at /usr/bin/aws) against s and decodes
// its JSON output into out (when not nil).
func awsCLI(t *testing.T, s *cairntest.Server, bin string, out any, args ...string) {
	t.Helper()
	// The v1 CLI fetches parameters that look like URLs (an http endpoint) unless told not to.
	cfg := filepath.Join(t.TempDir(), "config")
	os.WriteFile(cfg, []byte("[default]\ncli_follow_urlparam = false\n"), 0o644)
	full := append([]string{"--endpoint-url", s.Endpoint, "--output", "json"}, args...)
	cmd := exec.Command(bin, full...)
	cmd.Env = append(s.Env(), "AWS_CONFIG_FILE="+cfg)
	b, err := cmd.Output()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", bin, strings.Join(args, " "), err, stderrOf(err))
	}
	if out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			t.Fatalf("%s %s: output %q: %v", bin, strings.Join(args, " "), b, err)
		}
	}
}

var linkRE = regexp.MustCompile(`http://\S+`)

// The monitoring chain's SNS half with the aws CLI: a topic, an HTTPS subscription confirmed
// by the endpoint visiting SubscribeURL, an email subscription confirmed through the link in
// its mail, then a Publish that reaches both, signed, and shows in the delivery counters.
func TestSNSWithAWSCLI(t *testing.T) {
	awsBin := cairntest.Tool(t, "aws")
	s, ep, mb := startSNS(t)

	var topic struct{ TopicArn string }
	awsCLI(t, s, awsBin, &topic, "sns", "create-topic", "--name", "sec-alerts", "--attributes", "DisplayName=Security")
	if topic.TopicArn != "arn:aws:sns:us-east-1:"+cairntest.AccountID+":sec-alerts" {
		t.Fatalf("TopicArn %q", topic.TopicArn)
	}
	var again struct{ TopicArn string }
	awsCLI(t, s, awsBin, &again, "sns", "create-topic", "--name", "sec-alerts")
	if again != topic {
		t.Fatalf("CreateTopic is not idempotent: %q", again.TopicArn)
	}

	var sub struct{ SubscriptionArn string }
	awsCLI(t, s, awsBin, &sub, "sns", "subscribe", "--topic-arn", topic.TopicArn, "--protocol", "https", "--notification-endpoint", ep.URL)
	if sub.SubscriptionArn != "pending confirmation" {
		t.Errorf("Subscribe returned %q, want pending confirmation", sub.SubscriptionArn)
	}
	conf := ep.Await(notify.TypeSubscriptionConfirmation, nil)
	if !strings.HasPrefix(conf.Message, "You have chosen to subscribe to the topic "+topic.TopicArn) || conf.Token == "" || conf.SignatureVersion != "1" {
		t.Errorf("confirmation %+v", conf)
	}
	var list struct {
		Subscriptions []struct{ SubscriptionArn, Protocol, Endpoint, TopicArn, Owner string }
	}
	cairntest.WaitFor(t, 10*time.Second, "the HTTPS subscription to be confirmed", func() bool {
		awsCLI(t, s, awsBin, &list, "sns", "list-subscriptions-by-topic", "--topic-arn", topic.TopicArn)
		return len(list.Subscriptions) == 1 && strings.HasPrefix(list.Subscriptions[0].SubscriptionArn, topic.TopicArn+":")
	})
	httpsSub := list.Subscriptions[0].SubscriptionArn

	awsCLI(t, s, awsBin, &sub, "sns", "subscribe", "--topic-arn", topic.TopicArn, "--protocol", "email", "--notification-endpoint", "oncall@example.com")
	confMail := mb.Await(t, "oncall@example.com", "Subscription Confirmation")
	if !strings.Contains(confMail.Header.Get("From"), "Security") || !strings.Contains(confMail.Body, topic.TopicArn) {
		t.Errorf("confirmation mail %+v", confMail)
	}
	// A person follows the link in a browser.
	link := linkRE.FindString(confMail.Body)
	req, _ := http.NewRequest(http.MethodGet, link, nil)
	req.Header.Set("Accept", "text/html,application/xhtml+xml")
	resp, err := http.DefaultClient.Do(req)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("visiting the mail's link %q: %v %v", link, err, resp)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(page), "Subscription confirmed!") {
		t.Errorf("confirmation page %s", page)
	}

	var attrs struct{ Attributes map[string]string }
	awsCLI(t, s, awsBin, &attrs, "sns", "get-topic-attributes", "--topic-arn", topic.TopicArn)
	if attrs.Attributes["SubscriptionsConfirmed"] != "2" || attrs.Attributes["SubscriptionsPending"] != "0" || attrs.Attributes["DisplayName"] != "Security" {
		t.Errorf("topic attributes %v", attrs.Attributes)
	}

	var pub struct{ MessageId string }
	awsCLI(t, s, awsBin, &pub, "sns", "publish", "--topic-arn", topic.TopicArn, "--subject", `ALARM: "Console sign-in failures" in US East (N. Virginia)`, "--message", `{"AlarmName":"Console sign-in failures"}`)
	n := ep.Await(notify.TypeNotification, func(m *notify.Message) bool { return m.MessageID == pub.MessageId })
	if n.Subject != `ALARM: "Console sign-in failures" in US East (N. Virginia)` || n.Message != `{"AlarmName":"Console sign-in failures"}` ||
		!strings.Contains(n.UnsubscribeURL, url.QueryEscape(httpsSub)) {
		t.Errorf("notification %+v", n)
	}
	m := mb.Await(t, "oncall@example.com", "Console sign-in failures")
	if !strings.HasPrefix(m.Body, `{"AlarmName":"Console sign-in failures"}`+"\n\n--\nIf you wish to stop receiving notifications") {
		t.Errorf("notification mail body %q", m.Body)
	}

	var subAttrs struct{ Attributes map[string]string }
	cairntest.WaitFor(t, 10*time.Second, "delivery outcome in the subscription attributes", func() bool {
		awsCLI(t, s, awsBin, &subAttrs, "sns", "get-subscription-attributes", "--subscription-arn", httpsSub)
		return subAttrs.Attributes["DeliveriesSucceeded"] == "2" // the confirmation and the notification
	})
	if !strings.HasPrefix(subAttrs.Attributes["LastDeliveryOutcome"], "delivered: HTTP 200") || subAttrs.Attributes["PendingConfirmation"] != "false" {
		t.Errorf("subscription attributes %v", subAttrs.Attributes)
	}

	// Wrong input names the member.
	cmd := exec.Command(awsBin, "--endpoint-url", s.Endpoint, "sns", "publish", "--topic-arn", topic.TopicArn, "--message", "x", "--subject", "line\nbreak")
	cmd.Env = s.Env()
	out, err := cmd.CombinedOutput()
	if err == nil || !strings.Contains(string(out), "InvalidParameter") || !strings.Contains(string(out), "Subject") {
		t.Errorf("bad subject: %v %s", err, out)
	}

	// The UnsubscribeURL works unsigned; the endpoint is told.
	resp, err = http.Get(n.UnsubscribeURL)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("UnsubscribeURL: %v %v", err, resp)
	}
	resp.Body.Close()
	ep.Await(notify.TypeUnsubscribeConfirmation, nil)
	awsCLI(t, s, awsBin, &list, "sns", "list-subscriptions")
	if len(list.Subscriptions) != 1 || list.Subscriptions[0].Protocol != "email" {
		t.Errorf("after unsubscribing: %+v", list.Subscriptions)
	}

	// The calls are in event history as sns.amazonaws.com events.
	var events struct {
		Events []struct{ EventName, EventSource string }
	}
	cairntest.WaitFor(t, 20*time.Second, "SNS calls in event history", func() bool {
		awsCLI(t, s, awsBin, &events, "cloudtrail", "lookup-events", "--lookup-attributes", "AttributeKey=EventSource,AttributeValue=sns.amazonaws.com")
		return len(events.Events) >= 5
	})
}

// Debian's aws CLI 2.9 (query protocol through --endpoint-url) manages topics the same way.
func TestSNSWithDebianCLI(t *testing.T) {
	awsBin := cairntest.Tool(t, "/usr/bin/aws")
	s, ep, _ := startSNS(t)
	var topic struct{ TopicArn string }
	awsCLI(t, s, awsBin, &topic, "sns", "create-topic", "--name", "debian", "--tags", "Key=team,Value=sec")
	awsCLI(t, s, awsBin, nil, "sns", "set-topic-attributes", "--topic-arn", topic.TopicArn, "--attribute-name", "SignatureVersion", "--attribute-value", "2")
	var sub struct{ SubscriptionArn string }
	awsCLI(t, s, awsBin, &sub, "sns", "subscribe", "--topic-arn", topic.TopicArn, "--protocol", "https", "--notification-endpoint", ep.URL, "--return-subscription-arn")
	if !strings.HasPrefix(sub.SubscriptionArn, topic.TopicArn+":") {
		t.Errorf("ReturnSubscriptionArn gave %q", sub.SubscriptionArn)
	}
	ep.Await(notify.TypeSubscriptionConfirmation, nil)
	var pub struct{ MessageId string }
	cairntest.WaitFor(t, 10*time.Second, "the subscription to be confirmed", func() bool {
		var a struct{ Attributes map[string]string }
		awsCLI(t, s, awsBin, &a, "sns", "get-subscription-attributes", "--subscription-arn", sub.SubscriptionArn)
		return a.Attributes["PendingConfirmation"] == "false"
	})
	awsCLI(t, s, awsBin, &pub, "sns", "publish", "--topic-arn", topic.TopicArn, "--message", "hello from debian")
	n := ep.Await(notify.TypeNotification, func(m *notify.Message) bool { return m.MessageID == pub.MessageId })
	if n.SignatureVersion != "2" || n.Subject != "" {
		t.Errorf("notification %+v", n)
	}
	var topics struct{ Topics []struct{ TopicArn string } }
	awsCLI(t, s, awsBin, &topics, "sns", "list-topics")
	if len(topics.Topics) != 1 {
		t.Errorf("topics %+v", topics)
	}
	awsCLI(t, s, awsBin, nil, "sns", "tag-resource", "--resource-arn", topic.TopicArn, "--tags", "Key=env,Value=prod")
	awsCLI(t, s, awsBin, nil, "sns", "untag-resource", "--resource-arn", topic.TopicArn, "--tag-keys", "team")
	var tags struct{ Tags []struct{ Key, Value string } }
	awsCLI(t, s, awsBin, &tags, "sns", "list-tags-for-resource", "--resource-arn", topic.TopicArn)
	if len(tags.Tags) != 1 || tags.Tags[0].Key != "env" || tags.Tags[0].Value != "prod" {
		t.Errorf("tags %+v", tags.Tags)
	}
	awsCLI(t, s, awsBin, nil, "sns", "delete-topic", "--topic-arn", topic.TopicArn)
	awsCLI(t, s, awsBin, &topics, "sns", "list-topics")
	if len(topics.Topics) != 0 {
		t.Errorf("topics after delete %+v", topics)
	}
}

// aws-sdk-go-v2: SignatureVersion 2, confirmation through the ConfirmSubscription call,
// MessageStructure=json with per-protocol messages, message attributes, email-json, paging,
// and the error codes of wrong input.
func TestSNSWithSDK(t *testing.T) {
	s, ep, mb := startSNS(t)
	ctx := context.Background()
	c := sns.NewFromConfig(s.AWSConfig())

	created, err := c.CreateTopic(ctx, &sns.CreateTopicInput{Name: aws.String("sdk"), Attributes: map[string]string{"SignatureVersion": "2"}})
	if err != nil {
		t.Fatal(err)
	}
	topic := *created.TopicArn
	if _, err := c.Subscribe(ctx, &sns.SubscribeInput{TopicArn: &topic, Protocol: aws.String("https"), Endpoint: &ep.URL}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Subscribe(ctx, &sns.SubscribeInput{TopicArn: &topic, Protocol: aws.String("email-json"), Endpoint: aws.String("json@example.com")}); err != nil {
		t.Fatal(err)
	}
	confMail := mb.Await(t, "json@example.com", "Subscription Confirmation")
	var cm notify.Message
	if err := json.Unmarshal([]byte(confMail.Body), &cm); err != nil || cm.Type != notify.TypeSubscriptionConfirmation {
		t.Fatalf("email-json confirmation %q: %v", confMail.Body, err)
	}
	confirmed, err := c.ConfirmSubscription(ctx, &sns.ConfirmSubscriptionInput{TopicArn: &topic, Token: &cm.Token, AuthenticateOnUnsubscribe: aws.String("true")})
	if err != nil {
		t.Fatal(err)
	}
	ep.Await(notify.TypeSubscriptionConfirmation, nil)

	msg := `{"default":"plain","https":"for https","email-json":"for email-json"}`
	var pub *sns.PublishOutput
	cairntest.WaitFor(t, 10*time.Second, "both subscriptions confirmed", func() bool {
		a, err := c.GetTopicAttributes(ctx, &sns.GetTopicAttributesInput{TopicArn: &topic})
		return err == nil && a.Attributes["SubscriptionsConfirmed"] == "2"
	})
	pub, err = c.Publish(ctx, &sns.PublishInput{TopicArn: &topic, Message: &msg, MessageStructure: aws.String("json"),
		MessageAttributes: map[string]types.MessageAttributeValue{"severity": {DataType: aws.String("String"), StringValue: aws.String("high")}}})
	if err != nil {
		t.Fatal(err)
	}
	n := ep.Await(notify.TypeNotification, func(m *notify.Message) bool { return m.MessageID == *pub.MessageId })
	if n.Message != "for https" || n.SignatureVersion != "2" || !jsonEqual(n.MessageAttributes, `{"severity":{"Type":"String","Value":"high"}}`) {
		t.Errorf("https notification %+v (attributes %s)", n, n.MessageAttributes)
	}
	jm := mb.Await(t, "json@example.com", "AWS Notification Message")
	var em notify.Message
	if err := json.Unmarshal([]byte(jm.Body), &em); err != nil || em.Message != "for email-json" || em.MessageID != *pub.MessageId {
		t.Errorf("email-json notification %q: %v", jm.Body, err)
	}

	// AuthenticateOnUnsubscribe: the unsigned UnsubscribeURL is refused.
	resp, err := http.Get(em.UnsubscribeURL)
	if err != nil || resp.StatusCode != http.StatusForbidden {
		t.Errorf("unsigned unsubscribe of an authenticated subscription: %v %v", err, resp)
	}
	if resp != nil {
		resp.Body.Close()
	}
	if _, err := c.Unsubscribe(ctx, &sns.UnsubscribeInput{SubscriptionArn: confirmed.SubscriptionArn}); err != nil {
		t.Fatal(err)
	}

	for i := 0; i < 101; i++ {
		if _, err := c.CreateTopic(ctx, &sns.CreateTopicInput{Name: aws.String("page-" + string(rune('a'+i/26)) + string(rune('a'+i%26)))}); err != nil {
			t.Fatal(err)
		}
	}
	total := 0
	for p := sns.NewListTopicsPaginator(c, &sns.ListTopicsInput{}); p.HasMorePages(); {
		out, err := p.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if len(out.Topics) > 100 {
			t.Errorf("a page of %d topics", len(out.Topics))
		}
		total += len(out.Topics)
	}
	if total != 102 {
		t.Errorf("paged through %d topics, want 102", total)
	}

	for _, tc := range []struct {
		name string
		call func() error
		want string
	}{
		{"missing topic", func() error {
			_, err := c.Publish(ctx, &sns.PublishInput{TopicArn: aws.String("arn:aws:sns:us-east-1:" + cairntest.AccountID + ":missing"), Message: aws.String("x")})
			return err
		}, "NotFound"},
		{"no default", func() error {
			_, err := c.Publish(ctx, &sns.PublishInput{TopicArn: &topic, Message: aws.String(`{"email":"x"}`), MessageStructure: aws.String("json")})
			return err
		}, "No default entry"},
		{"protocol", func() error {
			_, err := c.Subscribe(ctx, &sns.SubscribeInput{TopicArn: &topic, Protocol: aws.String("carrier-pigeon"), Endpoint: aws.String("x")})
			return err
		}, "InvalidParameter"},
		{"endpoint", func() error {
			_, err := c.Subscribe(ctx, &sns.SubscribeInput{TopicArn: &topic, Protocol: aws.String("https"), Endpoint: aws.String("http://x")})
			return err
		}, "Endpoint"},
		{"bad token", func() error {
			_, err := c.ConfirmSubscription(ctx, &sns.ConfirmSubscriptionInput{TopicArn: &topic, Token: aws.String("nope")})
			return err
		}, "Invalid token"},
		{"other account", func() error {
			_, err := c.GetTopicAttributes(ctx, &sns.GetTopicAttributesInput{TopicArn: aws.String("arn:aws:sns:us-east-1:999999999999:x")})
			return err
		}, "AuthorizationError"},
		{"attribute", func() error {
			_, err := c.SetTopicAttributes(ctx, &sns.SetTopicAttributesInput{TopicArn: &topic, AttributeName: aws.String("SignatureVersion"), AttributeValue: aws.String("3")})
			return err
		}, "SignatureVersion"},
	} {
		err := tc.call()
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: got %v, want an error containing %q", tc.name, err, tc.want)
		}
	}
}

// An accepted Publish survives a crash: the endpoint fails, cairn is killed while the message
// waits for its retry, and after the restart the same message arrives.
func TestSNSDeliverySurvivesRestart(t *testing.T) {
	s, ep, _ := startSNS(t)
	ctx := context.Background()
	c := sns.NewFromConfig(s.AWSConfig())
	created, err := c.CreateTopic(ctx, &sns.CreateTopicInput{Name: aws.String("durable")})
	if err != nil {
		t.Fatal(err)
	}
	topic := *created.TopicArn
	sub, err := c.Subscribe(ctx, &sns.SubscribeInput{TopicArn: &topic, Protocol: aws.String("https"), Endpoint: &ep.URL, ReturnSubscriptionArn: true,
		Attributes: map[string]string{"DeliveryPolicy": `{"healthyRetryPolicy":{"minDelayTarget":2,"maxDelayTarget":2,"numRetries":5}}`}})
	if err != nil {
		t.Fatal(err)
	}
	ep.Await(notify.TypeSubscriptionConfirmation, nil)
	cairntest.WaitFor(t, 10*time.Second, "confirmation", func() bool {
		a, err := c.GetSubscriptionAttributes(ctx, &sns.GetSubscriptionAttributesInput{SubscriptionArn: sub.SubscriptionArn})
		return err == nil && a.Attributes["PendingConfirmation"] == "false"
	})
	ep.Status.Store(500)
	pub, err := c.Publish(ctx, &sns.PublishInput{TopicArn: &topic, Message: aws.String("must not be lost")})
	if err != nil {
		t.Fatal(err)
	}
	cairntest.WaitFor(t, 10*time.Second, "a failed first attempt", func() bool {
		for _, m := range ep.Messages() {
			if m.MessageID == *pub.MessageId {
				return true
			}
		}
		return false
	})
	s.Kill()
	ep.Status.Store(200)
	before := len(ep.Messages())
	s.Restart()
	c = sns.NewFromConfig(s.AWSConfig())
	cairntest.WaitFor(t, 30*time.Second, "redelivery after the restart", func() bool {
		ms := ep.Messages()
		for _, m := range ms[before:] {
			if m.MessageID == *pub.MessageId {
				return true
			}
		}
		return false
	})
	cairntest.WaitFor(t, 10*time.Second, "the outcome recorded", func() bool {
		a, err := c.GetSubscriptionAttributes(ctx, &sns.GetSubscriptionAttributesInput{SubscriptionArn: sub.SubscriptionArn})
		return err == nil && strings.HasPrefix(a.Attributes["LastDeliveryOutcome"], "delivered")
	})
}

func jsonEqual(a []byte, b string) bool {
	var x, y any
	return json.Unmarshal(a, &x) == nil && json.Unmarshal([]byte(b), &y) == nil && reflect.DeepEqual(x, y)
}
