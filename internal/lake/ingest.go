package lake

import (
	"bytes"
	"context"
	"database/sql"
	"database/sql/driver"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	duckdb "github.com/duckdb/duckdb-go/v2"

	"github.com/cairn-dev/cairn/internal/event"
	"github.com/cairn-dev/cairn/internal/journal"
)

// CheckpointName is the journal checkpoint the Lake's reader advances after each write.
const CheckpointName = "lake"

// housekeepingInterval is how often retention, deletions and old queries are purged.
const housekeepingInterval = time.Minute

// loadPosition reads how far into the journal the stores are, and makes sure every store has
// its table (a lost lake.duckdb is rebuilt from what the journal still holds).
func (l *Lake) loadPosition(ctx context.Context) error {
	l.mu.RLock()
	stores := make([]*Store, 0, len(l.stores))
	for _, s := range l.stores {
		stores = append(stores, s)
	}
	l.mu.RUnlock()
	for _, s := range stores {
		if err := l.createTable(ctx, s); err != nil {
			return fmt.Errorf("lake: table of event data store %s: %w", s.ID, err)
		}
	}
	var seq uint64
	err := l.db.QueryRowContext(ctx, `SELECT seq FROM lake_meta`).Scan(&seq)
	if errors.Is(err, sql.ErrNoRows) {
		seq = l.j.LastSeq()
		for _, s := range stores {
			if s.startSeq < seq {
				seq = s.startSeq
			}
		}
		if len(stores) > 0 {
			l.log.Warn("lake: lake.duckdb is new but event data stores exist; refilling them from the journal", "from", seq+1)
		}
		_, err = l.db.ExecContext(ctx, `INSERT INTO lake_meta VALUES (?)`, seq)
	}
	if err != nil {
		return fmt.Errorf("lake: read position: %w", err)
	}
	l.applied.Store(seq)
	return nil
}

// Applied is the last journal sequence whose events are in the stores.
func (l *Lake) Applied() uint64 { return l.applied.Load() }

// ingester is the reader's state between flushes.
type ingester struct {
	l       *Lake
	conn    *sql.Conn
	staged  map[string][]stagedRow // by store ID
	rows    int
	upTo    uint64    // last journal sequence read
	oldest  time.Time // when the first unflushed record was read
	pending bool      // upTo is past what lake_meta holds
}

// stagedRow is an event waiting for the next flush: its JSON, or for an encrypted store the
// sealed JSON.
type stagedRow struct {
	eventTime time.Time // zero: none
	category  string
	data      []byte
}

// stagingSQL is the table events Go does not convert (see rowValues) pass through, to be
// converted by json_transform.
const stagingSQL = `
CREATE TEMP TABLE IF NOT EXISTS lake_staging (eventtime TIMESTAMP, eventcategory VARCHAR, eventjson VARCHAR);
DELETE FROM lake_staging;`

// Run follows the journal until ctx is done, writing each store's events, and purges what
// retention and deletions no longer keep.
func (l *Lake) Run(ctx context.Context) error {
	err := l.run(ctx)
	if err != nil && ctx.Err() != nil {
		return nil // stopped while starting: nothing was lost, the journal has it all
	}
	return err
}

func (l *Lake) run(ctx context.Context) error {
	conn, err := l.db.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, stagingSQL); err != nil {
		return fmt.Errorf("lake: staging tables: %w", err)
	}
	in := &ingester{l: l, conn: conn, staged: map[string][]stagedRow{}, upTo: l.applied.Load()}

	c := l.j.Cursor(in.upTo)
	defer func() { c.Close() }()
	lastHousekeeping := time.Time{}
	for {
		if time.Since(lastHousekeeping) >= housekeepingInterval {
			lastHousekeeping = time.Now()
			l.housekeeping(ctx)
		}
		wait := l.opts.FlushInterval
		if in.pending {
			wait = time.Until(in.oldest.Add(l.opts.FlushInterval))
		}
		nctx, cancel := context.WithTimeout(ctx, max(wait, time.Millisecond))
		ents, err := c.Next(nctx, 8192, 16<<20)
		cancel()
		switch {
		case err == nil:
			if err := in.apply(ents); err != nil {
				return err
			}
		case errors.Is(err, context.DeadlineExceeded) && ctx.Err() == nil:
		case ctx.Err() != nil || errors.Is(err, journal.ErrClosed):
			if err := in.flush(context.WithoutCancel(ctx)); err != nil {
				return fmt.Errorf("lake: final write: %w", err)
			}
			return nil
		case errors.Is(err, journal.ErrCompacted):
			first := l.j.FirstSeq()
			l.log.Warn("lake: journal retention removed events the event data stores never received", "from", in.upTo+1, "to", first-1)
			c.Close()
			c = l.j.Cursor(first - 1)
			in.upTo, in.pending, in.oldest = first-1, true, time.Now()
			continue
		default:
			return fmt.Errorf("lake: read journal: %w", err)
		}
		if in.pending && (in.rows >= l.opts.FlushRows || time.Since(in.oldest) >= l.opts.FlushInterval) {
			if err := in.flush(ctx); err != nil {
				if ctx.Err() != nil {
					return nil
				}
				l.log.Error("lake: writing events to event data stores failed; retrying", "err", err)
				select {
				case <-time.After(time.Second):
				case <-ctx.Done():
					return nil
				}
			}
		}
	}
}

