package importer

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"slices"
	"strings"

	"github.com/klauspost/compress/gzip"

	"github.com/cairn-dev/cairn/internal/event"
	"github.com/cairn-dev/cairn/internal/logfile"
	"github.com/cairn-dev/cairn/internal/recorder"
)

// worker reads files one after another. Its batch spans files: it is recorded when full or
// when the worker runs out of files, and only then are the files in it settled.
type worker struct {
	im  *Importer
	j   JournalReader
	dec logfile.Decoder
	buf []byte // the file being read, when held whole
	b   batch
}

type batch struct {
	recs  []*event.Record
	refs  []ref
	arena []byte     // the records' bytes
	files []*fileRun // files with records in the batch
}

type ref struct {
	f     *fileRun
	index int64
}

// fileRun is one file as its worker reads it.
type fileRun struct {
	st      *fileState
	name    string
	info    logfile.KeyInfo
	layout  bool
	pos     int64        // records handled so far
	skipN   int64        // leading records settled by an earlier run under no or the same filter
	others  []otherCover // earlier runs under other filters
	prior   Row          // counts of an earlier run under the same filter
	run     counts       // of this run
	inBatch int
	ended   bool
	report  FileReport
}

// counts tally what became of a file's records in this run.
type counts struct {
	Records, Recorded, Duplicates, Settled, Filtered, Rejected int64
}

// otherCover says an earlier run under filter f settled the first n records.
type otherCover struct {
	f Filter
	n int64
}

// errFatal marks an error that ends the import (the store failed), as opposed to a file's.
type errFatal struct{ err error }

func (e errFatal) Error() string { return e.err.Error() }
func (e errFatal) Unwrap() error { return e.err }

var errNotCloudTrail = errors.New("not CloudTrail")

func (w *worker) run(ctx context.Context, jobs <-chan Object) error {
	for o := range jobs {
		if err := ctx.Err(); err != nil {
			return context.Cause(ctx)
		}
		if err := w.file(ctx, o); err != nil {
			return err
		}
	}
	if err := ctx.Err(); err != nil {
		return context.Cause(ctx)
	}
	return w.flush(ctx)
}

func (w *worker) file(ctx context.Context, o Object) error {
	im := w.im
	info, err := logfile.ParseKey(o.Key)
	layout := err == nil
	f := File{Name: o.Name, Info: info}
	switch {
	case layout && !im.cfg.Filter.MatchKey(info):
		im.filesDone.Add(1)
		im.update(func(s *Summary) { s.FilesOutside++ })
		if v := im.verifier(); v != nil {
			v.Skipped(ctx, f, "outside the import's filters")
		}
		return nil
	case layout && info.Kind == logfile.Digest:
		return w.digest(ctx, o, f)
	}
	return w.log(ctx, o, f, layout)
}

// verifier returns the verifier when one is to be used.
func (im *Importer) verifier() Verifier {
	if im.cfg.Verify == VerifyOff {
		return nil
	}
	return im.cfg.Verifier
}

func (im *Importer) update(fn func(*Summary)) {
	im.mu.Lock()
	defer im.mu.Unlock()
	fn(&im.sum)
}

func (im *Importer) problem(r FileReport) {
	im.update(func(s *Summary) {
		if len(s.Problems) < maxProblems {
			s.Problems = append(s.Problems, r)
		} else {
			s.MoreProblems++
		}
	})
}

func (w *worker) digest(ctx context.Context, o Object, f File) error {
	im := w.im
	defer im.filesDone.Add(1)
	v := im.verifier()
	im.update(func(s *Summary) {
		s.Digests++
		if v == nil {
			s.DigestsUnverified++
		}
	})
	if v == nil {
		return nil
	}
	data, meta, err := w.readAll(ctx, o)
	if err != nil {
		im.problem(FileReport{Name: o.Name, Error: err.Error()})
		return nil
	}
	f.Metadata = meta
	if err := v.Digest(ctx, f, data); err != nil {
		im.problem(FileReport{Name: o.Name, Verify: []string{err.Error()}})
	}
	return nil
}

