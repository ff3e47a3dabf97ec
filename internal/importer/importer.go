// Package importer reads CloudTrail log files — an AWSLogs/ tree on disk or in S3, or loose
// .json, .json.gz and NDJSON files — and records their events, byte for byte, into a data
// directory or a running server.
//
// Files are decoded in parallel, each streamed or held whole (CloudTrail files are at most
// 50 MB), so memory is bounded by the number of workers, never by the size of the tree.
//
// An import is idempotent and resumable. A ledger in the control-plane store remembers each
// file read (by its key, size and SHA-256 or S3 ETag), under which filters, and how many of
// its leading records have a settled fate. A re-run skips what is settled. Events recorded in
// the moments before a run was cut short are not yet settled in the ledger: to catch those
// whatever the recorder's dedup window, the ledger also keeps a journal mark while a run is
// under way — every record of a file not yet settled lies after it — and a run that finds a
// mark checks what it records against the journal after it. See DESIGN.md, "Import".
package importer

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"runtime"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cairn-dev/cairn/internal/event"
	"github.com/cairn-dev/cairn/internal/logfile"
	"github.com/cairn-dev/cairn/internal/recorder"
)

// Config configures an import.
type Config struct {
	Sink   Sink
	Ledger *Ledger
	Filter Filter
	// Verify is the --verify mode; Verifier does the checking. With a mode other than off and
	// no Verifier, digest files are reported as not verified.
	Verify   VerifyMode
	Verifier Verifier
	// Workers decode files in parallel; default GOMAXPROCS.
	Workers int
	// CommitInterval is how often the ledger is written; default 1s.
	CommitInterval time.Duration
	Logger         *slog.Logger

	batchRecords int // tests make batches small
}

// Tuning.
const (
	// maxInMemory is the largest file read whole (CloudTrail's own limit is 50 MB); larger
	// ones are streamed.
	maxInMemory = 64 << 20
	// Batches span files: CloudTrail writes many small files, and each batch costs an fsync.
	batchRecords = 4096
	batchBytes   = 8 << 20
	// Reports keep this many rejections per file and this many files with problems.
	maxRejects  = 10
	maxProblems = 1000
)

// Importer runs one import.
type Importer struct {
	cfg     Config
	filter  string // cfg.Filter in the ledger's form
	log     *slog.Logger
	tracker tracker
	resume  keySet  // events of a run that was cut short, not yet settled in the ledger
	known   *KeySet // files the ledger held when the run began

	// Progress counters.
	filesListed, filesDone, bytesListed, bytesRead atomic.Int64
	records, recorded                              atomic.Int64
	listed                                         atomic.Bool

	mu  sync.Mutex
	sum Summary
}

