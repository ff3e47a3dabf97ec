package logs

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/cairn-dev/cairn/internal/event"
	"github.com/cairn-dev/cairn/internal/journal"
	"github.com/cairn-dev/cairn/internal/trail"
)

// FeedCheckpoint is the journal checkpoint of the trail → log group feed.
const FeedCheckpoint = "logs-trail-feed"

// TrailStreamName is the stream CloudTrail writes an account's events of a region into.
func TrailStreamName(account, region string) string {
	return account + "_CloudTrail_" + region
}

// Feed follows the journal and writes each event every trail with a CloudWatch Logs log group
// wants (trail.Router decides, as for delivery) into that group, in stream
// <account>_CloudTrail_<region>: one log event per CloudTrail record, timestamped with its
// eventTime. Its journal position is committed with the events, so each lands exactly once.
type Feed struct {
	logs   *Store
	trails *trail.Store
	j      *journal.Journal
	warned map[string]time.Time // trail ARN → when a missing log group was last logged
	saved  time.Time            // when the position was last committed
}

// NewFeed returns the trail → log group feed.
func NewFeed(logs *Store, trails *trail.Store, j *journal.Journal) *Feed {
	return &Feed{logs: logs, trails: trails, j: j, warned: map[string]time.Time{}}
}

// Run feeds until ctx is done. Transient failures are retried.
func (f *Feed) Run(ctx context.Context) error {
	var seq uint64
	if err := f.logs.db.QueryRowContext(ctx, `SELECT seq FROM log_trail_feed WHERE id = 1`).Scan(&seq); err != nil {
		return fmt.Errorf("read trail feed position: %w", err)
	}
	seq = min(seq, f.j.LastSeq())
	if err := f.j.SetCheckpoint(FeedCheckpoint, seq); err != nil {
		return err
	}
	backoff := time.Duration(0)
	c := f.j.Cursor(seq)
	defer func() { c.Close() }()
	for ctx.Err() == nil {
		next, err := f.step(ctx, c, seq)
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			c.Close()
			c = f.j.Cursor(seq) // start over from the committed position
			backoff = min(max(2*backoff, 100*time.Millisecond), 30*time.Second)
			f.logs.log.Warn("trail → log group feed failed; retrying", "err", err, "retry_in", backoff)
			select {
			case <-ctx.Done():
			case <-time.After(backoff):
			}
			continue
		}
		backoff = 0
		seq = next
	}
	return nil
}

type feedKey struct {
	groupID int64
	stream  string
}

// step waits for journal records after seq, feeds them, and returns the new position.
func (f *Feed) step(ctx context.Context, c *journal.Cursor, seq uint64) (uint64, error) {
	ents, err := c.Next(ctx, 4096, 8<<20)
	if err != nil {
		if errors.Is(err, context.Canceled) {
			return seq, ctx.Err()
		}
		return seq, fmt.Errorf("read journal after %d: %w", seq, err)
	}
	trails, err := f.trails.All(ctx)
	if err != nil {
		return seq, err
	}
	var feeding []*trail.Trail
	for _, t := range trails {
		if t.CloudWatchLogsLogGroupArn != "" {
			feeding = append(feeding, t)
		}
	}
	last := ents[len(ents)-1].Seq
	if len(feeding) == 0 {
		// Nothing to write: record the position at most once a second (redoing a skipped
		// range after a crash writes nothing either), so the feed costs ingest no fsyncs.
		if time.Since(f.saved) < time.Second {
			return last, nil
		}
		return last, f.commit(ctx, last, nil, nil)
	}
	orgs, err := f.trails.Organizations(ctx)
	if err != nil {
		return seq, err
	}
	router := trail.NewRouter(feeding, orgs)
	groups := map[string]*Group{} // by trail ARN; nil: the group does not exist
	batches := map[feedKey][]InputEvent{}
	var order []feedKey
	var routed []*trail.Trail
	for _, e := range ents {
		s, raw, err := event.OpenEnvelope(e.Data)
		if err != nil {
			continue // not an event
		}
		ev := trail.Event{Summary: s, Raw: raw}
		routed = router.Route(&ev, e.Time, routed[:0])
		for _, t := range routed {
			g, ok := groups[t.ARN]
			if !ok {
				if g, err = f.trailGroup(ctx, t); err != nil {
					return seq, err
				}
				groups[t.ARN] = g
			}
			if g == nil {
				continue
			}
			k := feedKey{g.ID, TrailStreamName(s.Account, s.Region)}
			if _, ok := batches[k]; !ok {
				order = append(order, k)
			}
			ts := s.EventTime
			if ts.IsZero() {
				ts = e.Time
			}
			batches[k] = append(batches[k], InputEvent{Timestamp: ts.UnixMilli(), Message: string(raw)})
		}
	}
	byID := map[int64]*Group{}
	for _, g := range groups {
		if g != nil {
			byID[g.ID] = g
		}
	}
	stored := map[int64][]Event{}
	if err := f.commitEvents(ctx, last, order, batches, stored); err != nil {
		return seq, err
	}
	for id, evs := range stored {
		f.logs.applyFilters(ctx, byID[id], evs)
	}
	return last, nil
}