// readAll reads a whole file into the worker's buffer.
func (w *worker) readAll(ctx context.Context, o Object) ([]byte, map[string]string, error) {
	if cap(w.buf) < int(o.Size)+1 || cap(w.buf) > 4<<20 && int(o.Size) < cap(w.buf)/4 {
		w.buf = make([]byte, 0, max(int(o.Size)+1, 64<<10))
	}
	if l, ok := o.src.(*Local); ok {
		data, meta, err := l.ReadAll(o, w.buf, maxInMemory)
		w.buf = data
		w.im.bytesRead.Add(int64(len(data)))
		var pe *fs.PathError
		if errors.As(err, &pe) {
			return nil, nil, fmt.Errorf("%s: %w", pe.Op, err)
		}
		return data, meta, err
	}
	rc, meta, err := o.Open(ctx)
	if err != nil {
		return nil, nil, fmt.Errorf("open: %w", err)
	}
	defer rc.Close()
	buf := bytes.NewBuffer(w.buf[:0])
	n, err := io.Copy(buf, io.LimitReader(rc, maxInMemory+1))
	w.buf = buf.Bytes()
	w.im.bytesRead.Add(n)
	if err != nil {
		return nil, nil, fmt.Errorf("read: %w", err)
	}
	return w.buf, meta, nil
}

func (w *worker) log(ctx context.Context, o Object, f File, layout bool) error {
	im := w.im
	fr := &fileRun{name: o.Name, info: f.Info, layout: layout, report: FileReport{Name: o.Name}}
	key := logicalKey(o, f.Info, layout)

	// Identify the content: SHA-256 of what is stored, or for a large S3 object its ETag.
	var data []byte
	var sha string
	if o.Size <= maxInMemory {
		var err error
		if data, f.Metadata, err = w.readAll(ctx, o); err != nil {
			return w.unreadable(fr, err)
		}
		if int64(len(data)) > maxInMemory {
			data = nil // grew since it was listed: stream it
		} else {
			sha = sha256Hex(data)
		}
	}
	if data == nil && o.ETag == "" {
		rc, _, err := o.Open(ctx)
		if err != nil {
			return w.unreadable(fr, fmt.Errorf("open: %w", err))
		}
		sha, _, err = hashReader(rc)
		rc.Close()
		if err != nil {
			return w.unreadable(fr, fmt.Errorf("read: %w", err))
		}
	}

	whole, err := w.coverage(ctx, fr, key, o.Size, sha, o.ETag)
	if err != nil {
		return errFatal{err}
	}
	v := im.verifier()
	if v != nil && layout {
		switch {
		case data != nil:
			if err := v.Log(ctx, f, data); err != nil {
				fr.report.Verify = append(fr.report.Verify, err.Error())
			}
		default:
			v.Skipped(ctx, f, fmt.Sprintf("larger than %d MB, not held for verification", maxInMemory>>20))
		}
	}
	if whole {
		im.filesDone.Add(1)
		im.update(func(s *Summary) { s.FilesSkipped++ })
		if len(fr.report.Verify) > 0 {
			im.problem(fr.report)
		}
		return nil
	}

	var last uint64
	if w.j != nil {
		last = w.j.LastSeq()
	}
	fr.st = &fileState{row: Row{Key: key, Filter: im.filter, Size: o.Size, SHA256: sha, ETag: o.ETag, Records: fr.prior.Records},
		last: last, saved: fr.prior.Records}
	im.tracker.start(fr.st)

	var r io.Reader
	if data != nil {
		r = bytes.NewReader(data)
	} else {
		rc, _, err := o.Open(ctx)
		if err != nil {
			return w.ended(fr, fmt.Errorf("open: %w", err))
		}
		defer rc.Close()
		r = &countingReader{r: rc, n: &im.bytesRead}
	}
	err = w.dec.Decode(r, func(raw []byte) error { return w.record(ctx, fr, raw) })
	var fatal errFatal
	if errors.As(err, &fatal) {
		return fatal.err
	}
	var de *logfile.DecodeError
	if errors.As(err, &de) && de.Err == nil && data != nil {
		// Corrupt compressed data often inflates to garbage before the gzip checksum can
		// catch it: say what is really wrong.
		if gzErr := gzipIntegrity(data); gzErr != nil {
			err = fmt.Errorf("corrupt gzip data (%v); inflated, it is not valid JSON: %s", gzErr, describe(de))
		}
	}
	return w.ended(fr, err)
}

// gzipIntegrity inflates gzip data to check its checksums; nil for data that is not gzip.
func gzipIntegrity(data []byte) error {
	if len(data) < 2 || data[0] != 0x1f || data[1] != 0x8b {
		return nil
	}
	zr, err := gzip.NewReader(bytes.NewReader(data))
	if err != nil {
		return err
	}
	_, err = io.Copy(io.Discard, zr)
	return err
}

