package trail

import (
	"bytes"
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"runtime"
	"strings"
	"sync"
	"time"

	"github.com/cairn-dev/cairn/internal/event"
	"github.com/cairn-dev/cairn/internal/integrity"
	"github.com/cairn-dev/cairn/internal/journal"
	"github.com/cairn-dev/cairn/internal/logfile"
	"github.com/cairn-dev/cairn/internal/objstore"
)

// CheckpointName is the journal checkpoint delivery keeps, holding back journal retention
// until every trail has received its events.
const CheckpointName = "trail-delivery"

// DeliveryOptions tune delivery. Zero values take the defaults.
type DeliveryOptions struct {
	Interval       time.Duration // how often log files are delivered; default 5m, as AWS
	DigestInterval time.Duration // the span of each digest; default 1h, as AWS
	// MaxFileBytes caps one log file's uncompressed size; a batch over it is split into
	// several files. Default 50 MiB.
	MaxFileBytes int
	// MaxCycleBytes bounds the records one delivery cycle holds in memory; a backlog is
	// delivered in several cycles. Default 128 MiB.
	MaxCycleBytes int
	Logger        *slog.Logger
	Now           func() time.Time
}

func (o *DeliveryOptions) setDefaults() {
	if o.Interval <= 0 {
		o.Interval = 5 * time.Minute
	}
	if o.DigestInterval <= 0 {
		o.DigestInterval = time.Hour
	}
	if o.MaxFileBytes <= 0 {
		o.MaxFileBytes = 50 << 20
	}
	if o.MaxCycleBytes <= 0 {
		o.MaxCycleBytes = 128 << 20
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.Now == nil {
		o.Now = time.Now
	}
}

// Deliverer is the journal reader that delivers every trail's log files and digests.
//
// It works in cycles. A cycle takes the journal range past what was delivered, routes each
// event to the trails that want it, and writes one file per trail, account, region and kind
// (split at MaxFileBytes). The range and the cycle's time are recorded before any object is
// written, and object names derive from them, so a cycle a crash interrupted is redone with
// the same names: every event ends up in exactly one delivered file. Digests follow: every
// DigestInterval each digest chain (trail, account, region) gets a signed digest of the log
// files delivered in its interval, empty or not.
type Deliverer struct {
	j       *journal.Journal
	store   *Store
	objects objstore.Store
	keys    *integrity.Keyring
	opts    DeliveryOptions
	log     *slog.Logger

	flush chan chan error
}

// NewDeliverer returns a deliverer. Call Run to start it.
func NewDeliverer(j *journal.Journal, store *Store, objects objstore.Store, keys *integrity.Keyring, opts DeliveryOptions) *Deliverer {
	opts.setDefaults()
	return &Deliverer{j: j, store: store, objects: objects, keys: keys, opts: opts, log: opts.Logger, flush: make(chan chan error)}
}

// Options returns the deliverer's settings.
func (d *Deliverer) Options() DeliveryOptions { return d.opts }

// Flush delivers everything the journal holds now and the final digests of chains marked
// closing, and waits for it. StopLogging and DeleteTrail call it.
func (d *Deliverer) Flush(ctx context.Context) error {
	reply := make(chan error, 1)
	select {
	case d.flush <- reply:
	case <-ctx.Done():
		return ctx.Err()
	}
	select {
	case err := <-reply:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Run delivers until ctx is done. Failures are logged, recorded in the trails' status and
// retried with backoff; Run returns only errors that make delivery impossible.
func (d *Deliverer) Run(ctx context.Context) error {
	delivered, err := d.deliveredSeq(ctx)
	if err != nil {
		return err
	}
	// The checkpoint exists from the first start, so retention keeps what delivery has not read.
	if err := d.j.SetCheckpoint(CheckpointName, min(delivered, d.j.LastSeq())); err != nil {
		return err
	}
	backoff := time.Duration(0)
	timer := time.NewTimer(0)
	defer timer.Stop()
	for {
		var reply chan error
		select {
		case <-ctx.Done():
			return nil
		case <-timer.C:
		case reply = <-d.flush:
		}
		err := d.step(ctx)
		if reply != nil {
			reply <- err
		}
		if ctx.Err() != nil {
			return nil
		}
		wait := d.opts.Interval
		if err != nil {
			backoff = min(max(2*backoff, time.Second), 5*time.Minute)
			wait = min(wait, backoff)
			d.log.Warn("trail delivery failed; retrying", "err", err, "retry_in", backoff)
		} else {
			backoff = 0
			// Wake for the next digest if it is due before the next delivery.
			if next, ok, err := d.nextDigest(ctx); err == nil && ok {
				if until := time.Until(next); until < wait {
					wait = max(until, 10*time.Millisecond)
				}
			}
		}
		if !timer.Stop() {
			select {
			case <-timer.C:
			default:
			}
		}
		timer.Reset(wait)
	}
}

// step runs one delivery cycle (after redoing an interrupted one) and writes due digests.
func (d *Deliverer) step(ctx context.Context) error {
	var errs []error
	for {
		more, err := d.cycle(ctx)
		if err != nil {
			errs = append(errs, err)
			break
		}
		if !more {
			break
		}
	}
	if err := d.digests(ctx); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

func (d *Deliverer) deliveredSeq(ctx context.Context) (uint64, error) {
	var seq uint64
	if err := d.store.db.QueryRowContext(ctx, `SELECT delivered_seq FROM trail_delivery WHERE id = 1`).Scan(&seq); err != nil {
		return 0, fmt.Errorf("read delivery position: %w", err)
	}
	return seq, nil
}

// batch is the records one file (or, split, several files) will hold.
type batch struct {
	trail   *Trail
	account string
	region  string
	insight bool
	records [][]byte
	times   []time.Time // each record's eventTime (zero if absent)
	oldest  time.Time
	newest  time.Time
}

type batchKey struct {
	arn, account, region string
	insight              bool
}

// cycle delivers one journal range. It reports whether more is waiting (the range was cut to
// bound memory).
func (d *Deliverer) cycle(ctx context.Context) (more bool, err error) {
	var from uint64
	var pFrom, pTo, pTime sql.NullInt64
	if err := d.store.db.QueryRowContext(ctx, `SELECT delivered_seq, pending_from, pending_to, pending_time FROM trail_delivery WHERE id = 1`).
		Scan(&from, &pFrom, &pTo, &pTime); err != nil {
		return false, fmt.Errorf("read delivery position: %w", err)
	}
	redo := pFrom.Valid
	to := d.j.LastSeq()
	at := d.opts.Now().UTC().Truncate(time.Second)
	if redo {
		from, to, at = uint64(pFrom.Int64), uint64(pTo.Int64), time.Unix(0, pTime.Int64).UTC()
	}
	if to <= from {
		return false, nil
	}
	trails, err := d.store.All(ctx)
	if err != nil {
		return false, err
	}
	orgs, err := d.store.Organizations(ctx)
	if err != nil {
		return false, err
	}
	router := NewRouter(trails, orgs)
	if !redo && !anyLogged(trails) {
		// Nothing recorded while no trail logged can ever be delivered.
		return false, d.commit(ctx, to, nil, nil)
	}

	batches := map[batchKey]*batch{}
	interned := map[string]string{}
	intern := func(v string) string {
		if s, ok := interned[v]; ok {
			return s
		}
		s := strings.Clone(v)
		interned[s] = s
		return s
	}
	var order []batchKey
	c := d.j.Cursor(from)
	defer c.Close()
	held := 0
	last := from
	var routed []*Trail
read:
	for last < to {
		ents, err := c.TryNext(4096, 8<<20)
		if err != nil {
			return false, fmt.Errorf("read journal after %d: %w", last, err)
		}
		if len(ents) == 0 {
			return false, fmt.Errorf("journal ends at %d, before the delivery range's end %d", last, to)
		}
		for _, e := range ents {
			if e.Seq > to {
				break read
			}
			last = e.Seq
			s, raw, err := event.OpenEnvelope(e.Data)
			if err != nil {
				d.log.Warn("trail delivery: skipping a journal record that is not an event", "seq", e.Seq, "err", err)
				continue
			}
			ev := Event{Summary: s, Raw: raw}
			routed = router.Route(&ev, e.Time, routed[:0])
			if len(routed) == 0 {
				continue
			}
			rec := bytes.Clone(raw)
			held += len(rec)
			// The summary's strings alias the cursor's buffer: intern what the batches keep.
			account, region := intern(s.Account), intern(s.Region)
			for _, t := range routed {
				k := batchKey{t.ARN, account, region, s.Category == event.CategoryInsight}
				b := batches[k]
				if b == nil {
					b = &batch{trail: t, account: k.account, region: k.region, insight: k.insight}
					batches[k] = b
					order = append(order, k)
				}
				b.records = append(b.records, rec)
				b.times = append(b.times, s.EventTime)
				if !s.EventTime.IsZero() {
					if b.oldest.IsZero() || s.EventTime.Before(b.oldest) {
						b.oldest = s.EventTime
					}
					if s.EventTime.After(b.newest) {
						b.newest = s.EventTime
					}
				}
			}
			if !redo && held >= d.opts.MaxCycleBytes && last < to {
				to, more = last, true
				break read
			}
		}
	}
	if len(batches) == 0 {
		return more, d.commit(ctx, to, nil, nil)
	}
	// Record the cycle before writing: a redo after a crash writes the same objects.
	if !redo {
		if _, err := d.store.db.ExecContext(ctx, `UPDATE trail_delivery SET pending_from = ?, pending_to = ?, pending_time = ? WHERE id = 1`,
			from, to, at.UnixNano()); err != nil {
			return false, fmt.Errorf("record delivery cycle: %w", err)
		}
	}
	// Batches are compressed and written in parallel; gzip is most of delivery's work.
	results := make([][]deliveredFile, len(order))
	errs := make([]error, len(order))
	var wg sync.WaitGroup
	sem := make(chan struct{}, runtime.GOMAXPROCS(0))
	for i, k := range order {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			results[i], errs[i] = d.write(ctx, batches[k], from, to, at)
		}()
	}
	wg.Wait()
	var files []deliveredFile
	failed := map[string]error{}
	for i, k := range order {
		if errs[i] != nil {
			failed[batches[k].trail.ARN] = errs[i]
			continue
		}
		files = append(files, results[i]...)
	}
	for arn, err := range failed {
		if serr := d.store.recordDelivery(ctx, arn, d.opts.Now(), false, err); serr != nil {
			d.log.Warn("record delivery status", "err", serr)
		}
	}
	if len(failed) > 0 {
		var errs []error
		for arn, err := range failed {
			errs = append(errs, fmt.Errorf("trail %s: %w", arn, err))
		}
		return false, errors.Join(errs...)
	}
	delivered := map[string]bool{}
	for _, f := range files {
		delivered[f.trail.ARN] = true
	}
	if err := d.commit(ctx, to, files, trails); err != nil {
		return false, err
	}
	now := d.opts.Now()
	for arn := range delivered {
		if err := d.store.recordDelivery(ctx, arn, now, false, nil); err != nil {
			d.log.Warn("record delivery status", "err", err)
		}
	}
	d.log.Debug("trail delivery", "from", from, "to", to, "files", len(files))
	return more, nil
}

func anyLogged(trails []*Trail) bool {
	for _, t := range trails {
		if len(t.Logging) > 0 {
			return true
		}
	}
	return false
}

type deliveredFile struct {
	trail           *Trail
	account, region string
	key, hash       string
	oldest, newest  time.Time
	at              time.Time
	insight         bool
}

// write stores a batch as one or more files named from the cycle's range.
func (d *Deliverer) write(ctx context.Context, b *batch, from, to uint64, at time.Time) ([]deliveredFile, error) {
	t := b.trail
	var out []deliveredFile
	part := 0
	for start := 0; start < len(b.records); part++ {
		end, size := start, 0
		for end < len(b.records) && (end == start || size+len(b.records[end])+1 <= d.opts.MaxFileBytes) {
			size += len(b.records[end]) + 1
			end++
		}
		recs, times := b.records[start:end], b.times[start:end]
		start = end
		raw := logfile.Marshal(recs)
		var body bytes.Buffer
		if err := logfile.WriteGzip(&body, raw); err != nil {
			return nil, err
		}
		seed := make([]byte, 0, 128)
		seed = append(seed, t.ARN...)
		seed = append(seed, 0)
		seed = append(seed, b.account...)
		seed = append(seed, 0)
		seed = append(seed, b.region...)
		seed = binary.BigEndian.AppendUint64(seed, from)
		seed = binary.BigEndian.AppendUint64(seed, to)
		seed = binary.BigEndian.AppendUint32(seed, uint32(part))
		if b.insight {
			seed = append(seed, 'i')
		}
		unique := logfile.UniqueSuffix(seed)
		org := ""
		if t.IsOrganizationTrail {
			org = t.OrganizationID
		}
		key := logfile.LogKey(t.S3KeyPrefix, org, b.account, b.region, at, unique)
		if b.insight {
			key = logfile.InsightKey(t.S3KeyPrefix, org, b.account, b.region, at, unique)
		}
		if err := d.objects.Put(ctx, t.S3BucketName, key, body.Bytes(), nil); err != nil {
			return nil, fmt.Errorf("deliver s3://%s/%s: %w", t.S3BucketName, key, err)
		}
		sum := sha256.Sum256(raw)
		oldest, newest := b.oldest, b.newest
		if len(recs) != len(b.records) {
			oldest, newest = span(times)
		}
		out = append(out, deliveredFile{trail: t, account: b.account, region: b.region, key: key, hash: hex.EncodeToString(sum[:]),
			oldest: oldest, newest: newest, at: at, insight: b.insight})
	}
	return out, nil
}

// span returns the oldest and newest of times, ignoring zero ones.
func span(times []time.Time) (oldest, newest time.Time) {
	for _, t := range times {
		if t.IsZero() {
			continue
		}
		if oldest.IsZero() || t.Before(oldest) {
			oldest = t
		}
		if t.After(newest) {
			newest = t
		}
	}
	return oldest, newest
}

// commit records a finished cycle in one transaction: the files digests will cover, chains
// for new accounts and regions, and the new journal position. The journal checkpoint follows.
func (d *Deliverer) commit(ctx context.Context, to uint64, files []deliveredFile, trails []*Trail) error {
	tx, err := d.store.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	for _, f := range files {
		if f.insight || !f.trail.LogFileValidationEnabled {
			continue
		}
		if _, err := tx.ExecContext(ctx, `INSERT OR REPLACE INTO trail_log_files (arn, account_id, region, bucket, key, sha256, oldest_event, newest_event, delivered_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`, f.trail.ARN, f.account, f.region, f.trail.S3BucketName, f.key, f.hash,
			integrity.FormatTime(f.oldest), integrity.FormatTime(f.newest), f.at.UnixNano()); err != nil {
			return fmt.Errorf("record delivered file: %w", err)
		}
		// A chain starts with the first file of an account and region (the home region's
		// starts with logging).
		if _, err := tx.ExecContext(ctx, `INSERT OR IGNORE INTO trail_digest_chains (arn, account_id, region, started_at) VALUES (?, ?, ?, ?)`,
			f.trail.ARN, f.account, f.region, f.at.Unix()); err != nil {
			return fmt.Errorf("start digest chain: %w", err)
		}
	}
	if _, err := tx.ExecContext(ctx, `UPDATE trail_delivery SET delivered_seq = ?, pending_from = NULL, pending_to = NULL, pending_time = NULL WHERE id = 1`, to); err != nil {
		return fmt.Errorf("record delivery position: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("commit delivery: %w", err)
	}
	if err := d.j.SetCheckpoint(CheckpointName, to); err != nil && !errors.Is(err, journal.ErrClosed) {
		return err
	}
	return nil
}

// chain is a digest chain's state.
type chain struct {
	arn, account, region string
	started              time.Time
	prev                 *integrity.Previous
	closing              time.Time
}

func (d *Deliverer) chains(ctx context.Context) ([]chain, error) {
	rows, err := d.store.db.QueryContext(ctx, `SELECT arn, account_id, region, started_at, last_bucket, last_key, last_hash, last_signature, closing_at FROM trail_digest_chains ORDER BY arn, account_id, region`)
	if err != nil {
		return nil, fmt.Errorf("read digest chains: %w", err)
	}
	defer rows.Close()
	var out []chain
	for rows.Next() {
		var c chain
		var started int64
		var bucket, key, hash, sig sql.NullString
		var closing sql.NullInt64
		if err := rows.Scan(&c.arn, &c.account, &c.region, &started, &bucket, &key, &hash, &sig, &closing); err != nil {
			return nil, err
		}
		c.started = time.Unix(started, 0).UTC()
		if key.Valid {
			c.prev = &integrity.Previous{Bucket: bucket.String, Object: key.String, Hash: hash.String, Signature: sig.String}
		}
		if closing.Valid {
			c.closing = time.Unix(0, closing.Int64).UTC()
		}
		out = append(out, c)
	}
	return out, rows.Err()
}

// nextDigest returns when the next digest falls due.
func (d *Deliverer) nextDigest(ctx context.Context) (time.Time, bool, error) {
	cs, err := d.chains(ctx)
	if err != nil || len(cs) == 0 {
		return time.Time{}, false, err
	}
	next := cs[0].started.Add(d.opts.DigestInterval)
	for _, c := range cs[1:] {
		if n := c.started.Add(d.opts.DigestInterval); n.Before(next) {
			next = n
		}
	}
	return next, true, nil
}

// maxCatchUp is how many missed intervals are written as separate digests after downtime;
// beyond it one digest spans the gap.
const maxCatchUp = 48

// digests writes every digest that is due, and the final digest of closing chains.
func (d *Deliverer) digests(ctx context.Context) error {
	cs, err := d.chains(ctx)
	if err != nil {
		return err
	}
	trails := map[string]*Trail{}
	all, err := d.store.All(ctx)
	if err != nil {
		return err
	}
	for _, t := range all {
		trails[t.ARN] = t
	}
	var errs []error
	now := d.opts.Now().UTC()
	for _, c := range cs {
		t := trails[c.arn]
		if t == nil {
			if _, err := d.store.db.ExecContext(ctx, `DELETE FROM trail_digest_chains WHERE arn = ?`, c.arn); err != nil {
				errs = append(errs, err)
			}
			continue
		}
		if c.closing.IsZero() && (!t.IsLogging() || !t.LogFileValidationEnabled) {
			c.closing = now // a stop whose final digest a crash prevented
		}
		for n := 0; ; n++ {
			end := c.started.Add(d.opts.DigestInterval)
			final := false
			if !c.closing.IsZero() && !end.Before(c.closing) {
				// The final digest ends at the closing time, rounded up to a whole second.
				end, final = c.closing.Add(time.Second-1).Truncate(time.Second), true
				if !end.After(c.started) {
					end = c.started.Add(time.Second)
				}
			} else if end.After(now) {
				break
			} else if n == maxCatchUp {
				end = now.Truncate(time.Second) // after long downtime, one digest spans the rest
			}
			next, err := d.writeDigest(ctx, t, c, end, final)
			if err != nil {
				errs = append(errs, err)
				if serr := d.store.recordDelivery(ctx, t.ARN, now, true, err); serr != nil {
					d.log.Warn("record digest status", "err", serr)
				}
				break
			}
			if err := d.store.recordDelivery(ctx, t.ARN, now, true, nil); err != nil {
				d.log.Warn("record digest status", "err", err)
			}
			if final {
				break
			}
			c = next
		}
	}
	return errors.Join(errs...)
}

// writeDigest writes the digest of chain c ending at end and advances (or, final, ends) the
// chain. The object is written before the chain moves on, so a crash in between writes the
// same digest again.
func (d *Deliverer) writeDigest(ctx context.Context, t *Trail, c chain, end time.Time, final bool) (chain, error) {
	rows, err := d.store.db.QueryContext(ctx, `SELECT bucket, key, sha256, oldest_event, newest_event FROM trail_log_files
		WHERE arn = ? AND account_id = ? AND region = ? AND delivered_at < ? ORDER BY delivered_at, key`,
		c.arn, c.account, c.region, end.UnixNano()+boolInt(final))
	if err != nil {
		return c, fmt.Errorf("read files to digest: %w", err)
	}
	var files []integrity.LogFile
	for rows.Next() {
		f := integrity.LogFile{HashAlgorithm: integrity.HashAlgorithm}
		if err := rows.Scan(&f.S3Bucket, &f.S3Object, &f.HashValue, &f.OldestEventTime, &f.NewestEventTime); err != nil {
			rows.Close()
			return c, err
		}
		files = append(files, f)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return c, err
	}
	org := ""
	if t.IsOrganizationTrail {
		org = t.OrganizationID
	}
	key := logfile.DigestKey(t.S3KeyPrefix, org, c.account, c.region, t.Name, t.HomeRegion, end, false)
	dg := &integrity.Digest{
		AWSAccountID:    c.account,
		DigestStartTime: integrity.FormatTime(c.started), DigestEndTime: integrity.FormatTime(end),
		DigestS3Bucket: t.S3BucketName, DigestS3Object: key, LogFiles: files,
	}
	if len(files) > 0 {
		oldest, newest := files[0].OldestEventTime, files[0].NewestEventTime
		for _, f := range files[1:] {
			oldest, newest = min(oldest, f.OldestEventTime), max(newest, f.NewestEventTime)
		}
		dg.OldestEventTime, dg.NewestEventTime = &oldest, &newest
	}
	dg.Link(c.prev)
	signer, err := d.keys.Signer(c.region, d.opts.Now())
	if err != nil {
		return c, err
	}
	sealed, err := integrity.Seal(dg, signer)
	if err != nil {
		return c, err
	}
	if err := d.objects.Put(ctx, t.S3BucketName, key, sealed.Gzip(), sealed.Metadata()); err != nil {
		return c, fmt.Errorf("deliver digest s3://%s/%s: %w", t.S3BucketName, key, err)
	}
	tx, err := d.store.db.BeginTx(ctx, nil)
	if err != nil {
		return c, err
	}
	defer tx.Rollback()
	for _, f := range files {
		if _, err := tx.ExecContext(ctx, `DELETE FROM trail_log_files WHERE arn = ? AND bucket = ? AND key = ?`, c.arn, f.S3Bucket, f.S3Object); err != nil {
			return c, err
		}
	}
	if final {
		_, err = tx.ExecContext(ctx, `DELETE FROM trail_digest_chains WHERE arn = ? AND account_id = ? AND region = ?`, c.arn, c.account, c.region)
	} else {
		_, err = tx.ExecContext(ctx, `UPDATE trail_digest_chains SET started_at = ?, last_bucket = ?, last_key = ?, last_hash = ?, last_signature = ?
			WHERE arn = ? AND account_id = ? AND region = ?`, end.Unix(), t.S3BucketName, key, sealed.Hash, sealed.Signature, c.arn, c.account, c.region)
	}
	if err != nil {
		return c, fmt.Errorf("advance digest chain: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return c, err
	}
	c.started = end
	c.prev = &integrity.Previous{Bucket: t.S3BucketName, Object: key, Hash: sealed.Hash, Signature: sealed.Signature}
	return c, nil
}

func boolInt(b bool) int64 {
	if b {
		return 1
	}
	return 0
}

// StartChains begins the home-region digest chain of a trail that logs with validation on
// (and, for an organisation trail, of its management account). Idempotent.
func (s *Store) StartChains(ctx context.Context, t *Trail, at time.Time) error {
	_, err := s.db.ExecContext(ctx, `INSERT INTO trail_digest_chains (arn, account_id, region, started_at) VALUES (?, ?, ?, ?)
		ON CONFLICT (arn, account_id, region) DO UPDATE SET closing_at = NULL`, t.ARN, t.Account, t.HomeRegion, at.Unix())
	if err != nil {
		return fmt.Errorf("start digest chain of %s: %w", t.ARN, err)
	}
	return nil
}

// CloseChains marks every digest chain of a trail to end with a final digest at time at;
// delivery writes it (Flush to wait for it).
func (s *Store) CloseChains(ctx context.Context, arn string, at time.Time) error {
	if _, err := s.db.ExecContext(ctx, `UPDATE trail_digest_chains SET closing_at = ? WHERE arn = ? AND closing_at IS NULL`, at.UnixNano(), arn); err != nil {
		return fmt.Errorf("close digest chains of %s: %w", arn, err)
	}
	return nil
}
