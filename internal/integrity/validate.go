package integrity

import (
	"context"
	"errors"
	"fmt"
	"io"
	"regexp"
	"runtime"
	"strings"
	"sync"
	"time"
)

// Source is where digests and log files are read from: cairn's object store, an S3 bucket, a
// directory of downloaded logs.
type Source interface {
	// List calls fn with the keys in bucket that start with prefix and sort after marker
	// (ListObjects' Marker), in lexicographic order, until fn returns false.
	List(ctx context.Context, bucket, prefix, marker string, fn func(key string) bool) error
	// Get opens an object and returns its user metadata (keys in lower case, without
	// x-amz-meta-). A missing object is an error wrapping ErrNotFound.
	Get(ctx context.Context, bucket, key string) (io.ReadCloser, map[string]string, error)
}

// ErrNotFound is what a Source returns for a missing object (S3's NoSuchKey).
var ErrNotFound = errors.New("not found")

// KeyProvider returns the public keys that signed digests between start and end, as
// ListPublicKeys does for the region being validated.
type KeyProvider interface {
	PublicKeys(ctx context.Context, start, end time.Time) ([]PublicKey, error)
}

// Chain names a digest chain: one trail's digests for one account and region.
type Chain struct {
	Bucket       string
	Prefix       string // S3KeyPrefix, "" for none
	OrgID        string // organisation trails: the o-… ID in the key layout
	Account      string
	TrailName    string
	HomeRegion   string
	SourceRegion string // the region whose digests are walked; "" means HomeRegion
}

// ChainFromARN fills a chain's trail name, home region and account from a trail ARN, checking
// it as aws-cli does (arn:…:cloudtrail:…:<12 digits>:trail/…).
func ChainFromARN(arn string) (Chain, error) {
	if !arnPattern.MatchString(arn) {
		return Chain{}, fmt.Errorf("Invalid trail ARN provided: %s", arn)
	}
	parts := strings.Split(arn, ":")
	return Chain{
		TrailName:  arn[strings.LastIndexByte(arn, '/')+1:],
		HomeRegion: parts[3],
		Account:    parts[4],
	}, nil
}

var arnPattern = regexp.MustCompile(`^arn:.+:cloudtrail:.+:\d{12}:trail/.+`)

// Report receives what a validation finds, in aws-cli's order. Messages are aws-cli's.
type Report interface {
	// DigestValid reports a digest whose signature verified.
	DigestValid(d *Parsed, backfill bool)
	// DigestInvalid reports a digest that failed: message is the whole line aws-cli prints.
	DigestInvalid(message string, backfill bool)
	// Gap reports a chain that restarts: no digests link the two times.
	Gap(nextEnd, lastStart time.Time, backfill bool)
	// LogValid and LogInvalid report a log file named by a valid digest.
	LogValid(bucket, key string)
	LogInvalid(message string)
}

// Options tune Validate.
type Options struct {
	// Workers is how many log files are checked at once; default GOMAXPROCS.
	Workers int
	// Now is the default end of the range; default time.Now.
	Now func() time.Time
}

// Validate walks the digest chain of c for digests delivered between start and end, as
// `aws cloudtrail validate-logs` does: newest digest first, following previousDigest links,
// verifying each digest's location, signature and every log file's hash, and reporting each
// result to r in aws-cli's order. Log files are checked concurrently; reports stay in order.
// The error is for failures that stop the walk (no public keys, listing failed).
func Validate(ctx context.Context, src Source, keys KeyProvider, c Chain, start, end time.Time, r Report, opts Options) error {
	if opts.Workers <= 0 {
		opts.Workers = runtime.GOMAXPROCS(0)
	}
	if c.SourceRegion == "" {
		c.SourceRegion = c.HomeRegion
	}
	start, end = start.UTC(), end.UTC()
	w := &walker{ctx: ctx, src: src, keys: keys, c: c, start: start, end: end, cache: map[string][2][]string{}}
	w.out = newOrderedReport(r, opts.Workers)
	defer w.out.close()

	standard, err := w.digestKeys(c.Bucket, false)
	if err != nil {
		return err
	}
	pub, err := w.loadKeys(start, end.Add(2*time.Hour))
	if err != nil {
		return err
	}
	if err := w.chain(standard, c.Bucket, pub, false); err != nil {
		return err
	}
	backfill, err := w.digestKeys(c.Bucket, true)
	if err != nil {
		return err
	}
	return w.chain(backfill, c.Bucket, map[string]PublicKey{}, true)
}