// describe words a decode error for people: the reason and where.
func describe(de *logfile.DecodeError) string {
	reason, inflated := strings.CutSuffix(de.Reason, " (offset in the decompressed data)")
	where := fmt.Sprintf("at byte %d", de.Offset)
	if inflated {
		where += " of the decompressed data"
	}
	msg := reason + " " + where
	if de.Err != nil {
		msg += ": " + de.Err.Error()
	}
	return msg
}

// unreadable reports a file that could not be opened or read at all; it is not in the
// ledger, so the next run tries it again.
func (w *worker) unreadable(fr *fileRun, err error) error {
	w.im.filesDone.Add(1)
	fr.report.Error = err.Error()
	w.im.update(func(s *Summary) { s.FilesFailed++ })
	w.im.problem(fr.report)
	return nil
}

// coverage finds what earlier runs settled of this content. It reports whole when nothing is
// left to do; otherwise it sets fr's skipN, others and prior.
func (w *worker) coverage(ctx context.Context, fr *fileRun, key string, size int64, sha, etag string) (whole bool, err error) {
	im := w.im
	if st := im.tracker.lookup(key); st != nil && st.row.Same(size, sha, etag) {
		return true, nil // read by this run already (another copy of the file)
	}
	if !im.known.MayHave(key) {
		return false, nil
	}
	rows, err := im.cfg.Ledger.Rows(ctx, key)
	if err != nil {
		return false, err
	}
	for _, row := range rows {
		if !row.Same(size, sha, etag) {
			continue // other content under the same name: it counts for nothing
		}
		switch row.Filter {
		case im.filter:
			fr.prior = row
			fallthrough
		case "":
			if row.Status == StatusDone {
				return true, nil
			}
			fr.skipN = max(fr.skipN, row.Records)
		default:
			f, err := ParseFilter(row.Filter)
			if err != nil {
				continue // written by another version of cairn: ignore it
			}
			fr.others = append(fr.others, otherCover{f, row.Records})
		}
	}
	return false, nil
}

// fieldsCloudTrail are members every CloudTrail record has some of.
var fieldsCloudTrail = event.NewFields([]event.Path{{"eventVersion"}, {"eventTime"}, {"eventName"}, {"eventID"}, {"eventSource"}, {"awsRegion"}, {"eventType"}})

// looksLikeCloudTrail reports whether raw has any member a CloudTrail record has.
func looksLikeCloudTrail(raw []byte) bool {
	out := make([][]byte, 7)
	if fieldsCloudTrail.Extract(raw, out) != nil {
		return false
	}
	return slices.ContainsFunc(out, func(v []byte) bool { return v != nil })
}

// record handles one record of fr.
func (w *worker) record(ctx context.Context, fr *fileRun, raw []byte) error {
	im := w.im
	i := fr.pos
	im.records.Add(1)
	fr.run.Records++
	if i < fr.skipN {
		fr.run.Settled++
		fr.pos++
		return nil
	}
	if len(w.b.recs) >= im.cfg.batchRecords || (len(w.b.recs) > 0 && len(w.b.arena)+len(raw) > cap(w.b.arena)) {
		if err := w.flush(ctx); err != nil {
			return errFatal{err}
		}
	}
	if w.b.arena == nil {
		w.b.arena = make([]byte, 0, batchBytes)
	}
	off := len(w.b.arena)
	w.b.arena = append(w.b.arena, raw...)
	cp := w.b.arena[off:len(w.b.arena):len(w.b.arena)]
	keep := false
	defer func() {
		if !keep {
			w.b.arena = w.b.arena[:off]
		}
		fr.pos++
	}()

	rec, err := event.Parse(cp)
	if err != nil {
		if i == 0 && !looksLikeCloudTrail(raw) {
			fr.report.Error = "not CloudTrail JSON: its first value has none of the members of a CloudTrail record (eventVersion, eventTime, eventName, eventID, …)"
			fr.pos-- // nothing of it is settled
			return errNotCloudTrail
		}
		fr.reject(i, "", err.Error())
		return nil
	}
	// What the record lacks, its folder says; the record's bytes stay as they are.
	if fr.layout {
		if rec.RecipientAccountID == "" {
			rec.RecipientAccountID = fr.info.Account
		}
		if rec.AWSRegion == "" {
			rec.AWSRegion = fr.info.Region
		}
	}
	if rec.RecipientAccountID == "" {
		fr.reject(i, rec.EventID, "recipientAccountId: missing, and the file is not in an AWSLogs/<account>/ folder that would name the account")
		return nil
	}
	for _, o := range fr.others {
		if i < o.n && o.f.Match(rec) {
			fr.run.Settled++
			return nil
		}
	}
	if !im.cfg.Filter.Match(rec) {
		fr.run.Filtered++
		return nil
	}
	if im.resume.len() > 0 && im.resume.has(keyOf(rec.RecipientAccountID, rec.EventID, rec.Raw)) {
		fr.run.Duplicates++
		return nil
	}
	keep = true
	w.b.recs = append(w.b.recs, rec)
	w.b.refs = append(w.b.refs, ref{fr, i})
	if fr.inBatch == 0 {
		w.b.files = append(w.b.files, fr)
	}
	fr.inBatch++
	return nil
}