// trailGroup returns the log group a trail feeds, or nil (logged) if it no longer exists.
func (f *Feed) trailGroup(ctx context.Context, t *trail.Trail) (*Group, error) {
	account, region, name, err := ParseGroupARN(t.CloudWatchLogsLogGroupArn)
	var g *Group
	if err == nil {
		g, err = f.logs.Group(ctx, Scope{Account: account, Region: region}, name)
	}
	if errors.Is(err, ErrNotFound) || errors.Is(err, ErrInvalidParameter) {
		// As on AWS, events go nowhere while the group is missing; say so once a minute.
		if time.Since(f.warned[t.ARN]) > time.Minute {
			f.warned[t.ARN] = time.Now()
			f.logs.log.Warn("trail's log group does not exist; its events are not sent to CloudWatch Logs", "trail", t.ARN, "group", t.CloudWatchLogsLogGroupArn, "err", err)
		}
		return nil, nil
	}
	return g, err
}

func (f *Feed) commitEvents(ctx context.Context, last uint64, order []feedKey, batches map[feedKey][]InputEvent, stored map[int64][]Event) error {
	now := f.logs.nowMS()
	err := f.logs.inTx(ctx, func(tx *sql.Tx) error {
		for _, k := range order {
			var streamID int64
			if _, err := tx.ExecContext(ctx, `INSERT INTO log_streams (group_id, name, created_ms) VALUES (?, ?, ?) ON CONFLICT DO NOTHING`, k.groupID, k.stream, now); err != nil {
				return fmt.Errorf("create log stream %s: %w", k.stream, err)
			}
			if err := tx.QueryRowContext(ctx, `SELECT id FROM log_streams WHERE group_id = ? AND name = ?`, k.groupID, k.stream).Scan(&streamID); err != nil {
				return err
			}
			evs, err := appendEvents(ctx, tx, k.groupID, streamID, k.stream, batches[k], now)
			if err != nil {
				return err
			}
			stored[k.groupID] = append(stored[k.groupID], evs...)
		}
		_, err := tx.ExecContext(ctx, `UPDATE log_trail_feed SET seq = ? WHERE id = 1`, last)
		return err
	})
	if err != nil {
		return err
	}
	f.saved = time.Now()
	return f.j.SetCheckpoint(FeedCheckpoint, last)
}

func (f *Feed) commit(ctx context.Context, last uint64, order []feedKey, batches map[feedKey][]InputEvent) error {
	return f.commitEvents(ctx, last, order, batches, map[int64][]Event{})
}

// CheckLogGroup confirms that the log group a trail is to feed exists in the trail's account
// (trail.LogGroupChecker), so CreateTrail and UpdateTrail refuse a group that does not.
func (s *Store) CheckLogGroup(ctx context.Context, account, arn string) error {
	invalid := func(msg string) error { return &trail.Error{Kind: trail.ErrInvalidLogGroupArn, Message: msg} }
	groupAccount, region, name, err := ParseGroupARN(arn)
	if err != nil {
		return invalid("CloudWatch Logs log group ARN " + arn + " is not valid: want arn:aws:logs:<region>:<account>:log-group:<name>:*.")
	}
	if groupAccount != account {
		return invalid("CloudWatch Logs log group " + arn + " belongs to account " + groupAccount + ", not to the trail's account " + account + ".")
	}
	if _, err := s.Group(ctx, Scope{Account: account, Region: region}, name); err != nil {
		if errors.Is(err, ErrNotFound) {
			return invalid("CloudWatch Logs log group " + name + " does not exist in " + region + " (" + arn + "): create it first with CreateLogGroup.")
		}
		return fmt.Errorf("check log group %s: %w", arn, err)
	}
	return nil
}
