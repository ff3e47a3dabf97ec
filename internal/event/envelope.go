package event

import (
	"encoding/binary"
	"errors"
	"fmt"
	"strings"
	"time"
)

// An envelope is how an event is stored in the journal: a version byte, the event's Summary,
// then the record's bytes unchanged. The recorder parses each event once; readers that need
// only the summary (event history, deduplication) never parse JSON again.
//
//	version (1 byte) | eventTime (varint unix nanos, 0 if absent) | readOnly (1 byte: 0 absent,
//	1 false, 2 true) | 9 strings, each uvarint length + bytes: account, region, category,
//	eventName, eventSource, eventID, username, accessKeyId, resources | raw record
const envelopeVersion = 1

// Summary is what readers index an event by, derived once from the parsed record.
type Summary struct {
	EventTime   time.Time // zero if absent
	ReadOnly    int8      // -1 absent, 0 false, 1 true
	Account     string    // recipientAccountId
	Region      string    // awsRegion
	Category    string    // eventCategory, derived for old records
	EventName   string    // for Insights records, the API the insight is about
	EventSource string
	EventID     string
	Username    string // as LookupEvents reports it
	AccessKeyID string
	// Resources encodes each lookup resource as "\x1fTYPE\x1eNAME\x1eARN\x1f", so one
	// substring test finds a type or a name.
	Resources string
}

// Summary derives r's summary.
func (r *Record) Summary() Summary {
	s := Summary{
		EventTime: r.EventTime, ReadOnly: -1, Account: r.RecipientAccountID, Region: r.AWSRegion,
		Category: r.Category(), EventName: r.EventName, EventSource: r.EventSource, EventID: r.EventID,
		Username: r.Username(), AccessKeyID: r.AccessKeyID(),
	}
	if r.ReadOnly != nil {
		s.ReadOnly = 0
		if *r.ReadOnly {
			s.ReadOnly = 1
		}
	}
	if r.InsightDetails != nil {
		s.EventName, s.EventSource = r.InsightDetails.EventName, r.InsightDetails.EventSource
	}
	if res := r.LookupResources(); len(res) > 0 {
		var b strings.Builder
		for _, lr := range res {
			b.WriteString("\x1f")
			b.WriteString(lr.Type)
			b.WriteString("\x1e")
			b.WriteString(lr.Name)
			b.WriteString("\x1e")
			b.WriteString(lr.ARN)
			b.WriteString("\x1f")
		}
		s.Resources = b.String()
	}
	return s
}

// AppendEnvelope appends r's envelope (summary and Raw) to dst.
func AppendEnvelope(dst []byte, r *Record) []byte {
	s := r.Summary()
	dst = append(dst, envelopeVersion)
	var t int64
	if !s.EventTime.IsZero() {
		t = s.EventTime.UnixNano()
	}
	dst = binary.AppendVarint(dst, t)
	dst = append(dst, byte(s.ReadOnly+1))
	for _, f := range [...]string{s.Account, s.Region, s.Category, s.EventName, s.EventSource, s.EventID, s.Username, s.AccessKeyID, s.Resources} {
		dst = binary.AppendUvarint(dst, uint64(len(f)))
		dst = append(dst, f...)
	}
	return append(dst, r.Raw...)
}

// ErrEnvelope reports a journal payload that is not an event envelope.
var ErrEnvelope = errors.New("not an event envelope")

// OpenEnvelope splits an envelope into its summary and the raw record. Both alias b.
func OpenEnvelope(b []byte) (Summary, []byte, error) {
	var s Summary
	if len(b) < 2 || b[0] != envelopeVersion {
		return s, nil, fmt.Errorf("%w: unknown version", ErrEnvelope)
	}
	p := 1
	t, n := binary.Varint(b[p:])
	if n <= 0 {
		return s, nil, fmt.Errorf("%w: bad eventTime", ErrEnvelope)
	}
	p += n
	if t != 0 {
		s.EventTime = time.Unix(0, t).UTC()
	}
	if p >= len(b) {
		return s, nil, fmt.Errorf("%w: truncated", ErrEnvelope)
	}
	if b[p] > 2 {
		return s, nil, fmt.Errorf("%w: bad readOnly", ErrEnvelope)
	}
	s.ReadOnly = int8(b[p]) - 1
	p++
	for _, f := range [...]*string{&s.Account, &s.Region, &s.Category, &s.EventName, &s.EventSource, &s.EventID, &s.Username, &s.AccessKeyID, &s.Resources} {
		l, n := binary.Uvarint(b[p:])
		if n <= 0 || l > uint64(len(b)-p-n) {
			return s, nil, fmt.Errorf("%w: truncated", ErrEnvelope)
		}
		p += n
		*f = view(b[p : p+int(l)])
		p += int(l)
	}
	return s, b[p:], nil
}