func (fr *fileRun) reject(i int64, eventID, reason string) {
	fr.run.Rejected++
	fr.report.Rejected++
	if len(fr.report.Rejects) < maxRejects {
		// eventID may point into the batch arena, which the next record overwrites.
		fr.report.Rejects = append(fr.report.Rejects, Rejection{Index: i, EventID: strings.Clone(eventID), Reason: reason})
	}
}

// flush records the batch and settles the files in it.
func (w *worker) flush(ctx context.Context) error {
	if len(w.b.recs) == 0 {
		return nil
	}
	results, err := w.im.cfg.Sink.Record(ctx, w.b.recs)
	if err != nil {
		return err
	}
	recorded := 0
	for k, res := range results {
		fr := w.b.refs[k].f
		switch res.Status {
		case recorder.Recorded:
			fr.run.Recorded++
			recorded++
		case recorder.Duplicate:
			fr.run.Duplicates++
		default:
			reason := "rejected"
			if res.Err != nil {
				reason = res.Err.Error()
			}
			fr.reject(w.b.refs[k].index, res.EventID, reason)
		}
	}
	w.im.recorded.Add(int64(recorded))
	var last uint64
	if w.j != nil {
		last = w.j.LastSeq()
	}
	for _, fr := range w.b.files {
		fr.inBatch = 0
		w.settle(fr, last)
		if fr.ended {
			w.finish(fr)
		}
	}
	clear(w.b.recs)
	clear(w.b.refs)
	clear(w.b.files)
	w.b.recs, w.b.refs, w.b.files, w.b.arena = w.b.recs[:0], w.b.refs[:0], w.b.files[:0], w.b.arena[:0]
	return nil
}

func (w *worker) settle(fr *fileRun, last uint64) {
	p := fr.prior
	counts := Row{Recorded: p.Recorded + fr.run.Recorded, Duplicates: p.Duplicates + fr.run.Duplicates,
		Rejected: p.Rejected + fr.run.Rejected, Filtered: p.Filtered + fr.run.Filtered}
	w.im.tracker.settle(fr.st, max(fr.pos, p.Records), last, counts)
}

// ended is called when a file's records have all been handled (err says why it ended early).
func (w *worker) ended(fr *fileRun, err error) error {
	fr.ended = true
	if err != nil && !errors.Is(err, errNotCloudTrail) {
		var de *logfile.DecodeError
		if errors.As(err, &de) && err == error(de) {
			fr.report.Error = describe(de)
		} else {
			fr.report.Error = err.Error()
		}
	}
	if fr.inBatch == 0 {
		var last uint64
		if w.j != nil {
			last = w.j.LastSeq()
		}
		w.settle(fr, last)
		w.finish(fr)
	}
	return nil
}

// finish hands a settled file to the committer and adds it to the summary.
func (w *worker) finish(fr *fileRun) {
	im := w.im
	status := StatusDone
	if fr.report.Error != "" {
		status = StatusFailed
	}
	im.tracker.finish(fr.st, status, fr.report.Error)
	im.filesDone.Add(1)
	fr.report.Records = fr.run.Records
	if fr.report.Error != "" {
		fr.report.Records = fr.pos // read before the fault
	}
	r := fr.run
	im.update(func(s *Summary) {
		s.FilesRead++
		if status == StatusFailed {
			s.FilesFailed++
		}
		s.Records += r.Records
		s.Recorded += r.Recorded
		s.Duplicates += r.Duplicates
		s.Settled += r.Settled
		s.Filtered += r.Filtered
		s.Rejected += r.Rejected
	})
	if fr.report.Error != "" || fr.report.Rejected > 0 || len(fr.report.Verify) > 0 {
		im.problem(fr.report)
	}
}

// countingReader counts what is read from a stream.
type countingReader struct {
	r interface{ Read([]byte) (int, error) }
	n interface{ Add(int64) int64 }
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n.Add(int64(n))
	return n, err
}
