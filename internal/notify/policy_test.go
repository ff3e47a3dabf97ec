package notify

import (
	"encoding/json"
	"testing"
	"time"
)

func TestRetryPolicyDelays(t *testing.T) {
	s := time.Second
	for _, tc := range []struct {
		name   string
		policy RetryPolicy
		want   []time.Duration // delay before retry 1, 2, …; then no more
	}{
		{"SNS default for http(s): 3 retries, 20 s apart", DefaultHTTPPolicy, []time.Duration{20 * s, 20 * s, 20 * s}},
		{"phases", RetryPolicy{MinDelayTarget: 1, MaxDelayTarget: 10, NumRetries: 7, NumNoDelayRetries: 2, NumMinDelayRetries: 1, NumMaxDelayRetries: 1, BackoffFunction: "linear"},
			[]time.Duration{0, 0, 1 * s, 1 * s, 5500 * time.Millisecond, 10 * s, 10 * s}},
		{"arithmetic", RetryPolicy{MinDelayTarget: 1, MaxDelayTarget: 5, NumRetries: 3, BackoffFunction: "arithmetic"}, []time.Duration{1 * s, 2 * s, 5 * s}},
		{"none", RetryPolicy{MinDelayTarget: 1, MaxDelayTarget: 1, NumRetries: 0, BackoffFunction: "linear"}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := tc.policy.Validate(); err != nil {
				t.Fatal(err)
			}
			for i, want := range tc.want {
				got, ok := tc.policy.Delay(i + 1)
				if !ok || got != want {
					t.Errorf("retry %d: %v %v, want %v", i+1, got, ok, want)
				}
			}
			if d, ok := tc.policy.Delay(len(tc.want) + 1); ok {
				t.Errorf("retry %d allowed (%v) beyond numRetries", len(tc.want)+1, d)
			}
		})
	}
	// SMTP: 50 attempts over about 6 hours, as SNS documents.
	var total time.Duration
	for i := 1; ; i++ {
		d, ok := EmailPolicy.Delay(i)
		if !ok {
			if i != 51 {
				t.Errorf("email policy allows %d retries, want 50", i-1)
			}
			break
		}
		total += d
	}
	if total < 6*time.Hour || total > 8*time.Hour {
		t.Errorf("email retries span %v, want about 6 hours", total)
	}
}

func TestRetryPolicyValidate(t *testing.T) {
	for _, bad := range []string{
		`{"numRetries":101}`, `{"minDelayTarget":0}`, `{"minDelayTarget":30,"maxDelayTarget":20}`,
		`{"backoffFunction":"random"}`, `{"numRetries":2,"numNoDelayRetries":3}`,
		`{"numRetries":100,"minDelayTarget":3600,"maxDelayTarget":3600}`, `{"numRetries":"3"}`,
	} {
		if _, err := parseRetryPolicy(json.RawMessage(bad)); err == nil {
			t.Errorf("%s accepted", bad)
		}
	}
	p, err := parseRetryPolicy(json.RawMessage(`{"numRetries":5}`))
	if err != nil || p.MinDelayTarget != 20 || p.BackoffFunction != "linear" {
		t.Errorf("defaults not kept: %+v %v", p, err)
	}
}

func FuzzDeliveryPolicy(f *testing.F) {
	f.Add(`{"healthyRetryPolicy":{"minDelayTarget":1,"maxDelayTarget":60,"numRetries":10,"backoffFunction":"exponential"}}`)
	f.Add(`{"http":{"defaultHealthyRetryPolicy":{"numRetries":3},"disableSubscriptionOverrides":true}}`)
	f.Fuzz(func(t *testing.T, s string) {
		for _, attr := range []func() error{
			func() error { return validateSubAttribute("https", "DeliveryPolicy", s) },
			func() error { return validateTopicAttribute("DeliveryPolicy", s) },
		} {
			if attr() != nil {
				continue
			}
			p, _ := effectivePolicy(s, s)
			if p.Validate() != nil {
				t.Fatalf("accepted %q gives an invalid policy %+v", s, p)
			}
			var total time.Duration
			for i := 1; i <= p.NumRetries+1; i++ {
				d, ok := p.Delay(i)
				if d < 0 || (i > p.NumRetries) == ok {
					t.Fatalf("%q: retry %d: %v %v", s, i, d, ok)
				}
				total += d
			}
			if total > time.Hour {
				t.Fatalf("%q: retries span %v", s, total)
			}
		}
	})
}
