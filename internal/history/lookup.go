package history

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/cairn-dev/cairn/internal/event"
)

// The kinds of invalid lookup, one per AWS exception; errors wrap them in *Error.
var (
	ErrInvalidLookupAttributes = errors.New("invalid lookup attributes")
	ErrInvalidTimeRange        = errors.New("invalid time range")
	ErrInvalidMaxResults       = errors.New("invalid max results")
	ErrInvalidNextToken        = errors.New("invalid next token")
	ErrInvalidEventCategory    = errors.New("invalid event category")
)

// Error is an invalid lookup: Kind says which rule, Message says what was wrong.
type Error struct {
	Kind    error
	Message string
}

func (e *Error) Error() string { return e.Message }
func (e *Error) Unwrap() error { return e.Kind }

func invalid(kind error, format string, args ...any) error {
	return &Error{Kind: kind, Message: fmt.Sprintf(format, args...)}
}

// Attribute keys LookupEvents accepts (case-sensitive, as AWS).
const (
	AttrEventID      = "EventId"
	AttrEventName    = "EventName"
	AttrReadOnly     = "ReadOnly"
	AttrUsername     = "Username"
	AttrResourceType = "ResourceType"
	AttrResourceName = "ResourceName"
	AttrEventSource  = "EventSource"
	AttrAccessKeyID  = "AccessKeyId"
)

var attributeKeys = []string{AttrEventID, AttrEventName, AttrReadOnly, AttrUsername, AttrResourceType, AttrResourceName, AttrEventSource, AttrAccessKeyID}

// CategoryInsight is the one EventCategory value LookupEvents accepts.
const CategoryInsight = "insight"

// Limits from the LookupEvents API.
const (
	DefaultMaxResults = 50
	MaxMaxResults     = 50
	maxValueLength    = 2000
)

// Attribute is one lookup condition.
type Attribute struct {
	Key, Value string
}

// Query is a LookupEvents request, scoped to the caller's account and region.
type Query struct {
	Account, Region string
	// Attributes are ANDed. AWS allows one; cairn allows several.
	Attributes []Attribute
	Start, End time.Time // inclusive; zero means unbounded
	Category   string    // "" for management events, "insight" for Insights events
	MaxResults int       // 1..50; 0 means 50
	NextToken  string
}

// Page is one page of results, newest first.
type Page struct {
	Events    []*event.Record // with Raw set
	NextToken string
}

func (q *Query) validate() error {
	for _, a := range q.Attributes {
		if !contains(attributeKeys, a.Key) {
			return invalid(ErrInvalidLookupAttributes, "Invalid lookup attribute key %q: valid keys are %s.", a.Key, strings.Join(attributeKeys, ", "))
		}
		if a.Value == "" {
			return invalid(ErrInvalidLookupAttributes, "The value of lookup attribute %s must not be empty.", a.Key)
		}
		if n := valueLength(a.Value); n > maxValueLength {
			return invalid(ErrInvalidLookupAttributes, "The value of lookup attribute %s is %d characters long; the limit is %d.", a.Key, n, maxValueLength)
		}
		if q.Category == CategoryInsight && !contains([]string{AttrEventID, AttrEventName, AttrEventSource}, a.Key) {
			return invalid(ErrInvalidLookupAttributes, "Lookup attribute %s cannot be used with EventCategory insight; use EventId, EventName or EventSource.", a.Key)
		}
	}
	if q.Category != "" && q.Category != CategoryInsight {
		return invalid(ErrInvalidEventCategory, "Invalid EventCategory %q: the only valid value is insight.", q.Category)
	}
	if !q.Start.IsZero() && !q.End.IsZero() && q.Start.After(q.End) {
		return invalid(ErrInvalidTimeRange, "Invalid time range: StartTime %s is after EndTime %s.", q.Start.UTC().Format(time.RFC3339), q.End.UTC().Format(time.RFC3339))
	}
	if q.MaxResults < 0 || q.MaxResults > MaxMaxResults {
		return invalid(ErrInvalidMaxResults, "MaxResults %d is out of range: it must be between 1 and %d.", q.MaxResults, MaxMaxResults)
	}
	return nil
}