// apply stages the events each store selects.
func (in *ingester) apply(ents []journal.Entry) error {
	l := in.l
	routes := *l.routes.Load()
	now := l.now()
	for _, e := range ents {
		if !in.pending {
			in.pending, in.oldest = true, time.Now()
		}
		in.upTo = e.Seq
		if len(routes) == 0 {
			continue
		}
		sum, raw, err := event.OpenEnvelope(e.Data)
		if err != nil {
			l.log.Error("lake: skipping unreadable journal record", "seq", e.Seq, "err", err)
			continue
		}
		cand := candidate{sum: sum, raw: raw}
		var channel string
		for _, s := range routes {
			if e.Seq <= s.startSeq || !s.receives(&cand, &channel, l) {
				continue
			}
			if sum.EventTime.Before(now.AddDate(0, 0, -s.RetentionDays)) {
				continue // already past the store's retention
			}
			row := stagedRow{eventTime: sum.EventTime, category: sum.Category}
			if s.encrypted() {
				aead, ok := l.dataKey(s.ID)
				if !ok {
					continue // logged at start; the key file is missing
				}
				row.data = seal(aead, raw, []byte(s.ID))
			} else {
				row.data = bytes.Clone(raw) // the journal reuses its buffers
			}
			in.staged[s.ID] = append(in.staged[s.ID], row)
			in.rows++
		}
	}
	return nil
}

// receives reports whether the store takes the event: its account (every account for an
// organisation store), its region unless multi-Region, and its selectors. Events from
// integrations go to the destinations of the channel they came through.
func (s *Store) receives(c *candidate, channel *string, l *Lake) bool {
	if !s.Organization && c.sum.Account != s.Account {
		return false
	}
	if !s.MultiRegion && c.sum.Region != s.Region {
		return false
	}
	if !matchSelectors(s.Selectors, c) {
		return false
	}
	if s.Kind != KindActivity {
		return true
	}
	if *channel == "" {
		var r struct {
			Metadata struct {
				ChannelARN string `json:"channelARN"`
			} `json:"metadata"`
		}
		json.Unmarshal(c.raw, &r)
		*channel = r.Metadata.ChannelARN
	}
	return l.channelDelivers(*channel, s.ARN())
}

// flush writes the staged events into their stores and advances the position, in one
// transaction, then advances the journal checkpoint.
func (in *ingester) flush(ctx context.Context) error {
	if !in.pending {
		return nil
	}
	l := in.l
	l.writeMu.Lock()
	defer l.writeMu.Unlock()
	start := time.Now()
	if _, err := in.conn.ExecContext(ctx, "BEGIN TRANSACTION"); err != nil {
		return err
	}
	committed := false
	defer func() {
		if !committed {
			in.conn.ExecContext(context.WithoutCancel(ctx), "ROLLBACK")
		}
	}()
	for id, rows := range in.staged {
		l.mu.RLock()
		s, ok := l.stores[id]
		var cp Store
		if ok {
			cp = *s
		}
		l.mu.RUnlock()
		if !ok {
			continue // deleted for good meanwhile
		}
		if err := in.write(ctx, &cp, rows); err != nil {
			return fmt.Errorf("write %d events to event data store %s: %w", len(rows), id, err)
		}
	}
	if _, err := in.conn.ExecContext(ctx, `UPDATE lake_meta SET seq = ?`, in.upTo); err != nil {
		return err
	}
	if _, err := in.conn.ExecContext(ctx, "COMMIT"); err != nil {
		return err
	}
	committed = true
	l.log.Debug("lake: wrote events to event data stores", "events", in.rows, "stores", len(in.staged), "through", in.upTo, "took", time.Since(start))
	l.applied.Store(in.upTo)
	clear(in.staged)
	in.rows, in.pending = 0, false
	if err := l.j.SetCheckpoint(CheckpointName, in.upTo); err != nil && !errors.Is(err, journal.ErrClosed) {
		l.log.Warn("lake: journal checkpoint", "err", err)
	}
	return nil
}

