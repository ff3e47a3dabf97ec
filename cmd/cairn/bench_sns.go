package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"encoding/xml"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
)

// benchSNS measures Publish accepted → HTTP endpoint received: a real cairn serve, a topic with
// --subscribers confirmed http subscriptions on a loopback endpoint, and --messages Publish
// calls at --rate per second.
func benchSNS(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var messages, subscribers int
	var rate float64
	var data, serverLog string
	fs := flag.NewFlagSet("bench sns", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.IntVar(&messages, "messages", 1000, "messages to publish")
	fs.IntVar(&subscribers, "subscribers", 1, "confirmed http subscriptions on the topic")
	fs.Float64Var(&rate, "rate", 50, "Publish calls per second")
	fs.StringVar(&data, "data", "", "data directory (default: a temporary one, removed afterwards)")
	fs.StringVar(&serverLog, "server-log", "", "also write the server's log to this file")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if messages < 1 || subscribers < 1 || subscribers > 100 || rate <= 0 {
		return fmt.Errorf("--messages, --subscribers (at most 100) and --rate must be positive")
	}

	// The endpoint: confirms subscriptions by visiting SubscribeURL, timestamps notifications.
	var mu sync.Mutex
	received := map[string][]time.Time{}
	arrived := make(chan struct{}, 1)
	endpoint := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		now := time.Now()
		body, _ := io.ReadAll(r.Body)
		var m struct{ Type, MessageId, SubscribeURL string }
		json.Unmarshal(body, &m)
		switch m.Type {
		case "SubscriptionConfirmation":
			go func() {
				if resp, err := http.Get(m.SubscribeURL); err == nil {
					resp.Body.Close()
				}
			}()
		case "Notification":
			mu.Lock()
			received[m.MessageId] = append(received[m.MessageId], now)
			mu.Unlock()
			select {
			case arrived <- struct{}{}:
			default:
			}
		}
	})}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	go endpoint.Serve(l)
	defer endpoint.Close()
	hookURL := "http://" + l.Addr().String() + "/hook"

	s, err := startBenchServer(data, serverLog)
	if err != nil {
		return err
	}
	defer s.stop()
	hc := &http.Client{}
	call := func(form url.Values, out any) error { return snsCall(ctx, hc, s.endpoint, form, out) }
	var created struct {
		TopicArn string `xml:"CreateTopicResult>TopicArn"`
	}
	if err := call(url.Values{"Action": {"CreateTopic"}, "Name": {"bench"}}, &created); err != nil {
		return err
	}
	for i := 0; i < subscribers; i++ {
		if err := call(url.Values{"Action": {"Subscribe"}, "TopicArn": {created.TopicArn}, "Protocol": {"http"}, "Endpoint": {fmt.Sprintf("%s/%d", hookURL, i)}}, nil); err != nil {
			return err
		}
	}
	for deadline := time.Now().Add(30 * time.Second); ; {
		var attrs struct {
			Entries []struct {
				Key   string `xml:"key"`
				Value string `xml:"value"`
			} `xml:"GetTopicAttributesResult>Attributes>entry"`
		}
		if err := call(url.Values{"Action": {"GetTopicAttributes"}, "TopicArn": {created.TopicArn}}, &attrs); err != nil {
			return err
		}
		done := false
		for _, e := range attrs.Entries {
			done = done || (e.Key == "SubscriptionsConfirmed" && e.Value == fmt.Sprint(subscribers))
		}
		if done {
			break
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("subscriptions not confirmed within 30s\n%s", s.tail(20))
		}
		time.Sleep(50 * time.Millisecond)
	}
	fmt.Fprintf(stderr, "cairn serve on %s; %d confirmed subscriptions; publishing %d messages at %.0f/s…\n", s.endpoint, subscribers, messages, rate)

	accepted := map[string]time.Time{}
	var publishLat []time.Duration
	tick := time.NewTicker(time.Duration(float64(time.Second) / rate))
	defer tick.Stop()
	start := time.Now()
	for i := 0; i < messages; i++ {
		<-tick.C
		t0 := time.Now()
		var out struct {
			MessageID string `xml:"PublishResult>MessageId"`
		}
		if err := call(url.Values{"Action": {"Publish"}, "TopicArn": {created.TopicArn}, "Message": {fmt.Sprintf(`{"AlarmName":"bench","n":%d}`, i)}}, &out); err != nil {
			return err
		}
		t1 := time.Now()
		publishLat = append(publishLat, t1.Sub(t0))
		accepted[out.MessageID] = t1
	}
	for deadline := time.Now().Add(60 * time.Second); ; {
		mu.Lock()
		n := 0
		for _, ts := range received {
			n += len(ts)
		}
		mu.Unlock()
		if n >= messages*subscribers {
			break
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%d of %d deliveries arrived within 60s\n%s", n, messages*subscribers, s.tail(20))
		}
		select {
		case <-arrived:
		case <-time.After(100 * time.Millisecond):
		}
	}
	took := time.Since(start)
	// Delivery may start before the Publish response reaches the client; such deliveries count
	// as 0 (received no later than accepted).
	var lat []time.Duration
	mu.Lock()
	for id, ts := range received {
		for _, t := range ts {
			lat = append(lat, max(t.Sub(accepted[id]), 0))
		}
	}
	mu.Unlock()
	fmt.Fprintf(stdout, "cairn bench sns — %s — %s\n", time.Now().UTC().Format("2006-01-02"), machine())
	fmt.Fprintf(stdout, "  messages                    %d at %.0f/s to %d http subscriptions (%d deliveries in %v)\n", messages, rate, subscribers, len(lat), took.Round(time.Millisecond))
	fmt.Fprintf(stdout, "  Publish call                p50 %s, p99 %s (durable: outbox committed, fsynced)\n", ms(percentile(publishLat, .5)), ms(percentile(publishLat, .99)))
	fmt.Fprintf(stdout, "  accepted → endpoint         p50 %s, p99 %s, max %s\n", ms(percentile(lat, .5)), ms(percentile(lat, .99)), ms(percentile(lat, 1)))
	return nil
}

// snsCall sends one signed awsQuery SNS request and decodes the XML response into out.
func snsCall(ctx context.Context, hc *http.Client, endpoint string, form url.Values, out any) error {
	form.Set("Version", "2010-03-31")
	body := form.Encode()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, endpoint+"/", strings.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")
	sum := sha256.Sum256([]byte(body))
	creds := aws.Credentials{AccessKeyID: benchKey, SecretAccessKey: benchSecret}
	if err := v4.NewSigner().SignHTTP(ctx, creds, req, hex.EncodeToString(sum[:]), "sns", benchRegion, time.Now()); err != nil {
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
		return fmt.Errorf("%s: HTTP %d: %s", form.Get("Action"), resp.StatusCode, data)
	}
	if out != nil {
		return xml.Unmarshal(data, out)
	}
	return nil
}