type walker struct {
	ctx        context.Context
	src        Source
	keys       KeyProvider
	c          Chain
	start, end time.Time
	out        *orderedReport
	cache      map[string][2][]string // bucket → standard and backfill keys
}

// digestError is a digest that fails validation with aws-cli's message.
type digestError struct{ msg string }

func (e *digestError) Error() string { return e.msg }

func (w *walker) invalid(bucket, key, reason string) error {
	return &digestError{msg: fmt.Sprintf("Digest file\ts3://%s/%s\tINVALID: %s", bucket, key, reason)}
}

func (w *walker) loadKeys(start, end time.Time) (map[string]PublicKey, error) {
	list, err := w.keys.PublicKeys(w.ctx, start, end)
	if err != nil {
		return nil, err
	}
	if len(list) == 0 {
		return nil, fmt.Errorf("No public keys found between %s and %s", displayDate(start), displayDate(end))
	}
	m := make(map[string]PublicKey, len(list))
	for _, k := range list {
		m[k.Fingerprint] = k
	}
	return m, nil
}

func displayDate(t time.Time) string { return t.UTC().Format(TimeLayout) }

const keyDateLayout = "20060102T150405Z"

// keyDate is the digestEndTime text of a digest key (aws-cli: key[-24:-8], or [-33:-17] for
// backfill digests).
func keyDate(key string) string {
	if strings.HasSuffix(key, "_backfill.json.gz") {
		if len(key) < 33 {
			return ""
		}
		return key[len(key)-33 : len(key)-17]
	}
	if len(key) < 24 {
		return ""
	}
	return key[len(key)-24 : len(key)-8]
}

func parseKeyDate(key string) (time.Time, error) {
	t, err := time.Parse(keyDateLayout, keyDate(key))
	if err != nil {
		return time.Time{}, fmt.Errorf("Unable to parse date value: %s", keyDate(key))
	}
	return t, nil
}

// digestKeys lists the chain's digest keys in [start, end+1h] by the date in their names, as
// aws-cli does: ListObjects from the key a digest ending a minute before start would have.
func (w *walker) digestKeys(bucket string, backfill bool) ([]string, error) {
	if lists, ok := w.cache[bucket]; ok {
		if backfill {
			return lists[1], nil
		}
		return lists[0], nil
	}
	c := w.c
	base := "AWSLogs/"
	if c.OrgID != "" {
		base += c.OrgID + "/"
	}
	base += c.Account + "/CloudTrail-Digest/" + c.SourceRegion
	d := w.start.Add(-time.Minute)
	marker := base + "/" + d.Format("2006/01/02") + "/" + c.Account + "_CloudTrail-Digest_" + c.SourceRegion + "_" + c.TrailName + "_" + c.HomeRegion + "_" + d.Format(keyDateLayout) + ".json.gz"
	prefix := base
	pattern := regexp.QuoteMeta("AWSLogs/")
	if c.OrgID != "" {
		pattern += c.OrgID + "/"
	}
	q := regexp.QuoteMeta
	pattern += q(c.Account) + `/CloudTrail\-Digest/` + q(c.SourceRegion) + `/\d+/\d+/\d+/` + q(c.Account) + `_CloudTrail\-Digest_` +
		q(c.SourceRegion) + "_" + q(c.TrailName) + "_" + q(c.HomeRegion) + `_.+(?:_backfill)?\.json\.gz`
	if c.Prefix != "" {
		marker = c.Prefix + "/" + marker
		prefix = c.Prefix + "/" + prefix
		pattern = q(c.Prefix) + "/" + pattern
	}
	re, err := regexp.Compile("^" + pattern + "$")
	if err != nil {
		return nil, fmt.Errorf("digest key pattern: %w", err)
	}
	targetStart := w.start.Format(keyDateLayout)
	targetEnd := w.end.Add(time.Hour).Format(keyDateLayout)
	var standard, back []string
	err = w.src.List(w.ctx, bucket, prefix, marker, func(key string) bool {
		if !re.MatchString(key) {
			return true
		}
		date := keyDate(key)
		if date > targetEnd {
			return false
		}
		if date < targetStart {
			return true
		}
		if strings.HasSuffix(key, "_backfill.json.gz") {
			back = append(back, key)
		} else {
			standard = append(standard, key)
		}
		return true
	})
	if err != nil {
		return nil, fmt.Errorf("list digests in s3://%s/%s: %w", bucket, prefix, err)
	}
	w.cache[bucket] = [2][]string{standard, back}
	if backfill {
		return back, nil
	}
	return standard, nil
}

