package lake

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/netip"
	"regexp"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"

	"github.com/cairn-dev/cairn/internal/event"
	"github.com/cairn-dev/cairn/internal/recorder"
)

// AuditEvent is one entry of a PutAuditEvents request.
type AuditEvent struct {
	ID                string
	EventData         string
	EventDataChecksum string
}

// AuditResult is the outcome of one entry: EventID on success, ErrorCode and ErrorMessage on
// failure (the codes CloudTrail uses: FieldTooLong, FieldNotFound, InvalidChecksum, InvalidData,
// InvalidRecipient, InternalFailure…).
type AuditResult struct {
	ID           string
	EventID      string
	ErrorCode    string
	ErrorMessage string
}

// Limits of PutAuditEvents.
const (
	MaxAuditEvents  = 100
	MaxAuditRequest = 1 << 20
)

var auditIDPattern = regexp.MustCompile(`^[-_A-Za-z0-9]{1,128}$`)

// activityVersion is the eventVersion of events from integrations.
const activityVersion = "1.0"

// PutAuditEvents records events from an application through one of the caller's channels. Bad
// entries fail one by one; the rest are recorded. The error is for the request as a whole.
func (l *Lake) PutAuditEvents(ctx context.Context, c Caller, channelRef string, events []AuditEvent) (ok, failed []AuditResult, err error) {
	if l.rec == nil {
		return nil, nil, fail(ErrInvalidParameter, "PutAuditEvents is not available on this cairn")
	}
	id, err := parseChannelRef(c, channelRef, ErrInvalidChannelARN)
	if err != nil {
		// A channel in another account's ARN is the caller's permission problem, as in AWS.
		if le, _ := err.(*Error); le != nil && le.Kind == ErrChannelNotFound && channelARN.MatchString(channelRef) {
			if m := channelARN.FindStringSubmatch(channelRef); m[2] != c.Account {
				return nil, nil, fail(ErrChannelInsufficientPermission, "Channel %s belongs to account %s; only its owner may send events through it.", channelRef, m[2])
			}
		}
		return nil, nil, err
	}
	l.mu.RLock()
	ch, found := l.channels[id]
	var chCopy Channel
	if found {
		chCopy = *ch
	}
	l.mu.RUnlock()
	if !found || chCopy.Region != c.Region {
		return nil, nil, fail(ErrChannelNotFound, "Channel %s not found in %s.", channelRef, c.Region)
	}
	if chCopy.Account != c.Account {
		return nil, nil, fail(ErrChannelInsufficientPermission, "Channel %s belongs to account %s; only its owner may send events through it.", channelRef, chCopy.Account)
	}
	if len(events) == 0 || len(events) > MaxAuditEvents {
		return nil, nil, fail(ErrInvalidParameter, "auditEvents must hold 1 to %d events; it holds %d.", MaxAuditEvents, len(events))
	}
	seen := map[string]bool{}
	for _, e := range events {
		if seen[e.ID] {
			return nil, nil, fail(ErrDuplicatedAuditEventID, "The id %q appears more than once in this request.", e.ID)
		}
		seen[e.ID] = true
	}
	now := l.now().UTC()
	var raws [][]byte
	var idx []int
	results := make([]AuditResult, len(events))
	for i, e := range events {
		results[i].ID = e.ID
		raw, code, msg := activityRecord(e, &chCopy, c.Region, now)
		if code != "" {
			results[i].ErrorCode, results[i].ErrorMessage = code, msg
			continue
		}
		raws = append(raws, raw)
		idx = append(idx, i)
	}
	if len(raws) > 0 {
		res, err := l.rec.Record(ctx, recorder.Scope{Account: chCopy.Account, Region: c.Region}, raws)
		if err != nil {
			return nil, nil, fmt.Errorf("record audit events: %w", err)
		}
		for n, r := range res {
			i := idx[n]
			switch r.Status {
			case recorder.Recorded, recorder.Duplicate:
				results[i].EventID = r.EventID
			default:
				results[i].ErrorCode, results[i].ErrorMessage = "InvalidData", r.Err.Error()
			}
		}
	}
	var latest AuditResult
	lastErr := ""
	for _, r := range results {
		if r.ErrorCode == "" {
			ok = append(ok, r)
			latest = r
		} else {
			failed = append(failed, r)
			lastErr = r.ErrorCode
		}
	}
	l.noteIngestion(ctx, chCopy.ID, now, latest.EventID, lastErr)
	return ok, failed, nil
}