// write appends a store's staged rows to its table, sorted by eventTime so that zone maps let
// time-bounded queries skip row groups. It runs inside flush's transaction.
func (in *ingester) write(ctx context.Context, s *Store, rows []stagedRow) error {
	slices.SortStableFunc(rows, func(a, b stagedRow) int {
		if az, bz := a.eventTime.IsZero(), b.eventTime.IsZero(); az != bz {
			if az {
				return 1 // NULL last, where ORDER BY puts it
			}
			return -1
		}
		return a.eventTime.Compare(b.eventTime)
	})
	table := s.table()
	if s.encrypted() {
		table = s.sealedTable()
	}
	viaSQL := 0
	err := in.conn.Raw(func(dc any) error {
		app, err := duckdb.NewAppender(dc.(driver.Conn), "", "main", table)
		if err != nil {
			return err
		}
		defer app.Close()
		var staging *duckdb.Appender
		defer func() {
			if staging != nil {
				staging.Close()
			}
		}()
		for _, r := range rows {
			var et any
			if !r.eventTime.IsZero() {
				et = r.eventTime
			}
			if s.encrypted() {
				err = app.AppendRow(et, r.category, r.data)
			} else if vals, ok := rowValues(s.Kind, r.data, et, r.category); ok {
				err = app.AppendRow(vals...)
			} else {
				if staging == nil {
					if staging, err = duckdb.NewAppender(dc.(driver.Conn), "temp", "main", "lake_staging"); err != nil {
						return err
					}
				}
				err = staging.AppendRow(et, r.category, string(r.data))
				viaSQL++
			}
			if err != nil {
				return err
			}
		}
		if staging != nil {
			if err := staging.Close(); err != nil {
				return err
			}
			staging = nil
		}
		return app.Close()
	})
	if err != nil || viaSQL == 0 {
		return err
	}
	src := `(SELECT eventtime, eventcategory, eventjson FROM lake_staging)`
	q := fmt.Sprintf(`INSERT INTO main.%s (%s) %s ORDER BY eventtime`, s.table(), columnNames(s.Kind), projection(s.Kind, src, false))
	if _, err := in.conn.ExecContext(ctx, q); err != nil {
		return err
	}
	_, err = in.conn.ExecContext(ctx, `DELETE FROM lake_staging`)
	return err
}

// Wait blocks until the stores hold every journal record up to seq.
func (l *Lake) Wait(ctx context.Context, seq uint64) error {
	for l.applied.Load() < seq {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(10 * time.Millisecond):
		}
	}
	return nil
}

// housekeeping removes events past each store's retention, stores whose seven days of pending
// deletion are over, and queries older than seven days.
func (l *Lake) housekeeping(ctx context.Context) {
	now := l.now()
	l.mu.RLock()
	var stores []Store
	for _, s := range l.stores {
		stores = append(stores, *s)
	}
	l.mu.RUnlock()
	for _, s := range stores {
		if s.Status == StatusPendingDeletion && now.Sub(s.Deleted) >= pendingDeletionDuration {
			if err := l.removeStore(ctx, &s); err != nil {
				l.log.Warn("lake: removing deleted event data store", "store", s.ID, "err", err)
			}
			continue
		}
		table := s.table()
		if s.encrypted() {
			table = s.sealedTable()
		}
		cutoff := now.AddDate(0, 0, -s.RetentionDays)
		l.writeMu.Lock()
		_, err := l.db.ExecContext(ctx, fmt.Sprintf(`DELETE FROM main.%s WHERE eventtime < ?`, table), cutoff)
		l.writeMu.Unlock()
		if err != nil && ctx.Err() == nil {
			l.log.Warn("lake: retention purge", "store", s.ID, "err", err)
		}
	}
	if err := l.queries.purge(ctx); err != nil && ctx.Err() == nil {
		l.log.Warn("lake: purging old queries", "err", err)
	}
}

// removeStore deletes a store for good, with its events, tags and queries.
func (l *Lake) removeStore(ctx context.Context, s *Store) error {
	l.writeMu.Lock()
	defer l.writeMu.Unlock()
	if err := l.dropTable(ctx, s); err != nil {
		return err
	}
	tx, err := l.meta.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	for _, q := range []string{
		`DELETE FROM lake_event_data_stores WHERE id = ?`,
		`DELETE FROM lake_tags WHERE resource_arn = ?`,
		`DELETE FROM lake_queries WHERE id IN (SELECT query_id FROM lake_query_stores WHERE store_id = ?)`,
	} {
		arg := s.ID
		if q == `DELETE FROM lake_tags WHERE resource_arn = ?` {
			arg = s.ARN()
		}
		if _, err := tx.ExecContext(ctx, q, arg); err != nil {
			return err
		}
	}
	if err := tx.Commit(); err != nil {
		return err
	}
	l.mu.Lock()
	delete(l.stores, s.ID)
	l.mu.Unlock()
	l.dataKeys.Delete(s.ID)
	l.reroute()
	l.log.Info("lake: event data store deleted after seven days pending deletion", "store", s.ID, "name", s.Name)
	return nil
}
