package recorder

import (
	"context"
	"encoding/json"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/cairn-dev/cairn/internal/event"
)

// Call is one call to cairn's own API, recorded as a CloudTrail event so that what watches
// CloudTrail (rules on StopLogging, failed sign-ins…) watches cairn too.
type Call struct {
	Time              time.Time
	Identity          *event.UserIdentity // nil when the caller is unknown
	Account, Region   string              // recipientAccountId and awsRegion
	Source            string              // eventSource, e.g. cloudtrail.amazonaws.com
	Name              string              // eventName: the operation
	ReadOnly          bool
	Data              bool // a data event (native ingest) rather than a management event
	SourceIP          string
	UserAgent         string
	RequestParameters json.RawMessage // nil records null
	ResponseElements  json.RawMessage // nil records null
	ErrorCode         string
	ErrorMessage      string
	RequestID         string
	TLS               *event.TLSDetails
}

// ReadOnlyOperation reports whether CloudTrail records a call of the operation op as readOnly:
// the operations that only read (Get…, Describe…, List…, Lookup…).
func ReadOnlyOperation(op string) bool {
	for _, p := range []string{"Get", "Describe", "List", "Lookup"} {
		if strings.HasPrefix(op, p) {
			return true
		}
	}
	return false
}

// auditRecord has CloudTrail's field order; nil pointers and empty optional strings are
// omitted as AWS omits them, while requestParameters and responseElements are always present.
type auditRecord struct {
	EventVersion       string              `json:"eventVersion"`
	UserIdentity       *event.UserIdentity `json:"userIdentity,omitempty"`
	EventTime          string              `json:"eventTime"`
	EventSource        string              `json:"eventSource"`
	EventName          string              `json:"eventName"`
	AWSRegion          string              `json:"awsRegion"`
	SourceIPAddress    string              `json:"sourceIPAddress"`
	UserAgent          string              `json:"userAgent,omitempty"`
	ErrorCode          string              `json:"errorCode,omitempty"`
	ErrorMessage       string              `json:"errorMessage,omitempty"`
	RequestParameters  json.RawMessage     `json:"requestParameters"`
	ResponseElements   json.RawMessage     `json:"responseElements"`
	RequestID          string              `json:"requestID"`
	EventID            string              `json:"eventID"`
	ReadOnly           bool                `json:"readOnly"`
	EventType          string              `json:"eventType"`
	ManagementEvent    bool                `json:"managementEvent"`
	RecipientAccountID string              `json:"recipientAccountId"`
	EventCategory      string              `json:"eventCategory"`
	TLSDetails         *event.TLSDetails   `json:"tlsDetails,omitempty"`
}

// Marshal renders the call as a CloudTrail record.
func (c Call) Marshal() []byte {
	null := json.RawMessage("null")
	rec := auditRecord{
		EventVersion: event.CurrentVersion, UserIdentity: c.Identity,
		EventTime: c.Time.UTC().Format(event.TimeLayout), EventSource: c.Source, EventName: c.Name,
		AWSRegion: c.Region, SourceIPAddress: c.SourceIP, UserAgent: truncate(c.UserAgent, 1024),
		ErrorCode: truncate(c.ErrorCode, 1024), ErrorMessage: truncate(c.ErrorMessage, 1024),
		RequestParameters: c.RequestParameters, ResponseElements: c.ResponseElements,
		RequestID: c.RequestID, EventID: uuid.NewString(), ReadOnly: c.ReadOnly,
		EventType: "AwsApiCall", ManagementEvent: !c.Data, RecipientAccountID: c.Account,
		EventCategory: event.CategoryManagement, TLSDetails: c.TLS,
	}
	if c.Data {
		rec.EventCategory = event.CategoryData
	}
	if len(rec.RequestParameters) == 0 {
		rec.RequestParameters = null
	}
	if len(rec.ResponseElements) == 0 {
		rec.ResponseElements = null
	}
	b, err := json.Marshal(rec)
	if err != nil {
		// Only malformed RawMessage can fail; record the call without them rather than lose it.
		rec.RequestParameters, rec.ResponseElements = null, null
		b, _ = json.Marshal(rec)
	}
	return b
}

// truncate cuts s to at most n bytes, as CloudTrail truncates long userAgent and error fields,
// without splitting a UTF-8 sequence.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && s[n]&0xC0 == 0x80 {
		n--
	}
	return s[:n]
}

// Auditor records calls in the background, in batches, so auditing adds no fsync to a call's
// latency. A full queue applies back-pressure rather than dropping a call.
type Auditor struct {
	r     *Recorder
	queue chan Call
}

// NewAuditor returns an auditor recording through r.
func NewAuditor(r *Recorder) *Auditor {
	return &Auditor{r: r, queue: make(chan Call, 4096)}
}

// Audit queues a call. It blocks only while the queue is full.
func (a *Auditor) Audit(ctx context.Context, c Call) {
	select {
	case a.queue <- c:
	case <-ctx.Done():
		a.r.opts.Logger.Error("self-audit: call not recorded, request ended while the audit queue was full", "event", c.Name)
	}
}

// Run records queued calls until ctx is done, then records what is still queued. Batches are
// recorded without ctx's cancellation: a call taken from the queue as ctx ends is still recorded.
func (a *Auditor) Run(ctx context.Context) {
	batch := make([][]byte, 0, 256)
	record := context.WithoutCancel(ctx)
	flush := func() {
		if len(batch) == 0 {
			return
		}
		results, err := a.r.Record(record, Scope{AnyAccount: true}, batch)
		if err != nil {
			a.r.opts.Logger.Error("self-audit: recording failed", "calls", len(batch), "err", err)
		}
		for _, res := range results {
			if res.Status == Rejected {
				a.r.opts.Logger.Error("self-audit: record rejected", "err", res.Err)
			}
		}
		batch = batch[:0]
	}
	for {
		select {
		case c := <-a.queue:
			batch = append(batch, c.Marshal())
		drain:
			for len(batch) < cap(batch) {
				select {
				case c := <-a.queue:
					batch = append(batch, c.Marshal())
				default:
					break drain
				}
			}
			flush()
		case <-ctx.Done():
			for {
				select {
				case c := <-a.queue:
					batch = append(batch, c.Marshal())
				default:
					flush()
					return
				}
			}
		}
	}
}