// noteIngestion records the channel's latest PutAuditEvents for GetChannel.
func (l *Lake) noteIngestion(ctx context.Context, channelID string, at time.Time, eventID, errCode string) {
	l.mu.Lock()
	ch, ok := l.channels[channelID]
	if ok {
		ch.Ingestion.LatestAttempt, ch.Ingestion.LatestErrorCode = at, errCode
		if eventID != "" {
			ch.Ingestion.LatestAttemptEventID = eventID
			ch.Ingestion.LatestSuccess, ch.Ingestion.LatestSuccessEventID = at, eventID
		}
	}
	var st IngestionStatus
	if ok {
		st = ch.Ingestion
	}
	l.mu.Unlock()
	if !ok {
		return
	}
	_, err := l.meta.ExecContext(ctx, `UPDATE lake_channels SET last_success_at = ?, last_success_id = ?, last_attempt_at = ?,
		last_attempt_id = ?, last_error_code = ? WHERE id = ?`, optTime(st.LatestSuccess), st.LatestSuccessEventID,
		optTime(st.LatestAttempt), st.LatestAttemptEventID, st.LatestErrorCode, channelID)
	if err != nil {
		l.log.Warn("lake: recording channel ingestion status", "channel", channelID, "err", err)
	}
}

func optTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return formatTime(t)
}

// auditData is the eventData of an event from an integration (reference §5.4); the raw values
// are checked for shape, the record keeps the caller's bytes.
type auditData struct {
	Version      *string `json:"version"`
	UserIdentity *struct {
		Type        *string         `json:"type"`
		PrincipalID *string         `json:"principalId"`
		Details     json.RawMessage `json:"details"`
	} `json:"userIdentity"`
	UserAgent           *string         `json:"userAgent"`
	EventSource         *string         `json:"eventSource"`
	EventName           *string         `json:"eventName"`
	EventTime           *string         `json:"eventTime"`
	UID                 *string         `json:"UID"`
	RequestParameters   json.RawMessage `json:"requestParameters"`
	ResponseElements    json.RawMessage `json:"responseElements"`
	ErrorCode           *string         `json:"errorCode"`
	ErrorMessage        *string         `json:"errorMessage"`
	SourceIPAddress     *string         `json:"sourceIPAddress"`
	RecipientAccountID  *string         `json:"recipientAccountId"`
	AdditionalEventData json.RawMessage `json:"additionalEventData"`
}

