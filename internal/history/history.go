// Package history is event history: a journal reader that indexes every event and answers
// LookupEvents with CloudTrail's semantics.
//
// The index has two tiers. Events the reader has just applied sit in a recent tier in memory,
// which makes them visible to lookups within milliseconds. Every FlushInterval or FlushRows events
// the recent tier moves into a DuckDB table in one transaction that also records the journal
// position reached, so a crash loses nothing: the recent tier is rebuilt from the journal.
// DuckDB commits cost milliseconds each, so small, frequent commits would cap ingest far below the
// journal's rate (docs/benchmarks.md).
//
// The DuckDB table keeps only what lookups filter and sort on, plus each event's journal position;
// the record itself is read back from the journal, whose retention therefore covers history's.
package history

import (
	"cmp"
	"context"
	"database/sql/driver"
	"errors"
	"fmt"
	"hash/fnv"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"time"

	duckdb "github.com/duckdb/duckdb-go/v2"

	"github.com/cairn-dev/cairn/internal/duck"
	"github.com/cairn-dev/cairn/internal/event"
	"github.com/cairn-dev/cairn/internal/journal"
)

// CheckpointName is the journal checkpoint history advances after each flush, holding back
// journal retention until history no longer needs the records.
const CheckpointName = "history"

// Options tune the index. Zero values take the defaults.
type Options struct {
	// Retention is how long an event stays searchable, counted from when cairn recorded it
	// (not its eventTime), so old logs imported today stay searchable. Default 90 days, as AWS.
	Retention     time.Duration
	FlushInterval time.Duration // default 10s
	FlushRows     int           // default 100,000
	Logger        *slog.Logger
	Now           func() time.Time
}