// lastDigest pops the newest key, or the newest older than before (aws-cli's
// _get_last_digest).
func lastDigest(digests *[]string, before string) (string, time.Time) {
	var beforeDate time.Time
	if before != "" {
		var err error
		if beforeDate, err = parseKeyDate(before); err != nil {
			return "", time.Time{}
		}
	}
	for len(*digests) > 0 {
		n := len(*digests) - 1
		key := (*digests)[n]
		*digests = (*digests)[:n]
		date, err := parseKeyDate(key)
		if err != nil {
			continue
		}
		if before == "" || date.Before(beforeDate) {
			return key, date
		}
	}
	return "", time.Time{}
}

// chain walks one chain (standard or backfill) from its newest digest.
func (w *walker) chain(digests []string, bucket string, pub map[string]PublicKey, backfill bool) error {
	digests = append([]string(nil), digests...)
	key, lastStart := lastDigest(&digests, "")
	for key != "" && !w.start.After(lastStart) {
		if err := w.ctx.Err(); err != nil {
			return err
		}
		d, err := w.loadDigest(pub, bucket, key, backfill)
		var de *digestError
		switch {
		case err == nil:
			lastStart, _ = parseDigestTime(d.DigestStartTime)
			w.out.digestValid(d, backfill)
			w.checkLogs(d)
			if d.PreviousDigestS3Bucket == nil || d.PreviousDigestS3Object == nil {
				next, nextEnd := lastDigest(&digests, key)
				if next != "" {
					w.out.gap(nextEnd, lastStart, backfill)
				}
				key = next
				continue
			}
			key = *d.PreviousDigestS3Object
			if prev := *d.PreviousDigestS3Bucket; prev != bucket {
				bucket = prev
				if digests, err = w.digestKeys(bucket, backfill); err != nil {
					return err
				}
				digests = append([]string(nil), digests...)
			}
		case errors.Is(err, ErrNotFound):
			w.out.digestInvalid(fmt.Sprintf("Digest file\ts3://%s/%s\tINVALID: not found", bucket, key), backfill)
			key, _ = lastDigest(&digests, key)
		case errors.As(err, &de):
			w.out.digestInvalid(de.msg, backfill)
			key, _ = lastDigest(&digests, key)
		default:
			if w.ctx.Err() != nil {
				return w.ctx.Err()
			}
			w.out.digestInvalid(fmt.Sprintf("Digest file\ts3://%s/%s\tINVALID: %v", bucket, key, err), backfill)
			key, _ = lastDigest(&digests, key)
		}
	}
	return nil
}

func parseDigestTime(s string) (time.Time, error) {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("Unable to parse date value: %s", s)
	}
	return t.UTC(), nil
}

// loadDigest fetches and checks one digest in aws-cli's order: format, signature metadata,
// required members, location, public key, signature.
func (w *walker) loadDigest(pub map[string]PublicKey, bucket, key string, backfill bool) (*Parsed, error) {
	body, meta, err := w.src.Get(w.ctx, bucket, key)
	if err != nil {
		return nil, err
	}
	gz, err := io.ReadAll(body)
	body.Close()
	if err != nil {
		return nil, err
	}
	raw, err := gunzipAll(gz)
	if err != nil {
		return nil, w.invalid(bucket, key, "invalid format")
	}
	p, err := parseRaw(raw)
	if err != nil {
		// A required member missing is only reported after the metadata check.
		if p == nil {
			return nil, w.invalid(bucket, key, "invalid format")
		}
	}
	sig, hasSig := meta[MetaSignature]
	if _, hasAlgo := meta[MetaSignatureAlgorithm]; !hasSig || !hasAlgo {
		return nil, w.invalid(bucket, key, "signature verification failed")
	}
	var generated time.Time
	if backfill {
		ts, ok := meta["backfill-generation-timestamp"]
		if !ok {
			return nil, w.invalid(bucket, key, "invalid format")
		}
		if generated, err = parseDigestTime(ts); err != nil {
			return nil, err
		}
	}
	if err != nil { // required member missing, or a member of the wrong type
		return nil, w.invalid(bucket, key, "invalid format")
	}
	if p.DigestS3Bucket != bucket || p.DigestS3Object != key {
		return nil, w.invalid(bucket, key, "has been moved from its original location")
	}
	fp := p.DigestPublicKeyFingerprint
	if _, ok := pub[fp]; !ok && backfill {
		more, err := w.loadKeys(generated.Add(-time.Hour), generated.Add(time.Hour))
		if err != nil {
			return nil, err
		}
		for k, v := range more {
			pub[k] = v
		}
	}
	k, ok := pub[fp]
	if !ok {
		return nil, w.invalid(bucket, key, fmt.Sprintf("public key not found in region %s for fingerprint %s", w.c.HomeRegion, fp))
	}
	rk := k.Key
	if rk == nil {
		if rk, err = ParsePublicKey(k.DER); err != nil {
			return nil, w.invalid(bucket, key, "Unable to load PKCS #1 key with fingerprint "+fp)
		}
	}
	if err := p.VerifySignature(sig, rk); err != nil {
		return nil, w.invalid(bucket, key, "signature verification failed")
	}
	if _, err := parseDigestTime(p.DigestEndTime); err != nil {
		return nil, err
	}
	return p, nil
}