// valueLength counts as AWS does: underscores, spaces, commas and newlines count twice.
func valueLength(s string) int {
	n := 0
	for _, r := range s {
		n++
		switch r {
		case '_', ' ', ',', '\n':
			n++
		}
	}
	return n
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// binding identifies a query's parameters, so a token is honoured only with the same ones.
func (q *Query) binding() []byte {
	h := sha256.New()
	fmt.Fprintf(h, "%s\x00%s\x00%s\x00%d\x00%d\x00", q.Account, q.Region, q.Category, q.Start.UnixNano(), q.End.UnixNano())
	for _, a := range q.Attributes {
		fmt.Fprintf(h, "%s\x00%s\x00", a.Key, a.Value)
	}
	return h.Sum(nil)[:12]
}

// position is where a page ended: the last (eventTime, seq) returned.
type position struct {
	time int64 // unix nanos
	seq  uint64
}

func (q *Query) encodeToken(p position) string {
	b := make([]byte, 0, 1+12+16)
	b = append(b, 1) // version
	b = append(b, q.binding()...)
	b = binary.BigEndian.AppendUint64(b, uint64(p.time))
	b = binary.BigEndian.AppendUint64(b, p.seq)
	return base64.RawURLEncoding.EncodeToString(b)
}

func (q *Query) decodeToken() (position, error) {
	b, err := base64.RawURLEncoding.DecodeString(q.NextToken)
	if err != nil || len(b) != 1+12+16 || b[0] != 1 {
		return position{}, invalid(ErrInvalidNextToken, "Invalid NextToken: it was not returned by LookupEvents.")
	}
	if hex.EncodeToString(b[1:13]) != hex.EncodeToString(q.binding()) {
		return position{}, invalid(ErrInvalidNextToken, "Invalid NextToken: it belongs to a lookup with different parameters; repeat the original parameters with it.")
	}
	return position{time: int64(binary.BigEndian.Uint64(b[13:])), seq: binary.BigEndian.Uint64(b[21:])}, nil
}

// match is one event found, before its record is read.
type match struct {
	pos  position
	off  int64
	cold bool // found by hash: re-check the record before answering
}

// Lookup answers a LookupEvents query.
func (ix *Index) Lookup(ctx context.Context, q Query) (*Page, error) {
	if err := q.validate(); err != nil {
		return nil, err
	}
	limit := q.MaxResults
	if limit == 0 {
		limit = DefaultMaxResults
	}
	var after *position
	if q.NextToken != "" {
		p, err := q.decodeToken()
		if err != nil {
			return nil, err
		}
		after = &p
	}
	cutoff := ix.opts.Now().Add(-ix.opts.Retention)

	// One consistent cut: DuckDB up to flushed, the recent tier above it.
	ix.mu.RLock()
	flushed := ix.flushed
	hot := ix.hot
	ix.mu.RUnlock()

	t0 := time.Now()
	matches := ix.scanHot(hot, &q, after, cutoff, limit+1)
	t1 := time.Now()
	cold, err := ix.queryCold(ctx, &q, after, cutoff, flushed, limit+1)
	if err != nil {
		return nil, err
	}
	t2 := time.Now()
	defer func() {
		if d := time.Since(t0); d > 100*time.Millisecond {
			ix.opts.Logger.Debug("history: slow lookup", "took", d, "recent_tier", t1.Sub(t0), "recent_events", len(hot),
				"duckdb", t2.Sub(t1), "read_records", time.Since(t2), "attributes", q.Attributes)
		}
	}()
	matches = append(matches, cold...)
	sortNewestFirst(matches)

	page := &Page{}
	if len(matches) > limit {
		matches = matches[:limit]
		page.NextToken = q.encodeToken(matches[limit-1].pos)
	}
	for _, m := range matches {
		e, err := ix.j.ReadAt(m.pos.seq, m.off)
		if err != nil {
			return nil, fmt.Errorf("history: read event %d from the journal: %w", m.pos.seq, err)
		}
		sum, raw, err := event.OpenEnvelope(e.Data)
		if err != nil {
			return nil, fmt.Errorf("history: event %d: %w", m.pos.seq, err)
		}
		if m.cold {
			if !matchesSummary(sum, &q) {
				continue // a hash collision: not the event asked for
			}
		}
		r, err := event.Parse(raw)
		if err != nil {
			return nil, fmt.Errorf("history: event %d: %w", m.pos.seq, err)
		}
		page.Events = append(page.Events, r)
	}
	return page, nil
}

func sortNewestFirst(m []match) {
	sort.Slice(m, func(i, j int) bool {
		if m[i].pos.time != m[j].pos.time {
			return m[i].pos.time > m[j].pos.time
		}
		return m[i].pos.seq > m[j].pos.seq
	})
}

// before reports whether p sorts after the page boundary (older, or same time and lower seq).
func (p position) before(b *position) bool {
	return b == nil || p.time < b.time || (p.time == b.time && p.seq < b.seq)
}

func (q *Query) wantCategory() string {
	if q.Category == CategoryInsight {
		return event.CategoryInsight
	}
	return event.CategoryManagement
}

func (ix *Index) scanHot(hot []entry, q *Query, after *position, cutoff time.Time, limit int) []match {
	var out []match
	scope := scopeKey(q.Account, q.Region, q.wantCategory())
	cut := cutoff.UnixNano()
	for i := range hot {
		e := &hot[i]
		if e.scope != scope || e.recorded < cut {
			continue
		}
		if (!q.Start.IsZero() && e.eventTime < q.Start.UnixNano()) || (!q.End.IsZero() && e.eventTime > q.End.UnixNano()) {
			continue
		}
		p := position{time: e.eventTime, seq: e.seq}
		if !p.before(after) || !e.matches(q.Attributes) {
			continue
		}
		// The scope is a hash: re-check the record like a DuckDB match.
		out = append(out, match{pos: p, off: e.off, cold: true})
	}
	// Keep only the newest limit; the cold tier adds its own.
	sortNewestFirst(out)
	if len(out) > limit {
		out = out[:limit]
	}
	return out
}

// matchesSummary reports whether a record's summary answers q exactly.
func matchesSummary(s event.Summary, q *Query) bool {
	if s.Account != q.Account || s.Region != q.Region || s.Category != q.wantCategory() {
		return false
	}
	return MatchAttributes(s, q.Attributes)
}

// MatchAttributes reports whether an event satisfies every lookup attribute, by LookupEvents'
// rules (exports filter with them too). Account, region and category are not its concern.
func MatchAttributes(s event.Summary, attrs []Attribute) bool {
	e := entry{name: s.EventName, source: s.EventSource, eventID: s.EventID, readOnly: s.ReadOnly,
		username: s.Username, accessKey: s.AccessKeyID, resources: s.Resources}
	return e.matches(attrs)
}

// ValidateAttributes checks lookup attributes as LookupEvents does.
func ValidateAttributes(attrs []Attribute) error {
	q := Query{Attributes: attrs}
	return q.validate()
}

func (e *entry) matches(attrs []Attribute) bool {
	for _, a := range attrs {
		var ok bool
		switch a.Key {
		case AttrEventID:
			ok = e.eventID == a.Value
		case AttrEventName:
			ok = e.name == a.Value
		case AttrEventSource:
			ok = e.source == a.Value
		case AttrUsername:
			ok = e.username == a.Value
		case AttrAccessKeyID:
			ok = e.accessKey == a.Value
		case AttrReadOnly:
			ok = (a.Value == "true" && e.readOnly == 1) || (a.Value == "false" && e.readOnly == 0)
		case AttrResourceType:
			ok = strings.Contains(e.resources, "\x1f"+a.Value+"\x1e")
		case AttrResourceName:
			ok = strings.Contains(e.resources, "\x1e"+a.Value+"\x1e") || strings.Contains(e.resources, "\x1e"+a.Value+"\x1f")
		}
		if !ok {
			return false
		}
	}
	return true
}

func (ix *Index) queryCold(ctx context.Context, q *Query, after *position, cutoff time.Time, flushed uint64, limit int) ([]match, error) {
	var where []string
	var args []any
	add := func(cond string, a ...any) {
		where = append(where, cond)
		args = append(args, a...)
	}
	scope := scopeKey(q.Account, q.Region, q.wantCategory())
	table := "history"
	var resourceAttrs []Attribute
	for _, a := range q.Attributes {
		if a.Key == AttrResourceType || a.Key == AttrResourceName {
			resourceAttrs = append(resourceAttrs, a)
		}
	}
	resKey := func(a Attribute) int64 {
		if a.Key == AttrResourceType {
			return resourceTypeKey(a.Value)
		}
		return resourceNameKey(a.Value)
	}
	if len(resourceAttrs) > 0 && len(resourceAttrs) == len(q.Attributes) {
		// Resource-only lookups read the resource table alone; it carries what the query
		// filters and sorts on.
		table = "history_resources"
		add("key = ?", resKey(resourceAttrs[0]))
		for _, a := range resourceAttrs[1:] {
			add("seq IN (SELECT seq FROM history_resources WHERE scope = ? AND key = ?)", scope, resKey(a))
		}
	} else {
		for _, a := range resourceAttrs {
			add("seq IN (SELECT seq FROM history_resources WHERE scope = ? AND key = ?)", scope, resKey(a))
		}
	}
	// DuckDB evaluates conditions in the order written: the selective ones (attribute values)
	// first, then the time window, then the broad ones. Measured at 10 M events, an EventId
	// lookup takes 10 ms this way and 26 ms with the attribute last.
	for _, a := range q.Attributes {
		switch a.Key {
		case AttrEventID:
			add("eventid = ?", eventIDKey(a.Value))
		case AttrEventName:
			add("eventname = ?", a.Value)
		case AttrEventSource:
			add("eventsource = ?", a.Value)
		case AttrUsername:
			add("username = ?", a.Value)
		case AttrAccessKeyID:
			add("accesskeyid = ?", a.Value)
		case AttrReadOnly:
			switch a.Value {
			case "true", "false":
				add("readonly = ?", a.Value == "true")
			default:
				add("false")
			}
		}
	}
	if !q.Start.IsZero() {
		add("eventtime >= ?", q.Start.UTC())
	}
	if !q.End.IsZero() {
		add("eventtime <= ?", q.End.UTC())
	}
	if after != nil {
		t := time.Unix(0, after.time).UTC()
		add("(eventtime < ? OR (eventtime = ? AND seq < ?))", t, t, after.seq)
	}
	add("scope = ?", scope)
	add("seq <= ?", flushed)
	add("recordedtime >= ?", cutoff)
	query := "SELECT seq, off, eventtime FROM " + table + " WHERE " + strings.Join(where, " AND ") +
		" ORDER BY eventtime DESC, seq DESC LIMIT " + fmt.Sprint(limit)
	rows, err := ix.db.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("history: lookup: %w", err)
	}
	defer rows.Close()
	var out []match
	for rows.Next() {
		var m match
		var t *time.Time
		if err := rows.Scan(&m.pos.seq, &m.off, &t); err != nil {
			return nil, fmt.Errorf("history: lookup: %w", err)
		}
		if t != nil {
			m.pos.time = t.UnixNano()
		}
		m.cold = true
		out = append(out, m)
	}
	return out, rows.Err()
}