func (o *Options) setDefaults() {
	if o.Retention <= 0 {
		o.Retention = 90 * 24 * time.Hour
	}
	if o.FlushInterval <= 0 {
		o.FlushInterval = 10 * time.Second
	}
	if o.FlushRows <= 0 {
		o.FlushRows = 100_000
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.Now == nil {
		o.Now = time.Now
	}
}

// entry is what the index keeps of one event.
type entry struct {
	seq       uint64
	off       int64
	recorded  int64  // unix nanos; when cairn recorded the event
	eventTime int64  // unix nanos; 0 when absent
	scope     int64  // scopeKey(account, region, category)
	name      string // for Insights records, the API the insight is about
	source    string
	eventID   string
	readOnly  int8 // -1 absent, 0 false, 1 true
	username  string
	accessKey string
	resources string // event.Summary.Resources
}

// Hashes stand in for values whose string columns DuckDB would have to scan in full (each
// eventID is unique; resources repeat little): a 64-bit compare is an order of magnitude
// faster over 10 M rows. A lookup re-checks every record it returns, so a collision costs at
// most a wasted read.
func hashKey(kind byte, parts ...string) int64 {
	h := fnv.New64a()
	h.Write([]byte{kind})
	for _, p := range parts {
		h.Write([]byte(p))
		h.Write([]byte{0})
	}
	return int64(h.Sum64() >> 1) // 63 bits: database/sql takes no uint64 with the high bit set
}

func scopeKey(account, region, category string) int64 {
	return hashKey('s', account, region, category)
}

func eventIDKey(id string) int64 { return hashKey('i', id) }

// Resource keys: a type, or a name (ResourceName matches a resource's name or its ARN).
func resourceTypeKey(t string) int64 { return hashKey('t', t) }
func resourceNameKey(n string) int64 { return hashKey('n', n) }

// resourceKeys lists the distinct keys of an entry's resources.
func (e *entry) resourceKeys() []int64 {
	var keys []int64
	add := func(k int64) {
		for _, have := range keys {
			if have == k {
				return
			}
		}
		keys = append(keys, k)
	}
	for _, res := range strings.Split(e.resources, "\x1f") {
		if res == "" {
			continue
		}
		f := strings.SplitN(res, "\x1e", 3)
		if len(f) != 3 {
			continue
		}
		if f[0] != "" {
			add(resourceTypeKey(f[0]))
		}
		if f[1] != "" {
			add(resourceNameKey(f[1]))
		}
		if f[2] != "" {
			add(resourceNameKey(f[2]))
		}
	}
	return keys
}

// newEntry copies what history keeps of a summary, whose strings are views into the cursor's
// buffer (reused by the next read). Values that repeat (accounts, regions, event names, users)
// are interned, so most events cost no allocation here.
func (ix *Index) newEntry(e journal.Entry, s event.Summary) entry {
	in := ix.intern
	var et int64
	if !s.EventTime.IsZero() {
		et = s.EventTime.UnixNano()
	}
	return entry{
		seq: e.Seq, off: e.Offset, recorded: e.Time.UnixNano(), eventTime: et,
		scope: scopeKey(s.Account, s.Region, s.Category),
		name:  in(s.EventName), source: in(s.EventSource), eventID: strings.Clone(s.EventID), readOnly: s.ReadOnly,
		username: in(s.Username), accessKey: in(s.AccessKeyID), resources: strings.Clone(s.Resources),
	}
}

// intern returns a stored copy of v. Only apply calls it (one goroutine); the table is reset when
// it grows large, so unbounded values (like session names) cannot hold memory forever.
func (ix *Index) intern(v string) string {
	if v == "" {
		return ""
	}
	if s, ok := ix.strings[v]; ok {
		return s
	}
	if len(ix.strings) >= 1<<16 {
		clear(ix.strings)
	}
	s := strings.Clone(v)
	ix.strings[s] = s
	return s
}

// schemaVersion names the layout of the history tables. History can always be rebuilt from
// the journal, so a cairn that finds another version drops the tables and re-indexes.
const schemaVersion = 2

const schema = `
CREATE TABLE IF NOT EXISTS history_meta (version INTEGER NOT NULL, seq UBIGINT NOT NULL);
CREATE TABLE IF NOT EXISTS history (
	seq UBIGINT NOT NULL, off BIGINT NOT NULL, recordedtime TIMESTAMP NOT NULL, eventtime TIMESTAMP,
	scope BIGINT NOT NULL, eventname VARCHAR, eventsource VARCHAR, eventid BIGINT, readonly BOOLEAN,
	username VARCHAR, accesskeyid VARCHAR);
CREATE TABLE IF NOT EXISTS history_resources (
	seq UBIGINT NOT NULL, off BIGINT NOT NULL, recordedtime TIMESTAMP NOT NULL, eventtime TIMESTAMP,
	scope BIGINT NOT NULL, key BIGINT NOT NULL);`

// Index is event history.
type Index struct {
	db   *duck.DB
	j    *journal.Journal
	opts Options

	flushMu sync.Mutex // one flush at a time: two would write the same rows

	mu      sync.RWMutex
	hot     []entry // applied but not yet in DuckDB, by seq
	flushed uint64  // last seq in DuckDB
	applied uint64  // last seq in hot or DuckDB
	changed chan struct{}

	lastPurge time.Time
	strings   map[string]string // intern table, owned by apply
}

// Open creates the tables if needed and loads the recent tier from the journal.
func Open(ctx context.Context, db *duck.DB, j *journal.Journal, opts Options) (*Index, error) {
	opts.setDefaults()
	seq, err := openSchema(ctx, db, opts.Logger)
	if err != nil {
		return nil, err
	}
	ix := &Index{db: db, j: j, opts: opts, changed: make(chan struct{}), strings: map[string]string{}}
	ix.flushed, ix.applied = seq, seq
	return ix, nil
}

// openSchema creates the tables, or recreates them when they have another layout, and returns
// the journal sequence they hold events up to.
func openSchema(ctx context.Context, db *duck.DB, log *slog.Logger) (uint64, error) {
	var version int
	err := db.QueryRowContext(ctx, `SELECT version FROM history_meta`).Scan(&version)
	if err == nil && version != schemaVersion {
		log.Warn("history: tables have an older layout; rebuilding them from the journal", "found", version, "want", schemaVersion)
		err = errors.New("rebuild")
	}
	if err != nil {
		for _, t := range []string{"history", "history_resources", "history_meta", "history_checkpoint"} {
			if _, err := db.ExecContext(ctx, "DROP TABLE IF EXISTS "+t); err != nil {
				return 0, fmt.Errorf("drop %s: %w", t, err)
			}
		}
		if _, err := db.ExecContext(ctx, schema); err != nil {
			return 0, fmt.Errorf("create history tables: %w", err)
		}
		if _, err := db.ExecContext(ctx, `INSERT INTO history_meta VALUES (?, 0)`, schemaVersion); err != nil {
			return 0, fmt.Errorf("init history tables: %w", err)
		}
	}
	var seq uint64
	if err := db.QueryRowContext(ctx, `SELECT seq FROM history_meta`).Scan(&seq); err != nil {
		return 0, fmt.Errorf("read history checkpoint: %w", err)
	}
	return seq, nil
}

// Run follows the journal until ctx is done: it applies new events to the recent tier, flushes
// them to DuckDB in the background, and purges what retention no longer keeps. On return the
// recent tier may still hold events; call Flush for a clean shutdown (after a crash they are
// rebuilt from the journal).
func (ix *Index) Run(ctx context.Context) error {
	c := ix.j.Cursor(ix.applied)
	defer func() { c.Close() }()
	var oldest time.Time // when the oldest unflushed entry arrived
	var flushing chan error
	defer func() {
		if flushing != nil {
			<-flushing
		}
	}()
	for {
		// A flush runs beside apply, so lookups keep seeing new events while DuckDB commits.
		if flushing != nil {
			select {
			case err := <-flushing:
				flushing = nil
				if err != nil {
					ix.opts.Logger.Error("history: flush to DuckDB failed; events stay in memory and the flush is retried", "err", err)
				}
			default:
			}
		}
		n := ix.hotLen()
		if flushing == nil && n > 0 && (n >= ix.opts.FlushRows || time.Since(oldest) >= ix.opts.FlushInterval) {
			flushing = make(chan error, 1)
			go func(done chan<- error) { done <- ix.flushAll(ctx) }(flushing)
			oldest = time.Now()
		}
		if n >= 4*ix.opts.FlushRows && flushing != nil {
			// DuckDB is falling behind (or failing): stop applying until it catches up rather
			// than grow memory without bound. Ingest is unaffected; the journal holds the events.
			select {
			case err := <-flushing:
				flushing = nil
				if err != nil {
					ix.opts.Logger.Error("history: flush to DuckDB failed", "err", err)
					select {
					case <-time.After(time.Second):
					case <-ctx.Done():
						return nil
					}
				}
			case <-ctx.Done():
				return nil
			}
			continue
		}

		wait := ix.opts.FlushInterval
		if n > 0 {
			wait = time.Until(oldest.Add(ix.opts.FlushInterval))
		}
		if flushing != nil {
			wait = min(wait, 50*time.Millisecond)
		}
		nctx, cancel := context.WithTimeout(ctx, max(wait, time.Millisecond))
		ents, err := c.Next(nctx, 8192, 16<<20)
		cancel()
		switch {
		case err == nil:
			if ix.hotLen() == 0 {
				oldest = time.Now()
			}
			ix.apply(ents)
		case errors.Is(err, context.DeadlineExceeded) && ctx.Err() == nil:
		case ctx.Err() != nil || errors.Is(err, journal.ErrClosed):
			return nil
		case errors.Is(err, journal.ErrCompacted):
			// The journal no longer holds what history has not indexed (its database was
			// lost or replaced): index what remains rather than stop for good.
			first := ix.j.FirstSeq()
			ix.opts.Logger.Warn("history: journal retention removed events history never indexed; they are not searchable",
				"from", ix.applied+1, "to", first-1)
			c.Close()
			c = ix.j.Cursor(first - 1)
			ix.mu.Lock()
			ix.applied = first - 1
			ix.mu.Unlock()
		default:
			return fmt.Errorf("history: read journal: %w", err)
		}
		if time.Since(ix.lastPurge) > time.Hour {
			if err := ix.purge(ctx); err != nil {
				ix.opts.Logger.Warn("history retention purge failed", "err", err)
			}
		}
	}
}

func (ix *Index) hotLen() int {
	ix.mu.RLock()
	defer ix.mu.RUnlock()
	return len(ix.hot)
}

func (ix *Index) apply(ents []journal.Entry) {
	batch := make([]entry, 0, len(ents))
	for _, e := range ents {
		s, _, err := event.OpenEnvelope(e.Data)
		if err != nil {
			// The recorder wrote it; a record that no longer opens is a bug, not input.
			ix.opts.Logger.Error("history: skipping unreadable journal record", "seq", e.Seq, "err", err)
			continue
		}
		if s.Category != event.CategoryManagement && s.Category != event.CategoryInsight {
			continue // LookupEvents never returns data or other events; they stay in the journal
		}
		batch = append(batch, ix.newEntry(e, s))
	}
	ix.mu.Lock()
	ix.hot = append(ix.hot, batch...)
	ix.applied = ents[len(ents)-1].Seq
	close(ix.changed)
	ix.changed = make(chan struct{})
	ix.mu.Unlock()
}

// checkpointRows is the flush size after which history checkpoints DuckDB itself.
const checkpointRows = 10_000

// Flush moves the recent tier into DuckDB. Call it after Run has returned.
func (ix *Index) Flush(ctx context.Context) error { return ix.flushAll(ctx) }

// flushAll moves the recent tier, as it is now, into DuckDB in one transaction with the
// checkpoint. apply may append meanwhile: the rows written are a prefix of hot, and only that
// prefix is dropped afterwards.
func (ix *Index) flushAll(ctx context.Context) error {
	ix.flushMu.Lock()
	defer ix.flushMu.Unlock()
	ix.mu.RLock()
	rows := ix.hot[:len(ix.hot):len(ix.hot)]
	upTo := ix.applied
	flushed := ix.flushed
	ix.mu.RUnlock()
	if upTo == flushed {
		return nil
	}
	start := time.Now()
	if err := ix.write(ctx, rows, upTo); err != nil {
		return fmt.Errorf("history: flush %d events: %w", len(rows), err)
	}
	took := time.Since(start)
	if len(rows) >= checkpointRows {
		// Fold DuckDB's write-ahead log into the database now, off the lookup path; left to
		// itself DuckDB checkpoints on a later commit and stalls lookups meanwhile.
		if _, err := ix.db.ExecContext(ctx, "CHECKPOINT"); err != nil && ctx.Err() == nil {
			// (Cut short by a shutdown, it is no failure: DuckDB checkpoints on close.)
			ix.opts.Logger.Warn("history: DuckDB checkpoint", "err", err)
		}
	}
	ix.opts.Logger.Debug("history: flushed to DuckDB", "events", len(rows), "through", upTo, "took", took, "with_checkpoint", time.Since(start))
	ix.mu.Lock()
	// Room for as many as this flush wrote: growing the tier entry by entry again, copying
	// pointer-laden entries, cost an import 3 % of its CPU.
	ix.hot = append(make([]entry, 0, max(len(rows), len(ix.hot)-len(rows))), ix.hot[len(rows):]...)
	ix.flushed = upTo
	ix.mu.Unlock()
	if err := ix.j.SetCheckpoint(CheckpointName, upTo); err != nil {
		ix.opts.Logger.Warn("history: journal checkpoint", "err", err)
	}
	return nil
}

func (ix *Index) write(ctx context.Context, rows []entry, upTo uint64) error {
	conn, err := ix.db.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, "BEGIN TRANSACTION"); err != nil {
		return err
	}
	committed := false
	defer func() {
		if !committed {
			conn.ExecContext(context.WithoutCancel(ctx), "ROLLBACK")
		}
	}()
	// In eventTime order, so each DuckDB segment covers a narrow time range and lookups, which
	// want the newest events, skip the rest. A copy: lookups read rows concurrently.
	rows = slices.Clone(rows)
	slices.SortFunc(rows, func(a, b entry) int { return cmp.Compare(a.eventTime, b.eventTime) })
	err = conn.Raw(func(dc any) error {
		events, err := duckdb.NewAppenderFromConn(dc.(driver.Conn), "", "history")
		if err != nil {
			return err
		}
		defer events.Close()
		resources, err := duckdb.NewAppenderFromConn(dc.(driver.Conn), "", "history_resources")
		if err != nil {
			return err
		}
		defer resources.Close()
		args := make([]driver.Value, 11)
		for i := range rows {
			r := &rows[i]
			var et any
			if r.eventTime != 0 {
				et = time.Unix(0, r.eventTime).UTC()
			}
			recorded := time.Unix(0, r.recorded).UTC()
			args[0], args[1], args[2], args[3], args[4] = r.seq, r.off, recorded, et, r.scope
			args[5], args[6] = nullStr(r.name), nullStr(r.source)
			args[7] = nil
			if r.eventID != "" {
				args[7] = eventIDKey(r.eventID)
			}
			args[8] = nil
			if r.readOnly >= 0 {
				args[8] = r.readOnly == 1
			}
			args[9], args[10] = nullStr(r.username), nullStr(r.accessKey)
			if err := events.AppendRow(args...); err != nil {
				return err
			}
			for _, k := range r.resourceKeys() {
				if err := resources.AppendRow(r.seq, r.off, recorded, et, r.scope, k); err != nil {
					return err
				}
			}
		}
		if err := events.Close(); err != nil {
			return err
		}
		return resources.Close()
	})
	if err != nil {
		return err
	}
	if _, err := conn.ExecContext(ctx, `UPDATE history_meta SET seq = ?`, upTo); err != nil {
		return err
	}
	if _, err := conn.ExecContext(ctx, "COMMIT"); err != nil {
		return err
	}
	committed = true
	return nil
}

func nullStr(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// purge deletes what retention no longer keeps. Lookups already ignore it; this frees space.
func (ix *Index) purge(ctx context.Context) error {
	ix.lastPurge = time.Now()
	cutoff := ix.opts.Now().Add(-ix.opts.Retention)
	for _, t := range []string{"history", "history_resources"} {
		if _, err := ix.db.ExecContext(ctx, `DELETE FROM `+t+` WHERE recordedtime < ?`, cutoff); err != nil {
			return err
		}
	}
	return nil
}

// Wait blocks until every journal record up to seq is visible to lookups.
func (ix *Index) Wait(ctx context.Context, seq uint64) error {
	for {
		ix.mu.RLock()
		applied, ch := ix.applied, ix.changed
		ix.mu.RUnlock()
		if applied >= seq {
			return nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// Applied is the last journal sequence visible to lookups.
func (ix *Index) Applied() uint64 {
	ix.mu.RLock()
	defer ix.mu.RUnlock()
	return ix.applied
}

// Retention is how long history keeps events.
func (ix *Index) Retention() time.Duration { return ix.opts.Retention }