// New checks cfg and returns an importer.
func New(cfg Config) (*Importer, error) {
	if cfg.Sink == nil || cfg.Ledger == nil {
		return nil, errors.New("importer: a sink and a ledger are required")
	}
	if err := cfg.Filter.Validate(); err != nil {
		return nil, err
	}
	if cfg.Verify == "" {
		cfg.Verify = VerifyOff
	}
	if _, err := ParseVerifyMode(string(cfg.Verify)); err != nil {
		return nil, err
	}
	if cfg.Workers <= 0 {
		cfg.Workers = runtime.GOMAXPROCS(0)
	}
	if cfg.batchRecords <= 0 {
		cfg.batchRecords = batchRecords
	}
	if cfg.CommitInterval <= 0 {
		cfg.CommitInterval = time.Second
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	return &Importer{cfg: cfg, filter: cfg.Filter.String(), log: cfg.Logger,
		tracker: tracker{active: map[*fileState]bool{}, byKey: map[string]*fileState{}}}, nil
}

// Progress is a snapshot of an import under way.
type Progress struct {
	FilesListed, FilesDone int64
	Listed                 bool // every source has been listed: FilesListed is the total
	BytesListed, BytesRead int64
	Records                int64 // read from files
	Recorded               int64
}

// Progress returns the counters now. It is safe to call while Run runs.
func (im *Importer) Progress() Progress {
	return Progress{FilesListed: im.filesListed.Load(), FilesDone: im.filesDone.Load(), Listed: im.listed.Load(),
		BytesListed: im.bytesListed.Load(), BytesRead: im.bytesRead.Load(), Records: im.records.Load(), Recorded: im.recorded.Load()}
}

// Run imports every file of sources and returns what happened. The error is for the import
// as a whole (the store failed, a source could not be listed, ctx ended); files and records
// that could not be imported are in the Summary. Whatever was recorded before an error is
// settled in the ledger, and a re-run continues from there.
func (im *Importer) Run(ctx context.Context, sources []Source) (*Summary, error) {
	start := time.Now()
	j := im.cfg.Sink.Journal()
	floor, hasFloor := uint64(0), false
	if j != nil {
		mark, ok, err := im.cfg.Ledger.Mark(ctx)
		if err != nil {
			return nil, err
		}
		if ok {
			// A run was cut short: what it recorded after the mark may not be in the ledger.
			n, err := im.resume.load(ctx, j, mark)
			if err != nil {
				return nil, fmt.Errorf("resume the import cut short: %w", err)
			}
			im.log.Info("import: resuming a run that was cut short", "journal_after", mark, "events_to_check", n)
			floor, hasFloor = mark, true
		} else {
			floor = j.LastSeq()
		}
		// Set before anything is recorded: a crash from here on leaves the mark.
		if err := im.cfg.Ledger.Save(ctx, nil, markSet, floor); err != nil {
			return nil, err
		}
	}

	known, err := im.cfg.Ledger.Keys(ctx)
	if err != nil {
		return nil, err
	}
	im.known = known

	runCtx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	jobs := make(chan Object, 256)
	var listErr error
	go func() {
		defer close(jobs)
		defer im.listed.Store(true)
		for _, src := range sources {
			err := src.Walk(runCtx, func(o Object) error {
				if o.Ignore {
					im.ignored(o)
					return nil
				}
				im.filesListed.Add(1)
				im.bytesListed.Add(o.Size)
				select {
				case jobs <- o:
					return nil
				case <-runCtx.Done():
					return context.Cause(runCtx)
				}
			})
			if err != nil {
				if runCtx.Err() == nil {
					listErr = err
					cancel(err)
				}
				return
			}
		}
	}()

	commitDone := make(chan error, 1)
	stopCommit := make(chan struct{})
	go func() { commitDone <- im.commitLoop(runCtx, j, floor, hasFloor, stopCommit) }()

	var wg sync.WaitGroup
	for range im.cfg.Workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			w := &worker{im: im, j: j}
			if err := w.run(runCtx, jobs); err != nil {
				cancel(err)
			}
		}()
	}
	wg.Wait()
	close(stopCommit)
	commitErr := <-commitDone

	runErr := context.Cause(runCtx)
	if runErr == context.Canceled && ctx.Err() == nil {
		runErr = nil // our own cancel(nil) never ran; Cause of an uncanceled ctx is nil
	}
	if listErr != nil {
		runErr = listErr
	}
	// The final write settles every file; the mark goes only if nothing is left unsettled.
	final := markKeep
	if runErr == nil && commitErr == nil {
		final = markClear
	}
	if err := im.commit(context.WithoutCancel(ctx), j, floor, hasFloor, final); err != nil && commitErr == nil {
		commitErr = err
	}
	if runErr == nil {
		runErr = commitErr
	}

	if im.cfg.Verify != VerifyOff && im.cfg.Verifier != nil && runErr == nil {
		v := im.cfg.Verifier.Finish(ctx)
		im.mu.Lock()
		im.sum.Verification = &v
		im.mu.Unlock()
	}
	im.mu.Lock()
	defer im.mu.Unlock()
	s := im.sum
	s.Elapsed = time.Since(start)
	s.Bytes = im.bytesRead.Load()
	sort.Slice(s.Problems, func(a, b int) bool { return s.Problems[a].Name < s.Problems[b].Name })
	return &s, runErr
}

// commitLoop writes the ledger every CommitInterval until stop closes.
func (im *Importer) commitLoop(ctx context.Context, j JournalReader, floor uint64, hasFloor bool, stop <-chan struct{}) error {
	t := time.NewTicker(im.cfg.CommitInterval)
	defer t.Stop()
	for {
		select {
		case <-stop:
			return nil
		case <-ctx.Done():
			return nil
		case <-t.C:
			if err := im.commit(ctx, j, floor, hasFloor, markSet); err != nil {
				return err
			}
		}
	}
}

// commit writes what changed since the last commit, and the mark: the lowest journal
// position that the records of any unsettled file follow. A run resuming one cut short keeps
// the old mark, below which its own unsettled files may also have records.
func (im *Importer) commit(ctx context.Context, j JournalReader, floor uint64, hasFloor bool, op markOp) error {
	var last uint64
	if j != nil {
		last = j.LastSeq() // before the snapshot: files registered later start after it
	} else if op != markClear {
		op = markKeep
	}
	rows, mark, done := im.tracker.snapshot(last)
	if hasFloor {
		mark = min(mark, floor)
	}
	if len(rows) == 0 && op == markKeep {
		return nil
	}
	if err := im.cfg.Ledger.Save(ctx, rows, op, mark); err != nil {
		return err
	}
	im.tracker.committed(done)
	return nil
}

