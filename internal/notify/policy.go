package notify

import (
	"encoding/json"
	"fmt"
	"math"
	"time"
)

// RetryPolicy is SNS's healthyRetryPolicy: after the first attempt, numNoDelayRetries
// immediate retries, numMinDelayRetries at minDelayTarget, then the backoff phase from
// minDelayTarget to maxDelayTarget, then numMaxDelayRetries at maxDelayTarget; numRetries
// counts them all. Delays are in seconds.
type RetryPolicy struct {
	MinDelayTarget     int    `json:"minDelayTarget"`
	MaxDelayTarget     int    `json:"maxDelayTarget"`
	NumRetries         int    `json:"numRetries"`
	NumNoDelayRetries  int    `json:"numNoDelayRetries"`
	NumMinDelayRetries int    `json:"numMinDelayRetries"`
	NumMaxDelayRetries int    `json:"numMaxDelayRetries"`
	BackoffFunction    string `json:"backoffFunction"`
}

// DefaultHTTPPolicy is SNS's default for http and https: 3 retries, 20 seconds apart.
var DefaultHTTPPolicy = RetryPolicy{MinDelayTarget: 20, MaxDelayTarget: 20, NumRetries: 3, BackoffFunction: "linear"}

// EmailPolicy is SNS's fixed policy for SMTP endpoints: 50 attempts over 6 hours (2 at 10 s,
// 10 backing off from 10 s to 600 s, 38 at 600 s).
var EmailPolicy = RetryPolicy{MinDelayTarget: 10, MaxDelayTarget: 600, NumRetries: 50, NumMinDelayRetries: 2, NumMaxDelayRetries: 38, BackoffFunction: "exponential"}

// Validate checks the limits SNS enforces on a delivery policy.
func (p RetryPolicy) Validate() error {
	switch {
	case p.NumRetries < 0 || p.NumRetries > 100:
		return fmt.Errorf("numRetries %d must be between 0 and 100", p.NumRetries)
	case p.MinDelayTarget < 1 || p.MaxDelayTarget > 3600 || p.MinDelayTarget > p.MaxDelayTarget:
		return fmt.Errorf("minDelayTarget %d and maxDelayTarget %d must satisfy 1 <= min <= max <= 3600", p.MinDelayTarget, p.MaxDelayTarget)
	case p.NumNoDelayRetries < 0 || p.NumMinDelayRetries < 0 || p.NumMaxDelayRetries < 0:
		return fmt.Errorf("retry counts must not be negative")
	case p.NumNoDelayRetries+p.NumMinDelayRetries+p.NumMaxDelayRetries > p.NumRetries:
		return fmt.Errorf("numNoDelayRetries + numMinDelayRetries + numMaxDelayRetries must not exceed numRetries %d", p.NumRetries)
	}
	switch p.BackoffFunction {
	case "linear", "arithmetic", "geometric", "exponential":
	default:
		return fmt.Errorf("backoffFunction %q must be linear, arithmetic, geometric or exponential", p.BackoffFunction)
	}
	var total time.Duration
	for i := 1; i <= p.NumRetries; i++ {
		d, _ := p.Delay(i)
		total += d
	}
	if total > time.Hour {
		return fmt.Errorf("the retries take %v in total; SNS allows at most 3600 seconds", total)
	}
	return nil
}

