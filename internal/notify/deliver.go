package notify

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// delivery is one outbox row: a message for one subscription.
type delivery struct {
	rowID      int64
	sub        string
	topic      string
	typ        string
	id         string
	subject    string
	message    string
	attributes string
	token      string
	sigVersion string
	at         time.Time
	attempt    int
}

func (s *Service) enqueue(ctx context.Context, tx *sql.Tx, d delivery) error {
	if d.sigVersion == "" {
		d.sigVersion = "1"
	}
	_, err := tx.ExecContext(ctx, `INSERT INTO sns_deliveries (sub_arn, topic_arn, type, message_id, subject, message, attributes, token, sig_version, timestamp, next_at) VALUES (?,?,?,?,?,?,?,?,?,?,?)`,
		d.sub, d.topic, d.typ, d.id, d.subject, d.message, d.attributes, d.token, d.sigVersion, d.at.UnixNano(), d.at.UnixNano())
	if err != nil {
		return fmt.Errorf("queue %s for %s: %w", d.typ, d.sub, err)
	}
	return nil
}

// kick wakes the delivery loop.
func (s *Service) kick() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// Run delivers queued messages until ctx ends, then waits for deliveries in flight. Rows
// interrupted by the end stay queued and are delivered at the next start.
func (s *Service) Run(ctx context.Context) error {
	flushed := make(chan struct{})
	go func() {
		defer close(flushed)
		for {
			select {
			case <-ctx.Done():
				return
			case <-s.finished:
				s.flush(ctx)
			}
		}
	}()
	timer := time.NewTimer(0)
	defer timer.Stop()
	for {
		next, err := s.dispatch(ctx)
		if err != nil && ctx.Err() == nil {
			s.log.Warn("sns delivery: reading the queue", "err", err)
			next = s.now().Add(time.Second)
		}
		wait := next.Sub(s.now())
		if next.IsZero() || wait > time.Minute {
			wait = time.Minute
		}
		timer.Reset(max(wait, 0))
		select {
		case <-ctx.Done():
			s.wg.Wait()
			<-flushed
			s.flush(context.WithoutCancel(ctx)) // outcomes of the last deliveries
			return nil
		case <-s.wake:
		case <-timer.C:
		}
	}
}

// dispatch starts deliveries for due rows, as many as free slots allow, and returns when the
// next row not yet started is due (zero when none is queued).
func (s *Service) dispatch(ctx context.Context) (time.Time, error) {
	s.mu.Lock()
	free := s.slots - len(s.inflight)
	s.mu.Unlock()
	now := s.now().UnixNano()
	rows, err := s.db.QueryContext(ctx, `SELECT id, sub_arn, topic_arn, type, message_id, subject, message, attributes, token, sig_version, timestamp, attempt, next_at
		FROM sns_deliveries ORDER BY next_at, id LIMIT ?`, s.slots*2+free)
	if err != nil {
		return time.Time{}, err
	}
	var due []delivery
	var next int64
	for rows.Next() {
		var d delivery
		var at, nextAt int64
		if err := rows.Scan(&d.rowID, &d.sub, &d.topic, &d.typ, &d.id, &d.subject, &d.message, &d.attributes, &d.token, &d.sigVersion, &at, &d.attempt, &nextAt); err != nil {
			rows.Close()
			return time.Time{}, err
		}
		d.at = time.Unix(0, at)
		s.mu.Lock()
		busy := s.inflight[d.rowID]
		s.mu.Unlock()
		switch {
		case busy:
		case nextAt <= now:
			// With every slot taken, a finishing delivery wakes the loop for this row.
			if len(due) < free {
				due = append(due, d)
			}
		case next == 0 || nextAt < next:
			next = nextAt
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return time.Time{}, err
	}
	for _, d := range due {
		s.mu.Lock()
		s.inflight[d.rowID] = true
		s.mu.Unlock()
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			o := s.deliver(ctx, d)
			s.mu.Lock()
			if o == nil {
				delete(s.inflight, d.rowID)
			} else {
				s.outcomes = append(s.outcomes, *o)
			}
			s.mu.Unlock()
			select {
			case s.finished <- struct{}{}:
			default:
			}
		}()
	}
	if next == 0 {
		return time.Time{}, nil
	}
	return time.Unix(0, next), nil
}

// permanent marks a failure that retrying cannot fix.
type permanent struct{ error }

