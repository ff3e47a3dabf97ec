package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"

	"github.com/cairn-dev/cairn/internal/logs"
)

// benchLogs measures CloudWatch Logs: PutLogEvents throughput (generated CloudTrail records as
// messages, a metric filter on the group), and the latency from a recorded event being
// accepted to it being found by FilterLogEvents in the log group its trail feeds.
func benchLogs(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("bench logs", flag.ContinueOnError)
	fs.SetOutput(stderr)
	events := fs.Int("events", 200_000, "log events to put")
	clients := fs.Int("clients", 4, "concurrent PutLogEvents clients (one stream each)")
	batch := fs.Int("batch", 500, "events per PutLogEvents call")
	samples := fs.Int("samples", 100, "trail → log group latency samples")
	data := fs.String("data", "", "data directory (default: a temporary one, removed afterwards)")
	serverLog := fs.String("server-log", "", "also write the server's log to this file")
	var serveFlags []string
	fs.Func("serve-flag", "extra flag for the cairn serve under test (repeatable)", func(v string) error {
		serveFlags = append(serveFlags, v)
		return nil
	})
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *events < 1 || *clients < 1 || *batch < 1 || *batch > logs.MaxBatchEvents || *samples < 1 {
		return fmt.Errorf("--events, --clients, --batch (at most %d) and --samples must be positive", logs.MaxBatchEvents)
	}
	s, err := startBenchServer(*data, *serverLog, serveFlags...)
	if err != nil {
		return err
	}
	defer s.stop()
	hc := &http.Client{Timeout: time.Minute}
	call := func(service, target string, in any) ([]byte, error) {
		return s.rpc(ctx, hc, service, target, in)
	}
	fmt.Fprintf(stdout, "machine: %s\n", machine())
	if os.Getenv("CAIRN_BENCH_PPROF") != "" {
		fmt.Fprintf(stdout, "server: %s\n", s.endpoint)
	}

	// PutLogEvents throughput. Messages are generated CloudTrail records, as a trail writes them.
	const group = "bench/put"
	if _, err := call("logs", "Logs_20140328.CreateLogGroup", map[string]any{"logGroupName": group}); err != nil {
		return err
	}
	if _, err := call("logs", "Logs_20140328.PutMetricFilter", map[string]any{"logGroupName": group, "filterName": "ConsoleSignInFailures",
		"filterPattern":         `{ ($.eventName = ConsoleLogin) && ($.errorMessage = "Failed authentication") }`,
		"metricTransformations": []map[string]any{{"metricName": "ConsoleSigninFailureCount", "metricNamespace": "CloudTrailMetrics", "metricValue": "1"}}}); err != nil {
		return err
	}
	g := newBenchGen(1)
	now := time.Now()
	type ev struct {
		Timestamp int64  `json:"timestamp"`
		Message   string `json:"message"`
	}
	var bodies [][]byte
	var batchEvents []ev
	size, msgBytes := 0, 0
	stream := 0
	flush := func() {
		b, _ := json.Marshal(map[string]any{"logGroupName": group, "logStreamName": fmt.Sprintf("s-%d", stream%*clients), "logEvents": batchEvents})
		bodies = append(bodies, b)
		batchEvents, size = nil, 0
		stream++
	}
	err = g.Spread(*events, now.Add(-time.Hour), now, func(raw []byte) error {
		if size+len(raw)+logs.EventOverhead > logs.MaxBatchBytes || len(batchEvents) == *batch {
			flush()
		}
		batchEvents = append(batchEvents, ev{Timestamp: now.Add(-time.Hour).UnixMilli() + int64(len(bodies)), Message: string(raw)})
		size += len(raw) + logs.EventOverhead
		msgBytes += len(raw)
		return nil
	})
	if err != nil {
		return err
	}
	if len(batchEvents) > 0 {
		flush()
	}
	for c := 0; c < *clients; c++ {
		if _, err := call("logs", "Logs_20140328.CreateLogStream", map[string]any{"logGroupName": group, "logStreamName": fmt.Sprintf("s-%d", c)}); err != nil {
			return err
		}
	}
	start := time.Now()
	var wg sync.WaitGroup
	errs := make(chan error, *clients)
	for c := 0; c < *clients; c++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := c; i < len(bodies); i += *clients {
				if _, err := s.rpcRaw(ctx, hc, "logs", "Logs_20140328.PutLogEvents", bodies[i]); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	took := time.Since(start)
	close(errs)
	if err := <-errs; err != nil {
		return err
	}
	fmt.Fprintf(stdout, "PutLogEvents: %d events (%.1f MB of messages) in %d calls of up to %d, %d clients: %.2fs, %.0f events/s, %.1f MB/s\n",
		*events, float64(msgBytes)/1e6, len(bodies), *batch, *clients, took.Seconds(), float64(*events)/took.Seconds(), float64(msgBytes)/1e6/took.Seconds())

	// FilterLogEvents over what was put: a full scan of the group with the scenario's pattern.
	start = time.Now()
	scanned, matched := 0, 0
	token := ""
	for {
		in := map[string]any{"logGroupName": group, "filterPattern": `{ ($.eventName = ConsoleLogin) && ($.errorMessage = "Failed authentication") }`}
		if token != "" {
			in["nextToken"] = token
		}
		out, err := call("logs", "Logs_20140328.FilterLogEvents", in)
		if err != nil {
			return err
		}
		var page struct {
			Events    []json.RawMessage
			NextToken string
		}
		json.Unmarshal(out, &page)
		matched += len(page.Events)
		scanned++
		if token = page.NextToken; token == "" {
			break
		}
	}
	took = time.Since(start)
	fmt.Fprintf(stdout, "FilterLogEvents (scenario pattern) over %d events: %d matches in %d calls, %.2fs, %.0f events/s scanned\n",
		*events, matched, scanned, took.Seconds(), float64(*events)/took.Seconds())

	// Trail → log group latency.
	const trailGroup = "bench/trail"
	if _, err := call("logs", "Logs_20140328.CreateLogGroup", map[string]any{"logGroupName": trailGroup}); err != nil {
		return err
	}
	if _, err := call("cloudtrail", "CloudTrail_20131101.CreateTrail", map[string]any{"Name": "bench-logs", "S3BucketName": "bench-logs-trail",
		"CloudWatchLogsLogGroupArn": logs.GroupARN(benchAccount, benchRegion, trailGroup),
		"CloudWatchLogsRoleArn":     "arn:aws:iam::" + benchAccount + ":role/CloudTrail_CloudWatchLogs_Role"}); err != nil {
		return err
	}
	if _, err := call("cloudtrail", "CloudTrail_20131101.StartLogging", map[string]any{"Name": "bench-logs"}); err != nil {
		return err
	}
	var lat []time.Duration
	for i := 0; i < *samples; i++ {
		id := fmt.Sprintf("bench-latency-%06d", i)
		rec := fmt.Sprintf(`{"eventVersion":"1.08","userIdentity":{"type":"IAMUser","accountId":"%s","userName":"alice"},"eventTime":"%s","eventSource":"signin.amazonaws.com","eventName":"ConsoleLogin","awsRegion":"%s","sourceIPAddress":"203.0.113.9","errorMessage":"Failed authentication","responseElements":{"ConsoleLogin":"Failure"},"eventID":"%s","readOnly":false,"eventType":"AwsConsoleSignIn","managementEvent":true,"recipientAccountId":"%s","eventCategory":"Management"}`+"\n",
			benchAccount, time.Now().UTC().Format(time.RFC3339), benchRegion, id, benchAccount)
		sum := sha256.Sum256([]byte(rec))
		sent := time.Now()
		if _, err := post(ctx, hc, s.endpoint, body{data: []byte(rec), hash: hex.EncodeToString(sum[:]), events: 1}); err != nil {
			return err
		}
		for {
			out, err := call("logs", "Logs_20140328.FilterLogEvents", map[string]any{"logGroupName": trailGroup, "filterPattern": `{ $.eventID = "` + id + `" }`,
				"startTime": sent.Add(-time.Minute).UnixMilli()})
			if err != nil {
				return err
			}
			var page struct{ Events []json.RawMessage }
			json.Unmarshal(out, &page)
			if len(page.Events) > 0 {
				lat = append(lat, time.Since(sent))
				break
			}
			if time.Since(sent) > 30*time.Second {
				return fmt.Errorf("event %s did not reach the log group in 30s\n%s", id, s.tail(20))
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
	fmt.Fprintf(stdout, "trail → log group, ingest accepted → found by FilterLogEvents (%d samples): p50 %s, p99 %s, max %s\n",
		len(lat), ms(percentile(lat, 0.5)), ms(percentile(lat, 0.99)), ms(percentile(lat, 1)))
	fmt.Fprintf(stdout, "server peak RSS: %.0f MiB\n", float64(s.peakRSS())/(1<<20))
	return nil
}

// rpc sends one signed awsJson1_1 call and returns the response body.
func (s *benchServer) rpc(ctx context.Context, hc *http.Client, service, target string, in any) ([]byte, error) {
	b, err := json.Marshal(in)
	if err != nil {
		return nil, err
	}
	return s.rpcRaw(ctx, hc, service, target, b)
}

func (s *benchServer) rpcRaw(ctx context.Context, hc *http.Client, service, target string, b []byte) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.endpoint+"/", bytes.NewReader(b))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/x-amz-json-1.1")
	req.Header.Set("X-Amz-Target", target)
	sum := sha256.Sum256(b)
	creds := aws.Credentials{AccessKeyID: benchKey, SecretAccessKey: benchSecret}
	if err := v4.NewSigner().SignHTTP(ctx, creds, req, hex.EncodeToString(sum[:]), service, benchRegion, time.Now()); err != nil {
		return nil, err
	}
	resp, err := hc.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != 200 {
		return nil, fmt.Errorf("%s: HTTP %d: %s", target, resp.StatusCode, data)
	}
	return data, nil
}
