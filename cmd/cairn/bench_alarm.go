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
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
)

// benchAlarm measures the monitoring chain's tail: PutMetricData accepted → alarm in ALARM
// (DESIGN.md budget: event → notification < 5 s; AWS takes minutes), and PutMetricData
// throughput with alarms watching the metrics. It speaks CloudWatch's JSON 1.0 over HTTP directly.
func benchAlarm(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("bench alarm", flag.ContinueOnError)
	fs.SetOutput(stderr)
	alarms := fs.Int("alarms", 200, "alarms to create; each is driven to ALARM once and timed")
	requests := fs.Int("requests", 2000, "PutMetricData requests in the throughput phase")
	batch := fs.Int("batch", 100, "datapoints per PutMetricData request (CloudWatch allows 1000)")
	clients := fs.Int("clients", 4, "concurrent connections in the throughput phase")
	data := fs.String("data", "", "data directory (default: a temporary one, removed afterwards)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *alarms < 1 || *requests < 1 || *batch < 1 || *batch > 1000 || *clients < 1 {
		return fmt.Errorf("--alarms, --requests and --clients must be positive, --batch between 1 and 1000")
	}
	s, err := startBenchServer(*data, "")
	if err != nil {
		return err
	}
	defer s.stop()
	hc := &http.Client{}
	call := func(op string, in, out any) error { return s.cloudwatch(ctx, hc, op, in, out) }

	type dim struct{ Name, Value string }
	type datum struct {
		MetricName string
		Dimensions []dim
		Value      float64
	}
	var ack, alarmed []time.Duration
	for i := 0; i < *alarms; i++ {
		name := "bench-" + strconv.Itoa(i)
		probe := []dim{{"Probe", strconv.Itoa(i)}}
		if err := call("PutMetricAlarm", map[string]any{"AlarmName": name, "Namespace": "Bench", "MetricName": "Failures", "Dimensions": probe,
			"Statistic": "Sum", "Period": 300, "EvaluationPeriods": 1, "Threshold": 2, "ComparisonOperator": "GreaterThanOrEqualToThreshold",
			"TreatMissingData": "notBreaching"}, nil); err != nil {
			return err
		}
		put := map[string]any{"Namespace": "Bench", "MetricData": []datum{{"Failures", probe, 1}}}
		if err := call("PutMetricData", put, nil); err != nil {
			return err
		}
		t0 := time.Now()
		if err := call("PutMetricData", put, nil); err != nil { // the second failure
			return err
		}
		ack = append(ack, time.Since(t0))
		for {
			var out struct{ MetricAlarms []struct{ StateValue string } }
			if err := call("DescribeAlarms", map[string]any{"AlarmNames": []string{name}}, &out); err != nil {
				return err
			}
			if len(out.MetricAlarms) == 1 && out.MetricAlarms[0].StateValue == "ALARM" {
				alarmed = append(alarmed, time.Since(t0))
				break
			}
			if time.Since(t0) > 30*time.Second {
				return fmt.Errorf("alarm %s did not reach ALARM in 30 s", name)
			}
		}
	}

	// Throughput: batches spread over the alarms' metrics, so every request also evaluates alarms.
	var next atomic.Int64
	var wg sync.WaitGroup
	errc := make(chan error, *clients)
	t0 := time.Now()
	for c := 0; c < *clients; c++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				n := next.Add(1) - 1
				if n >= int64(*requests) {
					return
				}
				ds := make([]datum, *batch)
				for j := range ds {
					ds[j] = datum{"Failures", []dim{{"Probe", strconv.Itoa(int(n+int64(j)) % *alarms)}}, 0}
				}
				if err := call("PutMetricData", map[string]any{"Namespace": "Bench", "MetricData": ds}, nil); err != nil {
					errc <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	took := time.Since(t0)
	select {
	case err := <-errc:
		return err
	default:
	}
	fmt.Fprintf(stdout, "cairn bench alarm — %s — %s\n", time.Now().UTC().Format("2006-01-02"), machine())
	fmt.Fprintf(stdout, "  second datapoint acknowledged   p50 %v, p99 %v (%d alarms, PutMetricData round trip)\n", ms(percentile(ack, .5)), ms(percentile(ack, .99)), len(ack))
	fmt.Fprintf(stdout, "  → alarm seen in ALARM           p50 %v, p99 %v, max %v (until DescribeAlarms shows it)\n", ms(percentile(alarmed, .5)), ms(percentile(alarmed, .99)), ms(percentile(alarmed, 1)))
	fmt.Fprintf(stdout, "  PutMetricData throughput        %.0f datapoints/s, %.0f requests/s (%d requests of %d, %d connections, %d alarms watching)\n",
		float64(*requests**batch)/took.Seconds(), float64(*requests)/took.Seconds(), *requests, *batch, *clients, *alarms)
	return nil
}

// cloudwatch sends one signed CloudWatch JSON 1.0 request.
func (s *benchServer) cloudwatch(ctx context.Context, hc *http.Client, op string, in, out any) error {
	body, _ := json.Marshal(in)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.endpoint+"/", bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/x-amz-json-1.0")
	req.Header.Set("X-Amz-Target", "GraniteServiceVersion20100801."+op)
	sum := sha256.Sum256(body)
	creds := aws.Credentials{AccessKeyID: benchKey, SecretAccessKey: benchSecret}
	if err := v4.NewSigner().SignHTTP(ctx, creds, req, hex.EncodeToString(sum[:]), "monitoring", benchRegion, time.Now()); err != nil {
		return err
	}
	resp, err := hc.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	if resp.StatusCode != 200 {
		return fmt.Errorf("%s: HTTP %d: %s", op, resp.StatusCode, data)
	}
	if out != nil {
		return json.Unmarshal(data, out)
	}
	return nil
}
