// Package recorder is the one door into the journal. Every source (the API, native ingest,
// imports, the generator, cairn's own audit of its API) records events through it, so every
// event is validated, stamped and deduplicated the same way.
package recorder

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/cairn-dev/cairn/internal/event"
	"github.com/cairn-dev/cairn/internal/journal"
)

// Journal is what the recorder needs of the journal.
type Journal interface {
	Append(ctx context.Context, records [][]byte) (first uint64, err error)
	Cursor(after uint64) *journal.Cursor
	FirstSeq() uint64
	LastSeq() uint64
}

// Options configure a Recorder.
type Options struct {
	// DedupWindow is how many recent events the recorder remembers to recognise a retried one.
	// Default 1,000,000 (about 50 MB).
	DedupWindow int
	Now         func() time.Time
	Logger      *slog.Logger
}

// Status is what happened to one record.
type Status int

const (
	Recorded Status = iota
	Duplicate
	Rejected
)

func (s Status) String() string {
	return [...]string{"recorded", "duplicate", "rejected"}[s]
}

// Result is the outcome for one record of a batch.
type Result struct {
	Status  Status
	EventID string
	Seq     uint64 // journal sequence when Recorded
	Err     error  // why it was Rejected (wraps event.ErrInvalid)
}

// Scope says on whose behalf a batch is recorded.
type Scope struct {
	Account string // recipientAccountId for records without one
	Region  string // awsRegion for records without one
	// AnyAccount lets records name any recipientAccountId (the operator account, imports);
	// otherwise a record for another account is rejected.
	AnyAccount bool
	// Preserve keeps records byte for byte, as imports of existing log files must: a record
	// lacking recipientAccountId or awsRegion is indexed under Account and Region without
	// their being written into it, and no eventID or eventTime is invented. A record without
	// an eventID is deduplicated by its bytes.
	Preserve bool
}

// Recorder validates, stamps, deduplicates and journals events.
type Recorder struct {
	j    Journal
	opts Options

	mu   sync.Mutex
	seen map[DedupKey]struct{}
	ring []DedupKey // eviction order
	next int
}

// DedupKey identifies an event for deduplication (see Key).
type DedupKey [16]byte

