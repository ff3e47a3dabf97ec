package importer

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/cairn-dev/cairn/internal/integrity"
	"github.com/cairn-dev/cairn/internal/logfile"
)

// Digests is the Verifier an import uses: CloudTrail's log file integrity validation done on
// the files as the import reads them, in any order, with internal/integrity's digest parser,
// signature check and log hash. Unlike `aws cloudtrail validate-logs`, which walks one trail's
// chain in a bucket, it checks every chain the tree holds, and also reports the log files no
// digest vouches for although digests cover their delivery time.
//
// Files are matched by their key from AWSLogs/ on, so a tree copied to disk (whose paths lose
// the bucket and may lose the S3 prefix) matches the keys its digests name.
type Digests struct {
	mode VerifyMode
	keys map[string]integrity.PublicKey // by fingerprint

	mu      sync.Mutex
	digests map[string]*seenDigest // by tail key
	listed  map[string]listing     // log files digests name, by tail key
	logs    map[string]seenLog     // log files read, by tail key
	skipped map[string]bool        // files passed over (outside the filters, too large)
}

type seenDigest struct {
	name  string
	info  logfile.KeyInfo
	p     *integrity.Parsed
	hash  string // hex SHA-256 of the uncompressed digest
	sig   string // from the object's metadata, "" if it has none
	start time.Time
	end   time.Time
}

type listing struct {
	hash   string
	name   string // s3://bucket/key as the digest names it
	digest string // the digest's name
}

type seenLog struct {
	name string
	info logfile.KeyInfo
	hash string
	err  error
}

// NewDigests returns a verifier for mode (hashes or full). keys are the public keys digest
// signatures are checked with in full mode: files given with --public-key, cairn's own.
func NewDigests(mode VerifyMode, keys []integrity.PublicKey) (*Digests, error) {
	if mode != VerifyHashes && mode != VerifyFull {
		return nil, fmt.Errorf("importer: a digest verifier needs --verify=hashes or full, not %q", mode)
	}
	d := &Digests{mode: mode, keys: map[string]integrity.PublicKey{}, digests: map[string]*seenDigest{},
		listed: map[string]listing{}, logs: map[string]seenLog{}, skipped: map[string]bool{}}
	for _, k := range keys {
		if k.Key == nil {
			rk, err := integrity.ParsePublicKey(k.DER)
			if err != nil {
				return nil, fmt.Errorf("public key %s: %w", k.Fingerprint, err)
			}
			k.Key = rk
		}
		d.keys[k.Fingerprint] = k
	}
	return d, nil
}

// tail is a key from AWSLogs/ on: what a copy of the tree keeps of it.
func tail(info logfile.KeyInfo) string {
	info.Prefix = ""
	return info.Key()
}

// tailOf is tail for a key a digest names; a key not in CloudTrail's layout is kept whole.
func tailOf(key string) string {
	info, err := logfile.ParseKey(key)
	if err != nil {
		return key
	}
	return tail(info)
}

// Digest implements Verifier: it checks the digest's format, location and (in full mode)
// signature, and remembers what it lists and links to for Finish.
func (d *Digests) Digest(_ context.Context, f File, stored []byte) error {
	p, err := integrity.ParseDigest(stored)
	if err != nil {
		return fmt.Errorf("digest: %w", err)
	}
	sd := &seenDigest{name: f.Name, info: f.Info, p: p, sig: f.Metadata[integrity.MetaSignature]}
	sum := sha256.Sum256(p.Raw)
	sd.hash = hex.EncodeToString(sum[:])
	var problems []string
	if got := tailOf(p.DigestS3Object); got != tail(f.Info) {
		problems = append(problems, fmt.Sprintf("has been moved from its original location s3://%s/%s", p.DigestS3Bucket, p.DigestS3Object))
	}
	if sd.start, err = time.Parse(time.RFC3339, p.DigestStartTime); err != nil {
		problems = append(problems, fmt.Sprintf("digestStartTime %q is not a time", p.DigestStartTime))
	}
	if sd.end, err = time.Parse(time.RFC3339, p.DigestEndTime); err != nil {
		problems = append(problems, fmt.Sprintf("digestEndTime %q is not a time", p.DigestEndTime))
	}
	if d.mode == VerifyFull {
		if msg := d.checkSignature(sd); msg != "" {
			problems = append(problems, msg)
		}
	}

	d.mu.Lock()
	d.digests[tail(f.Info)] = sd
	for _, lf := range p.LogFiles {
		k := tailOf(lf.S3Object)
		if _, dup := d.listed[k]; !dup {
			d.listed[k] = listing{hash: lf.HashValue, name: "s3://" + lf.S3Bucket + "/" + lf.S3Object, digest: f.Name}
		}
	}
	d.mu.Unlock()
	if len(problems) > 0 {
		return fmt.Errorf("digest: %s", strings.Join(problems, "; "))
	}
	return nil
}

