package logs

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/cairn-dev/cairn/internal/pattern"
)

// PutLogEvents limits, as AWS documents them.
const (
	MaxBatchEvents  = 10000
	MaxBatchBytes   = 1048576 // messages in UTF-8 plus 26 bytes per event
	EventOverhead   = 26
	MaxEventBytes   = 1048576 - EventOverhead
	maxBatchSpan    = 24 * time.Hour
	maxPast         = 14 * 24 * time.Hour
	maxFuture       = 2 * time.Hour
	dayMS           = int64(24 * time.Hour / time.Millisecond)
	MaxFilterLimit  = 10000
	MaxGetLimit     = 10000
	filterScanBatch = 1000
	// filterScanMax bounds the events one FilterLogEvents call reads; past it the call returns
	// what it found with a nextToken, as AWS does on large groups.
	filterScanMax = 200000
	maxPageBytes  = 1 << 20
)

// InputEvent is one event of a PutLogEvents batch.
type InputEvent struct {
	Timestamp int64 // ms
	Message   string
}

// Rejected says which events of a batch were not stored (indexes into the batch; -1: none).
type Rejected struct {
	TooNewStartIndex int
	TooOldEndIndex   int
	ExpiredEndIndex  int
}

// Any reports whether any event was rejected.
func (r Rejected) Any() bool {
	return r.TooNewStartIndex >= 0 || r.TooOldEndIndex >= 0 || r.ExpiredEndIndex >= 0
}

// Event is a stored log event.
type Event struct {
	ID            int64
	Stream        string
	Timestamp     int64
	IngestionTime int64
	Message       string
}

// Put stores a batch of events in a stream, as PutLogEvents does: the batch must be in
// chronological order; events too far in the future or past are rejected while the others are
// stored.
func (s *Store) Put(ctx context.Context, sc Scope, group, stream string, events []InputEvent) (Rejected, error) {
	rej := Rejected{-1, -1, -1}
	if len(events) == 0 || len(events) > MaxBatchEvents {
		return rej, errorf(ErrInvalidParameter, "1 validation error detected: Value at 'logEvents' failed to satisfy constraint: Member must have length between 1 and %d (got %d).", MaxBatchEvents, len(events))
	}
	size := 0
	for i, e := range events {
		if len(e.Message) == 0 {
			return rej, errorf(ErrInvalidParameter, "Log event %d has an empty message: messages must be at least 1 character long.", i)
		}
		if len(e.Message) > MaxEventBytes {
			return rej, errorf(ErrInvalidParameter, "Log event %d is too large: %d bytes, the limit is %d.", i, len(e.Message), MaxEventBytes)
		}
		if i > 0 && e.Timestamp < events[i-1].Timestamp {
			return rej, errorf(ErrInvalidParameter, "Log events in a single PutLogEvents request must be in chronological order: event %d (timestamp %d) is older than event %d (timestamp %d).", i, e.Timestamp, i-1, events[i-1].Timestamp)
		}
		size += len(e.Message) + EventOverhead
	}
	if size > MaxBatchBytes {
		return rej, errorf(ErrInvalidParameter, "The batch of log events is %d bytes (messages plus 26 bytes per event); the limit is %d.", size, MaxBatchBytes)
	}
	g, err := s.Group(ctx, sc, group)
	if err != nil {
		return rej, err
	}
	now := s.opts.Now()
	tooNew := now.Add(maxFuture).UnixMilli()
	tooOld := now.Add(-maxPast).UnixMilli()
	expired := int64(-1 << 62)
	if g.RetentionInDays > 0 {
		expired = now.UnixMilli() - int64(g.RetentionInDays)*dayMS
	}
	start, end := 0, len(events)
	for i, e := range events {
		if e.Timestamp < tooOld {
			rej.TooOldEndIndex, start = i, i+1
		}
		if e.Timestamp < expired {
			rej.ExpiredEndIndex, start = i, max(start, i+1)
		}
		if e.Timestamp > tooNew && rej.TooNewStartIndex < 0 {
			rej.TooNewStartIndex, end = i, i
		}
	}
	if start >= end {
		return rej, nil
	}
	kept := events[start:end]
	if span := time.Duration(kept[len(kept)-1].Timestamp-kept[0].Timestamp) * time.Millisecond; span > maxBatchSpan {
		return Rejected{-1, -1, -1}, errorf(ErrInvalidParameter, "The log events in the batch span %v; a batch may span at most 24 hours.", span)
	}
	req := &putRequest{group: g, stream: stream, events: kept, ingestion: now.UnixMilli()}
	if err := s.commitPut(ctx, req); err != nil {
		return Rejected{-1, -1, -1}, err
	}
	stored := req.stored
	s.applyFilters(ctx, g, stored)
	return rej, nil
}

