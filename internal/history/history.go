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
	"context"
	"database/sql/driver"
	"errors"
	"fmt"
	"log/slog"
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
	recorded  time.Time
	eventTime time.Time
	account   string
	region    string
	category  string
	name      string // for Insights records, the API the insight is about
	source    string
	eventID   string
	readOnly  int8 // -1 absent, 0 false, 1 true
	username  string
	accessKey string
	resources string // resourceKey of each resource, concatenated
}

// resourceKey encodes a resource so one substring test finds a type ("\x1fTYPE\x1e") or a name
// ("\x1eNAME\x1e", or the ARN as "\x1eARN\x1f").
func resourceKey(b *strings.Builder, r event.LookupResource) {
	b.WriteString("\x1f")
	b.WriteString(r.Type)
	b.WriteString("\x1e")
	b.WriteString(r.Name)
	b.WriteString("\x1e")
	b.WriteString(r.ARN)
	b.WriteString("\x1f")
}

func newEntry(e journal.Entry, r *event.Record) entry {
	en := entry{
		seq: e.Seq, off: e.Offset, recorded: e.Time, eventTime: r.EventTime,
		account: r.RecipientAccountID, region: r.AWSRegion, category: r.Category(),
		name: r.EventName, source: r.EventSource, eventID: r.EventID, readOnly: -1,
		username: r.Username(), accessKey: r.AccessKeyID(),
	}
	if r.InsightDetails != nil {
		en.name, en.source = r.InsightDetails.EventName, r.InsightDetails.EventSource
	}
	if r.ReadOnly != nil {
		en.readOnly = 0
		if *r.ReadOnly {
			en.readOnly = 1
		}
	}
	if res := r.LookupResources(); len(res) > 0 {
		var b strings.Builder
		for _, lr := range res {
			resourceKey(&b, lr)
		}
		en.resources = b.String()
	}
	return en
}

const schema = `CREATE TABLE IF NOT EXISTS history (
	seq UBIGINT NOT NULL, off BIGINT NOT NULL, recordedtime TIMESTAMP NOT NULL, eventtime TIMESTAMP,
	recipientaccountid VARCHAR, awsregion VARCHAR, eventcategory VARCHAR, eventname VARCHAR,
	eventsource VARCHAR, eventid VARCHAR, readonly BOOLEAN, username VARCHAR, accesskeyid VARCHAR,
	resources VARCHAR);
CREATE TABLE IF NOT EXISTS history_checkpoint (seq UBIGINT NOT NULL);`

// Index is event history.
type Index struct {
	db   *duck.DB
	j    *journal.Journal
	opts Options

	mu      sync.RWMutex
	hot     []entry // applied but not yet in DuckDB, by seq
	flushed uint64  // last seq in DuckDB
	applied uint64  // last seq in hot or DuckDB
	changed chan struct{}

	lastPurge time.Time
}

// Open creates the tables if needed and loads the recent tier from the journal.
func Open(ctx context.Context, db *duck.DB, j *journal.Journal, opts Options) (*Index, error) {
	opts.setDefaults()
	if _, err := db.ExecContext(ctx, schema); err != nil {
		return nil, fmt.Errorf("create history tables: %w", err)
	}
	ix := &Index{db: db, j: j, opts: opts, changed: make(chan struct{})}
	var seq uint64
	err := db.QueryRowContext(ctx, `SELECT seq FROM history_checkpoint`).Scan(&seq)
	switch {
	case err == nil:
	case strings.Contains(err.Error(), "no rows"):
		if _, err := db.ExecContext(ctx, `INSERT INTO history_checkpoint VALUES (0)`); err != nil {
			return nil, fmt.Errorf("init history checkpoint: %w", err)
		}
	default:
		return nil, fmt.Errorf("read history checkpoint: %w", err)
	}
	ix.flushed, ix.applied = seq, seq
	return ix, nil
}