func (d *Digests) checkSignature(sd *seenDigest) string {
	if sd.sig == "" {
		return "signature not checked: the file has no signature metadata (S3's x-amz-meta-signature, which a copy on disk loses: import from s3://…, or use --verify=hashes)"
	}
	if algo := sd.p.DigestSignatureAlgorithm; algo != integrity.SignatureAlgorithm {
		return fmt.Sprintf("signature not checked: algorithm %q is not %s", algo, integrity.SignatureAlgorithm)
	}
	fp := sd.p.DigestPublicKeyFingerprint
	k, ok := d.keys[fp]
	if !ok {
		return fmt.Sprintf("signature not checked: no public key with fingerprint %s (give it with --public-key; `aws cloudtrail list-public-keys` prints AWS's)", fp)
	}
	if err := sd.p.VerifySignature(sd.sig, k.Key); err != nil {
		return "signature verification failed (the digest was changed, or signed by another key)"
	}
	return ""
}

// Log implements Verifier: it hashes the log file as CloudTrail does (SHA-256 of the one gzip
// member's content). Whether that is right is only known once every digest has been read.
func (d *Digests) Log(_ context.Context, f File, stored []byte) error {
	sum, _, err := integrity.HashLog(bytes.NewReader(stored))
	d.mu.Lock()
	d.logs[tail(f.Info)] = seenLog{name: f.Name, info: f.Info, hash: sum, err: err}
	d.mu.Unlock()
	return nil
}

// Skipped implements Verifier.
func (d *Digests) Skipped(_ context.Context, f File, _ string) {
	d.mu.Lock()
	d.skipped[tail(f.Info)] = true
	d.mu.Unlock()
}

// chainID names a digest chain: one trail's digests for one account and region (backfill
// digests form a chain of their own).
type chainID struct {
	org, account, region, trail, home string
	backfill                          bool
}