// outcome is what became of one attempt, waiting to be committed with others.
type outcome struct {
	d          delivery
	sub        string // "" when the row is dropped without counting
	text       string
	delivered  bool
	failed     bool
	reschedule time.Time // zero: the row goes
}

// deliver makes one attempt: the row goes when delivered or given up, else it is rescheduled
// under the retry policy. nil leaves the row as it was (shutting down, or unreadable state).
func (s *Service) deliver(ctx context.Context, d delivery) *outcome {
	sub, err := s.subscription(ctx, d.sub)
	if errors.Is(err, errSubNotFound) {
		return &outcome{d: d}
	}
	if err != nil {
		s.log.Warn("sns delivery: reading subscription", "subscription", d.sub, "err", err)
		return nil
	}
	// A message for a subscription whose state changed since it was queued is dropped.
	want := map[string]string{TypeNotification: statusConfirmed, TypeSubscriptionConfirmation: statusPending, TypeUnsubscribeConfirmation: statusDeleted}[d.typ]
	if sub.status != want {
		return &outcome{d: d}
	}
	t, err := s.topic(ctx, s.db, d.topic)
	if err != nil {
		return &outcome{d: d}
	}
	start := time.Now()
	var result string
	policy := EmailPolicy
	switch sub.Protocol {
	case "http", "https":
		var ct string
		policy, ct = effectivePolicy(t.attrs["DeliveryPolicy"], sub.attrs["DeliveryPolicy"])
		result, err = s.postHTTP(ctx, sub, d, ct)
	case "email", "email-json":
		result, err = s.sendMail(ctx, sub, t, d)
	default:
		err = permanent{fmt.Errorf("cairn does not deliver to %s", sub.Protocol)}
	}
	if ctx.Err() != nil {
		return nil // shutting down: the row stays queued for the next start
	}
	s.metrics.duration.WithLabelValues(sub.Protocol).Observe(time.Since(start).Seconds())
	if err == nil {
		s.metrics.deliveries.WithLabelValues(sub.Protocol, "delivered").Inc()
		return &outcome{d: d, sub: sub.ARN, text: "delivered: " + result, delivered: true}
	}
	d.attempt++
	delay, again := policy.Delay(d.attempt)
	if errors.As(err, new(permanent)) || !again {
		s.metrics.deliveries.WithLabelValues(sub.Protocol, "failed").Inc()
		s.log.Warn("sns delivery failed; giving up", "subscription", d.sub, "message", d.id, "attempts", d.attempt, "err", err)
		return &outcome{d: d, sub: sub.ARN, text: fmt.Sprintf("failed after %d attempts: %v", d.attempt, err), failed: true}
	}
	s.metrics.deliveries.WithLabelValues(sub.Protocol, "retry").Inc()
	return &outcome{d: d, sub: sub.ARN, text: fmt.Sprintf("retrying (attempt %d failed): %v", d.attempt, err), reschedule: s.now().Add(delay)}
}

// flush commits the outcomes of finished attempts in one transaction (one fsync for many
// deliveries), then frees their rows for dispatch. A crash before the commit redelivers them:
// delivery is at least once.
func (s *Service) flush(ctx context.Context) {
	s.mu.Lock()
	batch := s.outcomes
	s.outcomes = nil
	s.mu.Unlock()
	if len(batch) == 0 {
		return
	}
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		for _, o := range batch {
			var err error
			if o.reschedule.IsZero() {
				_, err = tx.ExecContext(ctx, `DELETE FROM sns_deliveries WHERE id = ?`, o.d.rowID)
			} else {
				_, err = tx.ExecContext(ctx, `UPDATE sns_deliveries SET attempt = ?, next_at = ? WHERE id = ?`, o.d.attempt, o.reschedule.UnixNano(), o.d.rowID)
			}
			if err == nil && o.sub != "" {
				_, err = tx.ExecContext(ctx, `UPDATE sns_subscriptions SET delivered = delivered + ?, failed = failed + ?, last_outcome = ?, last_at = ? WHERE arn = ?`,
					o.delivered, o.failed, o.text, s.now().UnixNano(), o.sub)
			}
			if err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		s.log.Warn("sns delivery: recording outcomes", "deliveries", len(batch), "err", err)
	}
	s.mu.Lock()
	for _, o := range batch {
		delete(s.inflight, o.d.rowID)
	}
	s.mu.Unlock()
	s.kick()
}