// checkLogs queues a check of every log file d names; results are reported in order.
func (w *walker) checkLogs(d *Parsed) {
	for _, lf := range d.LogFiles {
		lf := lf
		w.out.async(func(r Report) func() {
			msg, ok := w.checkLog(lf)
			return func() {
				if ok {
					r.LogValid(lf.S3Bucket, lf.S3Object)
				} else {
					r.LogInvalid(msg)
				}
			}
		})
	}
}

// CheckLog reports whether the log file lf names is there and hashes to lf.HashValue; if not,
// the reason is aws-cli's message.
func CheckLog(ctx context.Context, src Source, lf LogFile) (message string, ok bool) {
	prefix := fmt.Sprintf("Log file\ts3://%s/%s\t", lf.S3Bucket, lf.S3Object)
	body, _, err := src.Get(ctx, lf.S3Bucket, lf.S3Object)
	if errors.Is(err, ErrNotFound) {
		return prefix + "INVALID: not found", false
	}
	if err != nil {
		return prefix + "INVALID: " + err.Error(), false
	}
	defer body.Close()
	sum, _, err := HashLog(body)
	if err != nil {
		return prefix + "INVALID: invalid format", false
	}
	if sum != lf.HashValue {
		return prefix + "INVALID: hash value doesn't match", false
	}
	return prefix + "valid", true
}

func (w *walker) checkLog(lf LogFile) (string, bool) { return CheckLog(w.ctx, w.src, lf) }

// orderedReport forwards reports in the order they were made while log checks run on workers.
type orderedReport struct {
	r     Report
	slots chan chan func()
	jobs  chan func()
	wg    sync.WaitGroup
	done  chan struct{}
}

func newOrderedReport(r Report, workers int) *orderedReport {
	o := &orderedReport{r: r, slots: make(chan chan func(), 4*workers+64), jobs: make(chan func(), 4*workers), done: make(chan struct{})}
	for i := 0; i < workers; i++ {
		o.wg.Add(1)
		go func() {
			defer o.wg.Done()
			for job := range o.jobs {
				job()
			}
		}()
	}
	go func() {
		defer close(o.done)
		for slot := range o.slots {
			(<-slot)()
		}
	}()
	return o
}

func (o *orderedReport) now(f func()) {
	slot := make(chan func(), 1)
	slot <- f
	o.slots <- slot
}

func (o *orderedReport) async(work func(Report) func()) {
	slot := make(chan func(), 1)
	o.slots <- slot
	o.jobs <- func() { slot <- work(o.r) }
}

func (o *orderedReport) digestValid(d *Parsed, backfill bool) {
	o.now(func() { o.r.DigestValid(d, backfill) })
}

func (o *orderedReport) digestInvalid(msg string, backfill bool) {
	o.now(func() { o.r.DigestInvalid(msg, backfill) })
}

func (o *orderedReport) gap(nextEnd, lastStart time.Time, backfill bool) {
	o.now(func() { o.r.Gap(nextEnd, lastStart, backfill) })
}

// close waits for every queued check and report.
func (o *orderedReport) close() {
	close(o.jobs)
	o.wg.Wait()
	close(o.slots)
	<-o.done
}