// Finish implements Verifier: every log file a digest lists is matched with the file read,
// every digest with the one it links to.
func (d *Digests) Finish(context.Context) Verification {
	d.mu.Lock()
	defer d.mu.Unlock()
	var v Verification

	// Log files against the digests that list them.
	for k, l := range d.listed {
		lg, ok := d.logs[k]
		switch {
		case ok && lg.err != nil:
			v.Tampered++
			v.Problems = append(v.Problems, Problem{Name: lg.name, Reason: fmt.Sprintf("tampered: not the single gzip member that %s lists (%v)", l.digest, lg.err)})
		case ok && lg.hash != l.hash:
			v.Tampered++
			v.Problems = append(v.Problems, Problem{Name: lg.name, Reason: fmt.Sprintf("tampered: its SHA-256 is %s, %s lists %s", lg.hash, l.digest, l.hash)})
		case ok:
			v.Verified++
		case d.skipped[k]:
			v.NotChecked++
		default:
			v.Missing++
			v.Problems = append(v.Problems, Problem{Name: l.name, Reason: "missing: " + l.digest + " lists it, and it is not in the import"})
		}
	}

	// The times each account and region's digest chains cover: a log file delivered then that
	// no digest lists was added, or its digest is missing. A chain covers from its oldest
	// digest's start to its newest's end, across digests missing from the import (the links
	// show they existed) but not across a restart (null previous*: no digests were written
	// while validation was off).
	chains := map[chainID][]*seenDigest{}
	for _, sd := range d.digests {
		if sd.start.IsZero() || sd.end.IsZero() {
			continue
		}
		id := chainID{sd.info.OrgID, sd.info.Account, sd.info.Region, sd.info.TrailName, sd.info.HomeRegion, sd.info.Backfill}
		chains[id] = append(chains[id], sd)
	}
	covered := map[[3]string][]span{}
	for id, c := range chains {
		sort.Slice(c, func(a, b int) bool { return c[a].end.Before(c[b].end) })
		ar := [3]string{id.org, id.account, id.region}
		cur := span{c[0].start, c[0].end}
		for _, sd := range c[1:] {
			if sd.p.PreviousDigestS3Object == nil {
				covered[ar] = append(covered[ar], cur)
				cur = span{sd.start, sd.end}
				continue
			}
			cur.to = sd.end
		}
		covered[ar] = append(covered[ar], cur)
	}
	for ar, spans := range covered {
		covered[ar] = union(spans)
	}
	for k, lg := range d.logs {
		if _, ok := d.listed[k]; ok {
			continue
		}
		// A name carries the delivery minute: only a minute wholly inside the digests'
		// time says the file was delivered there.
		if contains(covered[[3]string{lg.info.OrgID, lg.info.Account, lg.info.Region}], lg.info.Time, lg.info.Time.Add(time.Minute)) {
			v.Unlisted++
			v.Problems = append(v.Problems, Problem{Name: lg.name, Reason: fmt.Sprintf("missing from the digest chain: delivered %s, which the digests cover, and no digest lists it (added to the tree, or its digest is missing)",
				lg.info.Time.Format(time.RFC3339))})
		} else {
			v.NotCovered++
		}
	}

	// Each chain, oldest first: every link must lead to the digest it hashed.
	ids := make([]chainID, 0, len(chains))
	for id := range chains {
		ids = append(ids, id)
	}
	sort.Slice(ids, func(a, b int) bool { return fmt.Sprint(ids[a]) < fmt.Sprint(ids[b]) })
	for _, id := range ids {
		c := chains[id] // sorted above
		v.Chains++
		for i, sd := range c {
			p := sd.p
			if p.PreviousDigestS3Object == nil {
				if i > 0 {
					v.Notes = append(v.Notes, fmt.Sprintf("%s starts a new chain: no log files were delivered between %s and %s, or validation was off",
						sd.name, c[i-1].end.Format(time.RFC3339), sd.start.Format(time.RFC3339)))
				}
				continue
			}
			prevKey := tailOf(*p.PreviousDigestS3Object)
			prevName := "s3://" + deref(p.PreviousDigestS3Bucket) + "/" + *p.PreviousDigestS3Object
			prev, ok := d.digests[prevKey]
			switch {
			case ok:
				if h := deref(p.PreviousDigestHashValue); h != prev.hash {
					v.Problems = append(v.Problems, Problem{Name: prev.name, Reason: fmt.Sprintf("tampered digest: its SHA-256 is %s, the next digest %s recorded %s", prev.hash, sd.name, h)})
				}
				if s := deref(p.PreviousDigestSignature); prev.sig != "" && s != prev.sig {
					v.Problems = append(v.Problems, Problem{Name: prev.name, Reason: fmt.Sprintf("its signature metadata is not the one the next digest %s recorded", sd.name)})
				}
			case d.skipped[prevKey]:
			case i > 0:
				v.Problems = append(v.Problems, Problem{Name: prevName, Reason: "missing digest: " + sd.name + " links to it, and it is not in the import"})
			default:
				v.Notes = append(v.Notes, fmt.Sprintf("the chain in the import begins at %s (the digest before it, %s, is not in the import)", sd.name, prevName))
			}
		}
		if d.mode == VerifyHashes {
			v.Notes = append(v.Notes, fmt.Sprintf("%s is the newest digest of its chain: with --verify=hashes nothing vouches for it (--verify=full checks its signature)", c[len(c)-1].name))
		}
	}
	sort.Slice(v.Problems, func(a, b int) bool {
		if v.Problems[a].Name != v.Problems[b].Name {
			return v.Problems[a].Name < v.Problems[b].Name
		}
		return v.Problems[a].Reason < v.Problems[b].Reason
	})
	sort.Strings(v.Notes)
	return v
}

// span is a time range [from, to].
type span struct{ from, to time.Time }

// union merges overlapping and adjacent spans, sorted by start.
func union(spans []span) []span {
	sort.Slice(spans, func(a, b int) bool { return spans[a].from.Before(spans[b].from) })
	out := spans[:0]
	for _, s := range spans {
		if n := len(out); n > 0 && !s.from.After(out[n-1].to) {
			if s.to.After(out[n-1].to) {
				out[n-1].to = s.to
			}
			continue
		}
		out = append(out, s)
	}
	return out
}

// contains reports whether [from, to] lies inside one of the sorted, disjoint spans.
func contains(spans []span, from, to time.Time) bool {
	i := sort.Search(len(spans), func(i int) bool { return spans[i].from.After(from) }) - 1
	return i >= 0 && !to.After(spans[i].to)
}

func deref(s *string) string {
	if s == nil {
		return "null"
	}
	return *s
}
