package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"sync"
	"time"

	"github.com/cairn-dev/cairn/internal/logs"
)

// benchSignin measures scenario 3 end to end: the second failed console sign-in accepted by
// cairn → the alarm's notification received by an HTTP subscriber. The chain is the real one:
// native ingest → journal → trail → log group → metric filter → metric store → alarm → SNS
// topic → signed HTTP delivery. Each sample has its own user, so the metric filter's User
// dimension gives each sample an alarm of its own that starts from nothing.
func benchSignin(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("bench signin", flag.ContinueOnError)
	fs.SetOutput(stderr)
	samples := fs.Int("samples", 50, "sign-in pairs to time")
	data := fs.String("data", "", "data directory (default: a temporary one, removed afterwards)")
	serverLog := fs.String("server-log", "", "also write the server's log to this file")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *samples < 1 {
		return fmt.Errorf("--samples must be positive")
	}

	// The subscriber: confirms by visiting SubscribeURL, timestamps notifications by alarm name.
	var mu sync.Mutex
	received := map[string]time.Time{}
	arrived := make(chan struct{}, 1)
	endpoint := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		now := time.Now()
		body, _ := io.ReadAll(r.Body)
		var m struct{ Type, Message, SubscribeURL string }
		json.Unmarshal(body, &m)
		switch m.Type {
		case "SubscriptionConfirmation":
			go func() {
				if resp, err := http.Get(m.SubscribeURL); err == nil {
					resp.Body.Close()
				}
			}()
		case "Notification":
			var alarm struct{ AlarmName, NewStateValue string }
			json.Unmarshal([]byte(m.Message), &alarm)
			if alarm.NewStateValue == "ALARM" {
				mu.Lock()
				if _, ok := received[alarm.AlarmName]; !ok {
					received[alarm.AlarmName] = now
				}
				mu.Unlock()
				select {
				case arrived <- struct{}{}:
				default:
				}
			}
		}
	})}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	go endpoint.Serve(l)
	defer endpoint.Close()

	s, err := startBenchServer(*data, *serverLog)
	if err != nil {
		return err
	}
	defer s.stop()
	hc := &http.Client{}
	call := func(service, target string, in any) error {
		_, err := s.rpc(ctx, hc, service, target, in)
		return err
	}
	const group = "CloudTrail/DefaultLogGroup"
	steps := []struct {
		service, target string
		in              any
	}{
		{"logs", "Logs_20140328.CreateLogGroup", map[string]any{"logGroupName": group}},
		{"cloudtrail", "CloudTrail_20131101.CreateTrail", map[string]any{"Name": "signins", "S3BucketName": "bench-signin-trail",
			"CloudWatchLogsLogGroupArn": logs.GroupARN(benchAccount, benchRegion, group),
			"CloudWatchLogsRoleArn":     "arn:aws:iam::" + benchAccount + ":role/CloudTrail_CloudWatchLogs_Role"}},
		{"cloudtrail", "CloudTrail_20131101.StartLogging", map[string]any{"Name": "signins"}},
		{"logs", "Logs_20140328.PutMetricFilter", map[string]any{"logGroupName": group, "filterName": "ConsoleSignInFailures",
			"filterPattern": `{ ($.eventName = ConsoleLogin) && ($.errorMessage = "Failed authentication") }`,
			"metricTransformations": []map[string]any{{"metricName": "ConsoleSigninFailureCount", "metricNamespace": "CloudTrailMetrics",
				"metricValue": "1", "dimensions": map[string]string{"User": "$.userIdentity.userName"}}}}},
	}
	for _, st := range steps {
		if err := call(st.service, st.target, st.in); err != nil {
			return err
		}
	}
	var topic struct {
		TopicArn string `xml:"CreateTopicResult>TopicArn"`
	}
	if err := snsCall(ctx, hc, s.endpoint, url.Values{"Action": {"CreateTopic"}, "Name": {"sec-alerts"}}, &topic); err != nil {
		return err
	}
	if err := snsCall(ctx, hc, s.endpoint, url.Values{"Action": {"Subscribe"}, "TopicArn": {topic.TopicArn}, "Protocol": {"http"},
		"Endpoint": {"http://" + l.Addr().String() + "/alerts"}}, nil); err != nil {
		return err
	}
	for deadline := time.Now().Add(30 * time.Second); ; {
		var subs struct {
			Arns []string `xml:"ListSubscriptionsByTopicResult>Subscriptions>member>SubscriptionArn"`
		}
		if err := snsCall(ctx, hc, s.endpoint, url.Values{"Action": {"ListSubscriptionsByTopic"}, "TopicArn": {topic.TopicArn}}, &subs); err != nil {
			return err
		}
		if len(subs.Arns) == 1 && subs.Arns[0] != "PendingConfirmation" {
			break
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("the subscription was not confirmed within 30s\n%s", s.tail(20))
		}
		time.Sleep(50 * time.Millisecond)
	}
	fmt.Fprintf(stderr, "cairn serve on %s; trail → %s → metric filter → alarm → topic → http; timing %d samples…\n", s.endpoint, group, *samples)

	signIn := func(user string, n int) error {
		rec := fmt.Sprintf(`{"eventVersion":"1.08","userIdentity":{"type":"IAMUser","accountId":"%s","arn":"arn:aws:iam::%s:user/%s","userName":"%s"},"eventTime":"%s","eventSource":"signin.amazonaws.com","eventName":"ConsoleLogin","awsRegion":"%s","sourceIPAddress":"203.0.113.9","userAgent":"Mozilla/5.0","errorMessage":"Failed authentication","requestParameters":null,"responseElements":{"ConsoleLogin":"Failure"},"additionalEventData":{"LoginTo":"https://console.aws.amazon.com/console/home","MobileVersion":"No","MFAUsed":"No"},"eventID":"%s-%d","readOnly":false,"eventType":"AwsConsoleSignIn","managementEvent":true,"recipientAccountId":"%s","eventCategory":"Management"}`+"\n",
			benchAccount, benchAccount, user, user, time.Now().UTC().Format(time.RFC3339), benchRegion, user, n, benchAccount)
		sum := sha256.Sum256([]byte(rec))
		_, err := post(ctx, hc, s.endpoint, body{data: []byte(rec), hash: hex.EncodeToString(sum[:]), events: 1})
		return err
	}
	alarmState := func(name string) (string, error) {
		var out struct{ MetricAlarms []struct{ StateValue string } }
		if err := s.cloudwatch(ctx, hc, "DescribeAlarms", map[string]any{"AlarmNames": []string{name}}, &out); err != nil {
			return "", err
		}
		if len(out.MetricAlarms) != 1 {
			return "", fmt.Errorf("alarm %q not found", name)
		}
		return out.MetricAlarms[0].StateValue, nil
	}

	var lat []time.Duration
	for i := 0; i < *samples; i++ {
		user := fmt.Sprintf("user%04d", i)
		name := "Console sign-in failures " + user
		if err := s.cloudwatch(ctx, hc, "PutMetricAlarm", map[string]any{"AlarmName": name,
			"AlarmDescription": "Raises alarms if more than 2 console sign-in failures occur in 5 minutes",
			"Namespace":        "CloudTrailMetrics", "MetricName": "ConsoleSigninFailureCount", "Dimensions": []map[string]string{{"Name": "User", "Value": user}},
			"Statistic": "Sum", "Period": 300, "EvaluationPeriods": 1, "Threshold": 2, "ComparisonOperator": "GreaterThanOrEqualToThreshold",
			"TreatMissingData": "notBreaching", "AlarmActions": []string{topic.TopicArn}}, nil); err != nil {
			return err
		}
		// The first failure must have reached the alarm (OK: one failure, below the threshold)
		// before the second is timed.
		if err := signIn(user, 1); err != nil {
			return err
		}
		for deadline := time.Now().Add(30 * time.Second); ; {
			var out struct{ Datapoints []struct{ Sum float64 } }
			if err := s.cloudwatch(ctx, hc, "GetMetricStatistics", map[string]any{"Namespace": "CloudTrailMetrics", "MetricName": "ConsoleSigninFailureCount",
				"Dimensions": []map[string]string{{"Name": "User", "Value": user}}, "StartTime": time.Now().Add(-time.Hour).Unix(),
				"EndTime": time.Now().Add(time.Hour).Unix(), "Period": 3600, "Statistics": []string{"Sum"}}, &out); err != nil {
				return err
			}
			if len(out.Datapoints) > 0 && out.Datapoints[0].Sum >= 1 {
				break
			}
			if time.Now().After(deadline) {
				return fmt.Errorf("the first failure of %s did not reach its metric in 30s\n%s", user, s.tail(20))
			}
			time.Sleep(20 * time.Millisecond)
		}
		if st, err := alarmState(name); err != nil || st == "ALARM" {
			return fmt.Errorf("alarm %q after one failure: %s %v", name, st, err)
		}
		if err := signIn(user, 2); err != nil {
			return err
		}
		accepted := time.Now()
		for {
			mu.Lock()
			at, ok := received[name]
			mu.Unlock()
			if ok {
				lat = append(lat, max(at.Sub(accepted), 0))
				break
			}
			if time.Since(accepted) > 60*time.Second {
				return fmt.Errorf("no notification for %q within 60s\n%s", name, s.tail(20))
			}
			select {
			case <-arrived:
			case <-time.After(100 * time.Millisecond):
			}
		}
	}
	fmt.Fprintf(stdout, "cairn bench signin — %s — %s\n", time.Now().UTC().Format("2006-01-02"), machine())
	fmt.Fprintf(stdout, "  chain       ingest → trail → log group → metric filter → alarm (Sum 300s ≥ 2) → SNS → http\n")
	fmt.Fprintf(stdout, "  samples     %d (one alarm per user, via the filter's User dimension)\n", len(lat))
	fmt.Fprintf(stdout, "  second failed sign-in accepted → notification received: p50 %s, p99 %s, max %s\n",
		ms(percentile(lat, .5)), ms(percentile(lat, .99)), ms(percentile(lat, 1)))
	return nil
}