// New returns a recorder over j. Call Load before recording so retries of events recorded
// before a restart are still recognised.
func New(j Journal, opts Options) *Recorder {
	if opts.DedupWindow <= 0 {
		opts.DedupWindow = 1_000_000
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	return &Recorder{j: j, opts: opts, seen: make(map[DedupKey]struct{}, 1024)}
}

// Record records a batch. Each record gets its own Result; a bad record never blocks the rest.
// The error is for the batch as a whole (the journal failed): then nothing was recorded.
func (r *Recorder) Record(ctx context.Context, scope Scope, raws [][]byte) ([]Result, error) {
	recs := make([]*event.Record, len(raws))
	results := make([]Result, len(raws))
	for i, raw := range raws {
		rec, err := event.Parse(raw)
		if err != nil {
			results[i] = Result{Status: Rejected, Err: err}
			continue
		}
		recs[i] = rec
	}
	return results, r.record(ctx, scope, recs, results)
}

// RecordParsed is Record for records the caller has parsed with event.Parse (an importer
// that filters on their fields parses each once). The recorder may stamp fields into them.
func (r *Recorder) RecordParsed(ctx context.Context, scope Scope, recs []*event.Record) ([]Result, error) {
	results := make([]Result, len(recs))
	return results, r.record(ctx, scope, recs, results)
}

func (r *Recorder) record(ctx context.Context, scope Scope, parsed []*event.Record, results []Result) error {
	recs := make([][]byte, 0, len(parsed))
	idx := make([]int, 0, len(parsed)) // results index of each record in recs
	keys := make([]DedupKey, 0, len(parsed))
	now := r.opts.Now().UTC()
	// The envelopes share one buffer: the journal copies them, so this batch is their life.
	size := 0
	for _, rec := range parsed {
		if rec != nil {
			size += len(rec.Raw) + 512
		}
	}
	arena := make([]byte, 0, size)

	for i, rec := range parsed {
		if rec == nil {
			continue // rejected by Record's parse
		}
		if err := stamp(rec, scope, now); err != nil {
			results[i] = Result{Status: Rejected, EventID: rec.EventID, Err: err}
			continue
		}
		results[i].EventID = rec.EventID
		start := len(arena)
		arena = event.AppendEnvelope(arena, rec)
		recs = append(recs, arena[start:len(arena):len(arena)])
		idx = append(idx, i)
		keys = append(keys, Key(rec.RecipientAccountID, rec.EventID, rec.Raw))
	}

	// Reserve keys before appending, so a concurrent retry of the same batch sees them.
	r.mu.Lock()
	keep := recs[:0]
	keepIdx := idx[:0]
	var reserved []DedupKey
	for n, k := range keys {
		if _, dup := r.seen[k]; dup {
			results[idx[n]].Status = Duplicate
			continue
		}
		r.remember(k)
		reserved = append(reserved, k)
		keep = append(keep, recs[n])
		keepIdx = append(keepIdx, idx[n])
	}
	r.mu.Unlock()

	if len(keep) == 0 {
		return nil
	}
	first, err := r.j.Append(ctx, keep)
	if err != nil {
		r.mu.Lock()
		for _, k := range reserved {
			delete(r.seen, k)
		}
		r.mu.Unlock()
		return fmt.Errorf("record %d events: %w", len(keep), err)
	}
	for n, i := range keepIdx {
		results[i].Status = Recorded
		results[i].Seq = first + uint64(n)
	}
	return nil
}

// remember adds k, evicting the oldest key once the window is full. Callers hold r.mu.
func (r *Recorder) remember(k DedupKey) {
	if len(r.ring) < r.opts.DedupWindow {
		r.ring = append(r.ring, k)
	} else {
		delete(r.seen, r.ring[r.next])
		r.ring[r.next] = k
		r.next = (r.next + 1) % len(r.ring)
	}
	r.seen[k] = struct{}{}
}

// stamp fills eventID, eventTime, recipientAccountId and awsRegion where the record lacks them
// (rec.Raw gets the added fields), and enforces the scope's account. Under scope.Preserve it
// fills only what indexing needs, and leaves rec.Raw alone.
func stamp(rec *event.Record, scope Scope, now time.Time) error {
	var add [][2]string
	if rec.RecipientAccountID == "" {
		if scope.Account == "" {
			return &event.FieldError{Field: "recipientAccountId", Problem: "missing, and the request names no account"}
		}
		rec.RecipientAccountID = scope.Account
		add = append(add, [2]string{"recipientAccountId", scope.Account})
	} else if !scope.AnyAccount && rec.RecipientAccountID != scope.Account {
		return &event.FieldError{Field: "recipientAccountId",
			Problem: fmt.Sprintf("%s is not the caller's account %s; only the operator account records events for other accounts", rec.RecipientAccountID, scope.Account)}
	}
	if rec.AWSRegion == "" && scope.Region != "" {
		rec.AWSRegion = scope.Region
		add = append(add, [2]string{"awsRegion", scope.Region})
	}
	if scope.Preserve {
		return nil
	}
	if rec.EventTimeText == "" {
		rec.EventTime = now.Truncate(time.Second)
		rec.EventTimeText = rec.EventTime.Format(event.TimeLayout)
		add = append(add, [2]string{"eventTime", rec.EventTimeText})
	}
	if rec.EventID == "" {
		rec.EventID = uuid.NewString()
		add = append(add, [2]string{"eventID", rec.EventID})
	}
	raw := event.Stamp(rec.Raw, add...)
	if len(raw) > event.MaxRecordBytes {
		return &event.FieldError{Problem: fmt.Sprintf("record is %d bytes once stamped, over the %d-byte limit", len(raw), event.MaxRecordBytes)}
	}
	rec.Raw = raw
	return nil
}

// Key is the deduplication key of an event: its eventID within its recipient account, or for
// a record without an eventID (eventVersion 1.0, kept as is by Scope.Preserve) its bytes. A
// hash, not the UUID's bytes, so crafted IDs cannot collide with another account's events.
func Key(account, eventID string, raw []byte) DedupKey {
	h := sha256.New()
	h.Write([]byte(account))
	if eventID != "" {
		h.Write([]byte{0})
		h.Write([]byte(eventID))
	} else {
		h.Write([]byte{1})
		h.Write(raw)
	}
	var k DedupKey
	copy(k[:], h.Sum(nil))
	return k
}

// Load rebuilds the deduplication window from the newest records of the journal.
func (r *Recorder) Load(ctx context.Context) error {
	last := r.j.LastSeq()
	if last == 0 {
		return nil
	}
	from := r.j.FirstSeq()
	if last-from+1 > uint64(r.opts.DedupWindow) {
		from = last - uint64(r.opts.DedupWindow) + 1
	}
	c := r.j.Cursor(from - 1)
	defer c.Close()
	for {
		ents, err := c.TryNext(8192, 16<<20)
		if err != nil {
			return fmt.Errorf("load dedup window: %w", err)
		}
		if len(ents) == 0 {
			return nil
		}
		r.mu.Lock()
		for _, e := range ents {
			if s, raw, err := event.OpenEnvelope(e.Data); err == nil {
				r.remember(Key(s.Account, s.EventID, raw))
			}
		}
		r.mu.Unlock()
		if ents[len(ents)-1].Seq >= last {
			return nil
		}
		if err := ctx.Err(); err != nil {
			return err
		}
	}
}

// IsRejection reports whether err is a record's own fault rather than a failure of cairn.
func IsRejection(err error) bool { return errors.Is(err, event.ErrInvalid) }