func (s *Service) inTx(ctx context.Context, f func(*sql.Tx) error) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if err := f(tx); err != nil {
		return err
	}
	return tx.Commit()
}

// message builds and signs the JSON document an HTTP(S) or email-json endpoint receives.
func (s *Service) message(sub *subscription, d delivery) (*Message, error) {
	m := &Message{Type: d.typ, MessageID: d.id, TopicArn: d.topic, Message: d.message, Timestamp: Timestamp(d.at),
		SignatureVersion: d.sigVersion, SigningCertURL: s.SigningCertURL()}
	if d.typ == TypeNotification {
		m.Subject = d.subject
		m.UnsubscribeURL = s.unsubscribeURL(sub.ARN)
		if d.attributes != "" {
			m.MessageAttributes = json.RawMessage(d.attributes)
		}
	} else {
		m.Token = d.token
		m.SubscribeURL = s.subscribeURL(d.topic, d.token)
	}
	return m, s.sign(m)
}

// sign signs m, reusing the signature of the same message for another subscriber: the signed
// members are the same for every subscriber of a topic, and RSA signing is the costliest step
// of a delivery.
func (s *Service) sign(m *Message) error {
	key := m.SignatureVersion + "\x00" + StringToSign(m)
	s.mu.Lock()
	sig, ok := s.sigs[key]
	s.mu.Unlock()
	if ok {
		m.Signature = sig
		return nil
	}
	if err := Sign(m, s.signer.Key); err != nil {
		return err
	}
	s.mu.Lock()
	if len(s.sigs) >= 1024 {
		clear(s.sigs)
	}
	s.sigs[key] = m.Signature
	s.mu.Unlock()
	return nil
}

// postHTTP posts to an http(s) endpoint. As on SNS, any answer 200–499 within the timeout is
// a delivery; 5xx, redirects and transport errors are retried.
func (s *Service) postHTTP(ctx context.Context, sub *subscription, d delivery, contentType string) (string, error) {
	m, err := s.message(sub, d)
	if err != nil {
		return "", permanent{err}
	}
	body := m.Marshal()
	raw := d.typ == TypeNotification && sub.attrs["RawMessageDelivery"] == "true"
	if raw {
		body = []byte(d.message)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, sub.Endpoint, bytes.NewReader(body))
	if err != nil {
		return "", permanent{fmt.Errorf("endpoint %q: %w", sub.Endpoint, err)}
	}
	h := req.Header
	h.Set("x-amz-sns-message-type", d.typ)
	h.Set("x-amz-sns-message-id", d.id)
	h.Set("x-amz-sns-topic-arn", d.topic)
	if d.typ != TypeSubscriptionConfirmation {
		h.Set("x-amz-sns-subscription-arn", sub.ARN)
	}
	if raw {
		h.Set("x-amz-sns-rawdelivery", "true")
	}
	h.Set("Content-Type", contentType)
	h.Set("User-Agent", "Amazon Simple Notification Service Agent")
	resp, err := s.client.Do(req)
	if err != nil {
		return "", err
	}
	io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
	if resp.StatusCode < 200 || resp.StatusCode > 499 {
		return "", fmt.Errorf("HTTP %d", resp.StatusCode)
	}
	return fmt.Sprintf("HTTP %d", resp.StatusCode), nil
}

type metrics struct {
	published  prometheus.Counter
	deliveries *prometheus.CounterVec
	duration   *prometheus.HistogramVec
}

func newMetrics(reg prometheus.Registerer, s *Service) *metrics {
	m := &metrics{
		published: prometheus.NewCounter(prometheus.CounterOpts{Name: "cairn_sns_published_total", Help: "Messages accepted by Publish (API and alarms)."}),
		deliveries: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "cairn_sns_deliveries_total", Help: "SNS delivery attempts by protocol and outcome (delivered, retry, failed).",
		}, []string{"protocol", "outcome"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "cairn_sns_delivery_duration_seconds", Help: "Time of one delivery attempt.",
			Buckets: []float64{.001, .005, .01, .05, .1, .5, 1, 5, 15},
		}, []string{"protocol"}),
	}
	queued := prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "cairn_sns_queued_deliveries", Help: "Messages waiting for delivery or retry."}, func() float64 {
		var n int
		s.db.QueryRow(`SELECT COUNT(*) FROM sns_deliveries`).Scan(&n)
		return float64(n)
	})
	reg.MustRegister(m.published, m.deliveries, m.duration, queued)
	return m
}