// putRequest is one PutLogEvents batch waiting to be committed.
type putRequest struct {
	group     *Group
	stream    string
	events    []InputEvent
	ingestion int64

	done   bool
	stored []Event
	err    error
}

// commitPut stores a batch with group commit: concurrent batches are written in one
// transaction, so they share one fsync. The first caller to take commitMu commits everything
// queued by then, its own batch included; the others find theirs done.
func (s *Store) commitPut(ctx context.Context, req *putRequest) error {
	s.queueMu.Lock()
	s.queue = append(s.queue, req)
	s.queueMu.Unlock()
	s.commitMu.Lock()
	defer s.commitMu.Unlock()
	if req.done {
		return req.err
	}
	s.queueMu.Lock()
	batch := s.queue
	s.queue = nil
	s.queueMu.Unlock()
	err := s.inTx(context.WithoutCancel(ctx), func(tx *sql.Tx) error {
		for _, r := range batch {
			var id int64
			err := tx.QueryRowContext(ctx, `SELECT id FROM log_streams WHERE group_id = ? AND name = ?`, r.group.ID, r.stream).Scan(&id)
			if errors.Is(err, sql.ErrNoRows) {
				r.err = errorf(ErrNotFound, "The specified log stream does not exist: %s in log group %s.", r.stream, r.group.Name)
				continue
			} else if err != nil {
				return err
			}
			if r.stored, err = appendEvents(ctx, tx, r.group.ID, id, r.stream, r.events, r.ingestion); err != nil {
				return err
			}
		}
		return nil
	})
	for _, r := range batch {
		r.done = true
		if err != nil {
			r.err, r.stored = fmt.Errorf("store log events: %w", err), nil
		}
	}
	return req.err
}

// appendEvents inserts events into a stream and updates the stream's statistics.
func appendEvents(ctx context.Context, tx *sql.Tx, groupID, streamID int64, stream string, events []InputEvent, ingestion int64) ([]Event, error) {
	if len(events) == 0 {
		return nil, nil
	}
	ins, err := tx.PrepareContext(ctx, `INSERT INTO log_events (group_id, stream_id, ts, ingestion_ms, message) VALUES (?, ?, ?, ?, ?)`)
	if err != nil {
		return nil, err
	}
	defer ins.Close()
	out := make([]Event, 0, len(events))
	first, last := events[0].Timestamp, events[0].Timestamp
	bytes := int64(0)
	for _, e := range events {
		res, err := ins.ExecContext(ctx, groupID, streamID, e.Timestamp, ingestion, e.Message)
		if err != nil {
			return nil, fmt.Errorf("store log event: %w", err)
		}
		id, _ := res.LastInsertId()
		out = append(out, Event{ID: id, Stream: stream, Timestamp: e.Timestamp, IngestionTime: ingestion, Message: e.Message})
		first, last = min(first, e.Timestamp), max(last, e.Timestamp)
		bytes += int64(len(e.Message))
	}
	_, err = tx.ExecContext(ctx, `UPDATE log_streams SET first_event_ms = min(coalesce(first_event_ms, ?), ?), last_event_ms = max(coalesce(last_event_ms, ?), ?),
		last_ingestion_ms = ?, stored_bytes = stored_bytes + ? WHERE id = ?`, first, first, last, last, ingestion, bytes, streamID)
	return out, err
}