// Run follows the journal until ctx is done: it applies new events to the recent tier, flushes
// them to DuckDB, and purges what retention no longer keeps. On return the recent tier may still
// hold events; call Flush for a clean shutdown (after a crash they are rebuilt from the journal).
func (ix *Index) Run(ctx context.Context) error {
	c := ix.j.Cursor(ix.applied)
	defer func() { c.Close() }()
	var oldest time.Time // when the oldest unflushed entry arrived
	for {
		wait := ix.opts.FlushInterval
		if !oldest.IsZero() {
			wait = time.Until(oldest.Add(ix.opts.FlushInterval))
		}
		nctx, cancel := context.WithTimeout(ctx, max(wait, time.Millisecond))
		ents, err := c.Next(nctx, 8192, 16<<20)
		cancel()
		switch {
		case err == nil:
			if oldest.IsZero() {
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
		if n := ix.hotLen(); n >= ix.opts.FlushRows || (n > 0 && time.Since(oldest) >= ix.opts.FlushInterval) {
			if err := ix.flushAll(ctx); err != nil {
				return err
			}
			oldest = time.Time{}
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
		r, err := event.Parse(e.Data)
		if err != nil {
			// The recorder validated it; a record that no longer parses is a bug, not input.
			ix.opts.Logger.Error("history: skipping unparsable journal record", "seq", e.Seq, "err", err)
			continue
		}
		batch = append(batch, newEntry(e, r))
	}
	ix.mu.Lock()
	ix.hot = append(ix.hot, batch...)
	ix.applied = ents[len(ents)-1].Seq
	close(ix.changed)
	ix.changed = make(chan struct{})
	ix.mu.Unlock()
}

// Flush moves the recent tier into DuckDB. Call it after Run has returned.
func (ix *Index) Flush(ctx context.Context) error { return ix.flushAll(ctx) }

// flushAll moves the recent tier into DuckDB in one transaction with the checkpoint.
func (ix *Index) flushAll(ctx context.Context) error {
	ix.mu.RLock()
	rows := ix.hot
	upTo := ix.applied
	ix.mu.RUnlock()
	if upTo == ix.flushed {
		return nil
	}
	if err := ix.write(ctx, rows, upTo); err != nil {
		return fmt.Errorf("history: flush %d events: %w", len(rows), err)
	}
	ix.mu.Lock()
	ix.hot = append([]entry(nil), ix.hot[len(rows):]...)
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
	err = conn.Raw(func(dc any) error {
		app, err := duckdb.NewAppenderFromConn(dc.(driver.Conn), "", "history")
		if err != nil {
			return err
		}
		args := make([]driver.Value, 14)
		for i := range rows {
			r := &rows[i]
			args[0], args[1], args[2] = r.seq, r.off, r.recorded
			args[3] = nullTime(r.eventTime)
			args[4], args[5], args[6] = nullStr(r.account), nullStr(r.region), r.category
			args[7], args[8], args[9] = nullStr(r.name), nullStr(r.source), nullStr(r.eventID)
			switch r.readOnly {
			case -1:
				args[10] = nil
			default:
				args[10] = r.readOnly == 1
			}
			args[11], args[12], args[13] = nullStr(r.username), nullStr(r.accessKey), nullStr(r.resources)
			if err := app.AppendRow(args...); err != nil {
				app.Close()
				return err
			}
		}
		return app.Close()
	})
	if err != nil {
		return err
	}
	if _, err := conn.ExecContext(ctx, `UPDATE history_checkpoint SET seq = ?`, upTo); err != nil {
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

func nullTime(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t
}

// purge deletes what retention no longer keeps. Lookups already ignore it; this frees space.
func (ix *Index) purge(ctx context.Context) error {
	ix.lastPurge = time.Now()
	cutoff := ix.opts.Now().Add(-ix.opts.Retention)
	_, err := ix.db.ExecContext(ctx, `DELETE FROM history WHERE recordedtime < ?`, cutoff)
	return err
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