// Delay is how long to wait before retry n (1-based), and false when the policy has no retry
// n left. SNS jitters delays; cairn does not, so that deliveries are predictable.
func (p RetryPolicy) Delay(n int) (time.Duration, bool) {
	if n < 1 || n > p.NumRetries {
		return 0, false
	}
	sec := func(s float64) time.Duration { return time.Duration(s * float64(time.Second)) }
	if n <= p.NumNoDelayRetries {
		return 0, true
	}
	n -= p.NumNoDelayRetries
	if n <= p.NumMinDelayRetries {
		return sec(float64(p.MinDelayTarget)), true
	}
	n -= p.NumMinDelayRetries
	backoff := p.NumRetries - p.NumNoDelayRetries - p.NumMinDelayRetries - p.NumMaxDelayRetries
	if n > backoff {
		return sec(float64(p.MaxDelayTarget)), true
	}
	// Backoff phase: retry n of backoff goes from min (first) to max (last) along the curve.
	lo, hi := float64(p.MinDelayTarget), float64(p.MaxDelayTarget)
	if backoff == 1 || lo == hi {
		return sec(lo), true
	}
	x := float64(n-1) / float64(backoff-1) // 0 … 1
	var f float64
	switch p.BackoffFunction {
	case "arithmetic": // quadratic growth
		f = x * x
	case "geometric": // cubic growth
		f = x * x * x
	case "exponential":
		f = (math.Pow(2, x*10) - 1) / (math.Pow(2, 10) - 1)
	default: // linear
		f = x
	}
	return sec(lo + (hi-lo)*f).Round(time.Millisecond), true
}

// deliveryPolicy is a subscription's DeliveryPolicy attribute.
type deliveryPolicy struct {
	HealthyRetryPolicy json.RawMessage `json:"healthyRetryPolicy,omitempty"`
	ThrottlePolicy     map[string]any  `json:"throttlePolicy,omitempty"`
	RequestPolicy      *requestPolicy  `json:"requestPolicy,omitempty"`
	SicklyRetryPolicy  any             `json:"sicklyRetryPolicy,omitempty"`
	Guaranteed         *bool           `json:"guaranteed,omitempty"`
}

type requestPolicy struct {
	HeaderContentType string `json:"headerContentType,omitempty"`
}

// topicDeliveryPolicy is a topic's DeliveryPolicy attribute: defaults per protocol.
type topicDeliveryPolicy struct {
	HTTP *struct {
		DefaultHealthyRetryPolicy    json.RawMessage `json:"defaultHealthyRetryPolicy,omitempty"`
		DisableSubscriptionOverrides bool            `json:"disableSubscriptionOverrides"`
		DefaultRequestPolicy         *requestPolicy  `json:"defaultRequestPolicy,omitempty"`
		DefaultThrottlePolicy        map[string]any  `json:"defaultThrottlePolicy,omitempty"`
	} `json:"http,omitempty"`
}

// parseRetryPolicy reads a user's retry policy; unset fields keep SNS's defaults.
func parseRetryPolicy(raw json.RawMessage) (RetryPolicy, error) {
	p := DefaultHTTPPolicy
	if len(raw) == 0 || string(raw) == "null" {
		return p, nil
	}
	if err := json.Unmarshal(raw, &p); err != nil {
		return p, err
	}
	return p, p.Validate()
}

// effectivePolicy is the retry policy and content type for an HTTP(S) subscription: the
// subscription's own policy unless the topic forbids overrides, else the topic's, else SNS's.
func effectivePolicy(topicAttr, subAttr string) (RetryPolicy, string) {
	p, ct := DefaultHTTPPolicy, "text/plain; charset=UTF-8"
	var tp topicDeliveryPolicy
	overrides := true
	if topicAttr != "" && json.Unmarshal([]byte(topicAttr), &tp) == nil && tp.HTTP != nil {
		if rp, err := parseRetryPolicy(tp.HTTP.DefaultHealthyRetryPolicy); err == nil && tp.HTTP.DefaultHealthyRetryPolicy != nil {
			p = rp
		}
		if tp.HTTP.DefaultRequestPolicy != nil && tp.HTTP.DefaultRequestPolicy.HeaderContentType != "" {
			ct = tp.HTTP.DefaultRequestPolicy.HeaderContentType
		}
		overrides = !tp.HTTP.DisableSubscriptionOverrides
	}
	var sp deliveryPolicy
	if overrides && subAttr != "" && json.Unmarshal([]byte(subAttr), &sp) == nil {
		if rp, err := parseRetryPolicy(sp.HealthyRetryPolicy); err == nil && sp.HealthyRetryPolicy != nil {
			p = rp
		}
		if sp.RequestPolicy != nil && sp.RequestPolicy.HeaderContentType != "" {
			ct = sp.RequestPolicy.HeaderContentType
		}
	}
	return p, ct
}