// activityRecord checks one audit event and builds the record CloudTrail stores for it, or
// returns the entry's error code and message.
func activityRecord(e AuditEvent, ch *Channel, region string, now time.Time) ([]byte, string, string) {
	if !auditIDPattern.MatchString(e.ID) {
		return nil, "InvalidData", fmt.Sprintf("id %q must be 1 to 128 letters, digits, hyphens or underscores", e.ID)
	}
	if e.EventDataChecksum != "" {
		sum := sha256.Sum256([]byte(e.EventData))
		if base64.StdEncoding.EncodeToString(sum[:]) != e.EventDataChecksum {
			return nil, "InvalidChecksum", "eventDataChecksum is not the base64 SHA-256 of eventData"
		}
	}
	data := bytes.TrimSpace([]byte(e.EventData))
	if len(data) > event.MaxRecordBytes {
		return nil, "FieldTooLong", fmt.Sprintf("eventData is %d bytes; an event is at most %d", len(data), event.MaxRecordBytes)
	}
	var d auditData
	if len(data) == 0 || data[0] != '{' || !utf8.Valid(data) {
		return nil, "InvalidData", "eventData must be a JSON object"
	}
	if err := json.Unmarshal(data, &d); err != nil {
		return nil, "InvalidData", "eventData is not valid: " + err.Error()
	}
	required := []struct {
		name string
		v    *string
	}{{"version", d.Version}, {"eventSource", d.EventSource}, {"eventName", d.EventName}, {"eventTime", d.EventTime},
		{"UID", d.UID}, {"recipientAccountId", d.RecipientAccountID}}
	if d.UserIdentity == nil {
		return nil, "FieldNotFound", "eventData.userIdentity is required"
	}
	required = append(required, struct {
		name string
		v    *string
	}{"userIdentity.type", d.UserIdentity.Type}, struct {
		name string
		v    *string
	}{"userIdentity.principalId", d.UserIdentity.PrincipalID})
	for _, r := range required {
		if r.v == nil || *r.v == "" {
			return nil, "FieldNotFound", "eventData." + r.name + " is required"
		}
	}
	limits := []struct {
		name string
		v    *string
		max  int
	}{{"version", d.Version, 256}, {"userIdentity.type", d.UserIdentity.Type, 128}, {"userIdentity.principalId", d.UserIdentity.PrincipalID, 1024},
		{"userAgent", d.UserAgent, 1024}, {"eventSource", d.EventSource, 1024}, {"eventName", d.EventName, 1024}, {"UID", d.UID, 1024},
		{"errorCode", d.ErrorCode, 256}, {"errorMessage", d.ErrorMessage, 256}}
	for _, f := range limits {
		if f.v != nil && len(*f.v) > f.max {
			return nil, "FieldTooLong", fmt.Sprintf("eventData.%s is %d characters; the limit is %d", f.name, len(*f.v), f.max)
		}
	}
	for _, f := range []struct {
		name string
		v    json.RawMessage
		max  int
	}{{"requestParameters", d.RequestParameters, 100 << 10}, {"responseElements", d.ResponseElements, 100 << 10}, {"additionalEventData", d.AdditionalEventData, 28 << 10}} {
		if len(f.v) > f.max {
			return nil, "FieldTooLong", fmt.Sprintf("eventData.%s is %d bytes; the limit is %d", f.name, len(f.v), f.max)
		}
	}
	t, err := event.ParseTime(*d.EventTime)
	if err != nil {
		return nil, "InvalidData", fmt.Sprintf("eventData.eventTime %q is not a time such as 2024-01-31T15:04:05Z", *d.EventTime)
	}
	if *d.RecipientAccountID != ch.Account {
		return nil, "InvalidRecipient", fmt.Sprintf("eventData.recipientAccountId %s is not the channel owner's account %s", *d.RecipientAccountID, ch.Account)
	}
	if d.SourceIPAddress != nil && *d.SourceIPAddress != "" {
		if _, err := netip.ParseAddr(*d.SourceIPAddress); err != nil {
			return nil, "InvalidData", fmt.Sprintf("eventData.sourceIPAddress %q is not an IPv4 or IPv6 address", *d.SourceIPAddress)
		}
	}
	rec := struct {
		EventVersion       string          `json:"eventVersion"`
		EventCategory      string          `json:"eventCategory"`
		EventType          string          `json:"eventType"`
		EventID            string          `json:"eventID"`
		EventTime          string          `json:"eventTime"`
		AWSRegion          string          `json:"awsRegion"`
		RecipientAccountID string          `json:"recipientAccountId"`
		Metadata           map[string]any  `json:"metadata"`
		EventData          json.RawMessage `json:"eventData"`
	}{activityVersion, event.CategoryActivityAuditLog, "ActivityLog", uuid.NewString(), t.Format(event.TimeLayout), region, ch.Account,
		map[string]any{"ingestionTime": now.Format(event.TimeLayout), "channelARN": ch.ARN()}, json.RawMessage(data)}
	b, err := marshal(rec)
	if err != nil {
		return nil, "InvalidData", "eventData is not valid JSON: " + err.Error()
	}
	return b, "", ""
}

// marshal encodes v without escaping <, > and &, so embedded JSON keeps the caller's characters.
func marshal(v any) ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimRight(b.Bytes(), "\n"), nil
}