// cutoff is the oldest timestamp a group with retention days still keeps.
func (s *Store) cutoff(days int) int64 {
	if days <= 0 {
		return -1 << 62
	}
	return s.nowMS() - int64(days)*dayMS
}

// GetQuery selects events of one stream for GetLogEvents.
type GetQuery struct {
	Start, End    *int64 // ms; End exclusive
	Limit         int
	NextToken     string
	StartFromHead bool
}

// GetPage is a GetLogEvents result.
type GetPage struct {
	Events                []Event
	NextForward, Backward string
}

// Get reads a stream's events. Without a token it returns the newest events (the oldest with
// StartFromHead); a forward token continues after the last event returned, a backward token
// before the first. At either end the token given comes back, as AWS does.
func (s *Store) Get(ctx context.Context, sc Scope, group, stream string, q GetQuery) (*GetPage, error) {
	limit, err := pageLimit(q.Limit, MaxGetLimit)
	if err != nil {
		return nil, err
	}
	g, err := s.Group(ctx, sc, group)
	if err != nil {
		return nil, err
	}
	var streamID int64
	if err := s.db.QueryRowContext(ctx, `SELECT id FROM log_streams WHERE group_id = ? AND name = ?`, g.ID, stream).Scan(&streamID); errors.Is(err, sql.ErrNoRows) {
		return nil, errorf(ErrNotFound, "The specified log stream does not exist: %s in log group %s.", stream, group)
	} else if err != nil {
		return nil, err
	}
	forward := q.StartFromHead
	var pos *position
	if q.NextToken != "" {
		p, dir, err := parsePosition(q.NextToken, "f", "b")
		if err != nil {
			return nil, err
		}
		pos, forward = &p, dir == "f"
	}
	where := []string{"stream_id = ?", "ts >= ?"}
	args := []any{streamID, s.cutoff(g.RetentionInDays)}
	if q.Start != nil {
		where, args = append(where, "ts >= ?"), append(args, *q.Start)
	}
	if q.End != nil {
		where, args = append(where, "ts < ?"), append(args, *q.End)
	}
	order := "ASC"
	if pos != nil {
		if forward {
			where, args = append(where, "(ts > ? OR ts = ? AND id > ?)"), append(args, pos.ts, pos.ts, pos.id)
		} else {
			where, args = append(where, "(ts < ? OR ts = ? AND id < ?)"), append(args, pos.ts, pos.ts, pos.id)
		}
	}
	if !forward {
		order = "DESC"
	}
	rows, err := s.db.QueryContext(ctx, `SELECT id, ts, ingestion_ms, message FROM log_events WHERE `+strings.Join(where, " AND ")+
		` ORDER BY ts `+order+`, id `+order+` LIMIT ?`, append(args, limit)...)
	if err != nil {
		return nil, fmt.Errorf("read log events: %w", err)
	}
	defer rows.Close()
	var evs []Event
	bytes := 0
	for rows.Next() {
		e := Event{Stream: stream}
		if err := rows.Scan(&e.ID, &e.Timestamp, &e.IngestionTime, &e.Message); err != nil {
			return nil, err
		}
		bytes += len(e.Message) + EventOverhead
		if bytes > maxPageBytes && len(evs) > 0 {
			break
		}
		evs = append(evs, e)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	if !forward {
		for i, j := 0, len(evs)-1; i < j; i, j = i+1, j-1 {
			evs[i], evs[j] = evs[j], evs[i]
		}
	}
	page := &GetPage{Events: evs}
	if len(evs) == 0 {
		tok := q.NextToken
		if tok == "" {
			tok = position{}.token("f")
		}
		page.NextForward, page.Backward = tok, tok
		if strings.HasPrefix(tok, "f/") {
			page.Backward = "b/" + tok[2:]
		} else {
			page.NextForward = "f/" + tok[2:]
		}
		return page, nil
	}
	page.NextForward = position{evs[len(evs)-1].Timestamp, evs[len(evs)-1].ID}.token("f")
	page.Backward = position{evs[0].Timestamp, evs[0].ID}.token("b")
	return page, nil
}

// position is a place in time order: after (or before) event id at ts.
type position struct{ ts, id int64 }

func (p position) token(dir string) string {
	return dir + "/" + strconv.FormatInt(p.ts, 10) + "/" + strconv.FormatInt(p.id, 10)
}

func parsePosition(tok string, dirs ...string) (position, string, error) {
	f := strings.Split(tok, "/")
	bad := errorf(ErrInvalidParameter, "The specified nextToken is invalid: %q.", tok)
	if len(f) != 3 {
		return position{}, "", bad
	}
	ok := false
	for _, d := range dirs {
		ok = ok || f[0] == d
	}
	ts, err1 := strconv.ParseInt(f[1], 10, 64)
	id, err2 := strconv.ParseInt(f[2], 10, 64)
	if !ok || err1 != nil || err2 != nil {
		return position{}, "", bad
	}
	return position{ts, id}, f[0], nil
}

// FilterQuery selects events of a group for FilterLogEvents.
type FilterQuery struct {
	StreamNames  []string
	StreamPrefix string
	Start, End   *int64 // ms; End inclusive, as AWS
	Pattern      string
	Limit        int
	NextToken    string
}

// FilterPage is a FilterLogEvents result.
type FilterPage struct {
	Events   []Event
	Searched []string // streams searched
	Next     string
}

// Filter searches a group's events in time order for those the pattern matches.
func (s *Store) Filter(ctx context.Context, sc Scope, group string, q FilterQuery) (*FilterPage, error) {
	if len(q.StreamNames) > 0 && q.StreamPrefix != "" {
		return nil, errorf(ErrInvalidParameter, "logStreamNames and logStreamNamePrefix are mutually exclusive parameters.")
	}
	if len(q.StreamNames) > 100 {
		return nil, errorf(ErrInvalidParameter, "1 validation error detected: Value at 'logStreamNames' failed to satisfy constraint: Member must have length between 1 and 100 (got %d).", len(q.StreamNames))
	}
	limit, err := pageLimit(q.Limit, MaxFilterLimit)
	if err != nil {
		return nil, err
	}
	p, err := compilePattern(q.Pattern)
	if err != nil {
		return nil, err
	}
	if q.Start != nil && q.End != nil && *q.End < *q.Start {
		return nil, errorf(ErrInvalidParameter, "endTime (%d) must not be before startTime (%d).", *q.End, *q.Start)
	}
	var pos *position
	if q.NextToken != "" {
		ps, _, err := parsePosition(q.NextToken, "e")
		if err != nil {
			return nil, err
		}
		pos = &ps
	}
	g, err := s.Group(ctx, sc, group)
	if err != nil {
		return nil, err
	}
	// The streams to search.
	streams := map[int64]string{}
	var searched []string
	rows, err := s.db.QueryContext(ctx, `SELECT id, name FROM log_streams WHERE group_id = ? AND substr(name, 1, length(?)) = ? ORDER BY name`, g.ID, q.StreamPrefix, q.StreamPrefix)
	if err != nil {
		return nil, err
	}
	want := map[string]bool{}
	for _, n := range q.StreamNames {
		want[n] = true
	}
	for rows.Next() {
		var id int64
		var name string
		if err := rows.Scan(&id, &name); err != nil {
			rows.Close()
			return nil, err
		}
		if len(want) == 0 || want[name] {
			streams[id] = name
			searched = append(searched, name)
			delete(want, name)
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	for n := range want {
		return nil, errorf(ErrNotFound, "The specified log stream does not exist: %s in log group %s.", n, group)
	}
	page := &FilterPage{Searched: searched}
	if len(streams) == 0 {
		return page, nil
	}
	where := []string{"group_id = ?", "ts >= ?"}
	args := []any{g.ID, s.cutoff(g.RetentionInDays)}
	if q.Start != nil {
		where, args = append(where, "ts >= ?"), append(args, *q.Start)
	}
	if q.End != nil {
		where, args = append(where, "ts <= ?"), append(args, *q.End)
	}
	allStreams := len(q.StreamNames) == 0 && q.StreamPrefix == ""
	scanned, bytes := 0, 0
	cur := pos
	for {
		w, a := where, args
		if cur != nil {
			w, a = append(w, "(ts > ? OR ts = ? AND id > ?)"), append(a, cur.ts, cur.ts, cur.id)
		}
		rows, err := s.db.QueryContext(ctx, `SELECT id, stream_id, ts, ingestion_ms, message FROM log_events WHERE `+strings.Join(w, " AND ")+
			` ORDER BY ts, id LIMIT ?`, append(a, filterScanBatch)...)
		if err != nil {
			return nil, fmt.Errorf("filter log events: %w", err)
		}
		n := 0
		full := false
		for rows.Next() {
			var e Event
			var sid int64
			var msg []byte
			if err := rows.Scan(&e.ID, &sid, &e.Timestamp, &e.IngestionTime, &msg); err != nil {
				rows.Close()
				return nil, err
			}
			n++
			scanned++
			cur = &position{e.Timestamp, e.ID}
			name, ok := streams[sid]
			if !ok && !allStreams {
				continue
			}
			if !p.Match(msg) {
				continue
			}
			e.Stream, e.Message = name, string(msg)
			page.Events = append(page.Events, e)
			bytes += len(msg) + EventOverhead
			if len(page.Events) >= limit || bytes >= maxPageBytes {
				full = true
				break
			}
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, err
		}
		if full || (n == filterScanBatch && scanned >= filterScanMax) {
			page.Next = cur.token("e")
			return page, nil
		}
		if n < filterScanBatch {
			return page, nil
		}
	}
}

// compilePattern compiles a filter pattern, its errors as InvalidParameterException.
func compilePattern(text string) (*pattern.Pattern, error) {
	p, err := pattern.Compile(text)
	if err != nil {
		return nil, errorf(ErrInvalidParameter, "Invalid filter pattern %q: %v.", text, err)
	}
	return p, nil
}

// Expire deletes events older than each group's retention. Run calls it periodically; reads
// never return expired events in between.
func (s *Store) Expire(ctx context.Context) (int64, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT id, retention_days FROM log_groups WHERE retention_days IS NOT NULL`)
	if err != nil {
		return 0, err
	}
	type gr struct {
		id   int64
		days int
	}
	var groups []gr
	for rows.Next() {
		var g gr
		if err := rows.Scan(&g.id, &g.days); err != nil {
			rows.Close()
			return 0, err
		}
		groups = append(groups, g)
	}
	rows.Close()
	total := int64(0)
	for _, g := range groups {
		n, err := s.expire(ctx, g.id, g.days)
		if err != nil {
			return total, err
		}
		total += n
	}
	return total, nil
}

func (s *Store) expire(ctx context.Context, groupID int64, days int) (int64, error) {
	var n int64
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM log_events WHERE group_id = ? AND ts < ?`, groupID, s.cutoff(days))
		if err != nil {
			return fmt.Errorf("expire log events: %w", err)
		}
		if n, _ = res.RowsAffected(); n == 0 {
			return nil
		}
		_, err = tx.ExecContext(ctx, `UPDATE log_streams SET stored_bytes = (SELECT coalesce(sum(length(message)), 0) FROM log_events e WHERE e.stream_id = log_streams.id),
			first_event_ms = (SELECT min(ts) FROM log_events e WHERE e.stream_id = log_streams.id) WHERE group_id = ?`, groupID)
		return err
	})
	return n, err
}

// Run enforces retention every interval until ctx is done.
func (s *Store) Run(ctx context.Context, interval time.Duration) error {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		if n, err := s.Expire(ctx); err != nil && ctx.Err() == nil {
			s.log.Warn("log retention", "err", err)
		} else if n > 0 {
			s.log.Info("log retention removed events", "events", n)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}