func (im *Importer) ignored(o Object) {
	im.mu.Lock()
	defer im.mu.Unlock()
	im.sum.FilesIgnored++
	if len(im.sum.IgnoredExamples) < 3 {
		im.sum.IgnoredExamples = append(im.sum.IgnoredExamples, o.Name)
	}
}

// fileState is a file being imported under this run's filter, shared by the worker reading
// it and the committer.
type fileState struct {
	row   Row
	last  uint64 // journal position after its last settled batch: its later records follow it
	saved int64  // Records as last written to the ledger
	done  bool
}

// tracker holds the files of a run until the ledger has them.
type tracker struct {
	mu       sync.Mutex
	active   map[*fileState]bool
	finished []*fileState
	byKey    map[string]*fileState // active or finished and not yet in the ledger
}

func (t *tracker) start(st *fileState) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.active[st] = true
	t.byKey[st.row.Key] = st
}

// lookup returns the state of a file this run holds, if any.
func (t *tracker) lookup(key string) *fileState {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.byKey[key]
}

// settle records that the file's first n records are settled, and that its later ones will
// follow journal position last.
func (t *tracker) settle(st *fileState, n int64, last uint64, counts Row) {
	t.mu.Lock()
	defer t.mu.Unlock()
	st.row.Records = n
	st.row.Recorded, st.row.Duplicates, st.row.Rejected, st.row.Filtered = counts.Recorded, counts.Duplicates, counts.Rejected, counts.Filtered
	st.last = last
}

func (t *tracker) finish(st *fileState, status, reason string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	st.row.Status, st.row.Error, st.done = status, reason, true
	delete(t.active, st)
	t.finished = append(t.finished, st)
}

// snapshot returns the rows to write and the mark: the lowest position after which the
// records of active files lie (at most last).
func (t *tracker) snapshot(last uint64) (rows []Row, mark uint64, done []*fileState) {
	t.mu.Lock()
	defer t.mu.Unlock()
	mark = last
	for st := range t.active {
		mark = min(mark, st.last)
		if st.row.Records != st.saved {
			r := st.row
			r.Status = StatusPartial
			rows = append(rows, r)
			st.saved = st.row.Records
		}
	}
	for _, st := range t.finished {
		rows = append(rows, st.row)
	}
	done, t.finished = t.finished, nil
	return rows, mark, done
}

// committed forgets files the ledger now holds.
func (t *tracker) committed(done []*fileState) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, st := range done {
		if t.byKey[st.row.Key] == st {
			delete(t.byKey, st.row.Key)
		}
	}
}

// keySet is a sorted set of dedup keys, 16 bytes each.
type keySet struct {
	keys [][16]byte
}

// load reads the keys of every journal record after seq.
func (s *keySet) load(ctx context.Context, j JournalReader, seq uint64) (int, error) {
	last := j.LastSeq()
	if last <= seq {
		return 0, nil
	}
	c := j.Cursor(seq)
	defer c.Close()
	for {
		ents, err := c.TryNext(8192, 16<<20)
		if err != nil {
			return 0, err
		}
		for _, e := range ents {
			sum, raw, err := event.OpenEnvelope(e.Data)
			if err != nil {
				continue // not an event
			}
			s.keys = append(s.keys, keyOf(sum.Account, sum.EventID, raw))
		}
		if len(ents) == 0 || ents[len(ents)-1].Seq >= last {
			break
		}
		if err := ctx.Err(); err != nil {
			return 0, err
		}
	}
	sort.Slice(s.keys, func(a, b int) bool { return bytes.Compare(s.keys[a][:], s.keys[b][:]) < 0 })
	return len(s.keys), nil
}

// len is the number of keys: when there are none, callers need not hash a record to ask.
func (s *keySet) len() int { return len(s.keys) }

func (s *keySet) has(k [16]byte) bool {
	i := sort.Search(len(s.keys), func(i int) bool { return bytes.Compare(s.keys[i][:], k[:]) >= 0 })
	return i < len(s.keys) && s.keys[i] == k
}

// sha256Hex hashes b.
func sha256Hex(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// hashReader hashes everything read from r.
func hashReader(r io.Reader) (string, int64, error) {
	h := sha256.New()
	n, err := io.Copy(h, r)
	return hex.EncodeToString(h.Sum(nil)), n, err
}

// logicalKey is how the ledger names a file: from AWSLogs/ on for files in CloudTrail's
// layout, so that a tree imported from S3 and later from a local copy (or moved) is
// recognised; otherwise its path or URL.
func logicalKey(o Object, info logfile.KeyInfo, layout bool) string {
	if layout {
		info.Prefix = ""
		if k := info.Key(); k != "" {
			return k
		}
	}
	return o.ID
}

// keyOf is the recorder's dedup key of an event.
func keyOf(account, eventID string, raw []byte) [16]byte { return recorder.Key(account, eventID, raw) }
