package importer

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cairn-dev/cairn/internal/integrity"
	"github.com/cairn-dev/cairn/internal/logfile"
)

const (
	digestBucket = "trail-bucket"
	digestPrefix = "team" // the S3 prefix, which a copy on disk loses
	trailName    = "main"
	region       = "us-east-1"
)

// signedTree writes, under dir/AWSLogs/…, hours of log files (two an hour) and the signed
// digest chain over them, as trail delivery writes them (signatures in cairn's metadata
// sidecars). It returns the keyring's public keys and the files by name.
type signedTree struct {
	dir     string
	keys    []integrity.PublicKey
	logs    []string // paths, oldest first
	digests []string
}

func writeSignedTree(t *testing.T, hours int) *signedTree { return writeSignedTreeGap(t, hours, -1) }

// writeSignedTreeGap is writeSignedTree with validation off for the hour before hour restart:
// log files are delivered, no digest lists them, and the digest after starts a new chain.
func writeSignedTreeGap(t *testing.T, hours, restart int) *signedTree {
	t.Helper()
	kr, err := integrity.OpenKeyring(t.TempDir(), 0)
	if err != nil {
		t.Fatal(err)
	}
	base := time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC)
	key, err := kr.Signer(region, base)
	if err != nil {
		t.Fatal(err)
	}
	st := &signedTree{dir: t.TempDir(), keys: kr.Known()}
	records := testRecords(t)
	var prev *integrity.Previous
	for h := range hours {
		start, end := base.Add(time.Duration(h)*time.Hour), base.Add(time.Duration(h+1)*time.Hour)
		if h == restart {
			k := logfile.LogKey(digestPrefix, "", acct, region, start.Add(-30*time.Minute), "GAPGAPGAPGAPGAPG")
			st.put(t, k, gz(t, logfile.Marshal(testRecords(t)[8:9])), nil)
			prev = nil
		}
		d := &integrity.Digest{AWSAccountID: acct, DigestStartTime: integrity.FormatTime(start), DigestEndTime: integrity.FormatTime(end),
			DigestS3Bucket: digestBucket}
		for i := range 2 {
			delivered := start.Add(time.Duration(10+30*i) * time.Minute)
			k := logfile.LogKey(digestPrefix, "", acct, region, delivered, fmt.Sprintf("%016d", h*2+i))
			raw := logfile.Marshal([][]byte{records[(h*2+i)%len(records)]})
			p := st.put(t, k, gz(t, raw), nil)
			st.logs = append(st.logs, p)
			sum, _, err := integrity.HashLog(strings.NewReader(string(gz(t, raw))))
			if err != nil {
				t.Fatal(err)
			}
			d.LogFiles = append(d.LogFiles, integrity.LogFile{S3Bucket: digestBucket, S3Object: k, HashValue: sum, HashAlgorithm: integrity.HashAlgorithm,
				NewestEventTime: integrity.FormatTime(delivered), OldestEventTime: integrity.FormatTime(delivered)})
		}
		d.DigestS3Object = logfile.DigestKey(digestPrefix, "", acct, region, trailName, region, end, false)
		d.Link(prev)
		sealed, err := integrity.Seal(d, key)
		if err != nil {
			t.Fatal(err)
		}
		st.digests = append(st.digests, st.put(t, d.DigestS3Object, sealed.Gzip(), sealed.Metadata()))
		prev = &integrity.Previous{Bucket: digestBucket, Object: d.DigestS3Object, Hash: sealed.Hash, Signature: sealed.Signature}
	}
	return st
}

// put writes an object as the local object store does, the S3 prefix left out as a copy of
// the AWSLogs/ folder would.
func (st *signedTree) put(t *testing.T, key string, body []byte, meta map[string]string) string {
	t.Helper()
	p := filepath.Join(st.dir, filepath.FromSlash(strings.TrimPrefix(key, digestPrefix+"/")))
	writeFile(t, p, body)
	if meta != nil {
		b, _ := json.Marshal(meta)
		writeFile(t, filepath.Join(filepath.Dir(p), "."+filepath.Base(p)+".cairn-meta"), b)
	}
	return p
}

func TestDigestVerification(t *testing.T) {
	type want struct {
		verified, tampered, missing, unlisted int
		problems                              []string // substrings, each in a problem "name: reason"
	}
	tests := []struct {
		name   string
		mode   VerifyMode
		noKeys bool
		gapAt  int // with writeSignedTreeGap
		change func(t *testing.T, st *signedTree)
		want   want
	}{
		{name: "intact, full", mode: VerifyFull, want: want{verified: 6}},
		{name: "intact, hashes", mode: VerifyHashes, want: want{verified: 6}},
		{name: "tampered log file", mode: VerifyFull,
			change: func(t *testing.T, st *signedTree) {
				writeFile(t, st.logs[2], gz(t, logfile.Marshal(testRecords(t)[5:6])))
			},
			want: want{verified: 5, tampered: 1, problems: []string{"_0000000000000002.json.gz: tampered: its SHA-256 is"}}},
		{name: "log file not gzip", mode: VerifyHashes,
			change: func(t *testing.T, st *signedTree) { writeFile(t, st.logs[1], []byte(`{"Records":[]}`)) },
			want:   want{verified: 5, tampered: 1, problems: []string{"_0000000000000001.json.gz: tampered: not the single gzip member"}}},
		{name: "missing log file", mode: VerifyFull,
			change: func(t *testing.T, st *signedTree) { os.Remove(st.logs[3]) },
			want:   want{verified: 5, missing: 1, problems: []string{"s3://trail-bucket/team/AWSLogs/123456789012/CloudTrail/us-east-1/2026/11/20/123456789012_CloudTrail_us-east-1_20261120T1140Z_0000000000000003.json.gz: missing: "}}},
		{name: "log file added", mode: VerifyHashes,
			change: func(t *testing.T, st *signedTree) {
				k := logfile.LogKey(digestPrefix, "", acct, region, time.Date(2026, 11, 20, 11, 5, 0, 0, time.UTC), "XXXXXXXXXXXXXXXX")
				st.put(t, k, gz(t, logfile.Marshal(testRecords(t)[7:8])), nil)
			},
			want: want{verified: 6, unlisted: 1, problems: []string{"XXXXXXXXXXXXXXXX.json.gz: missing from the digest chain: delivered 2026-11-20T11:05:00Z"}}},
		{name: "log file after the last digest is not a failure", mode: VerifyHashes,
			change: func(t *testing.T, st *signedTree) {
				k := logfile.LogKey(digestPrefix, "", acct, region, time.Date(2026, 11, 20, 13, 5, 0, 0, time.UTC), "YYYYYYYYYYYYYYYY")
				st.put(t, k, gz(t, logfile.Marshal(testRecords(t)[7:8])), nil)
			},
			want: want{verified: 6}},
		{name: "digest edited", mode: VerifyFull,
			change: func(t *testing.T, st *signedTree) {
				p, err := integrity.ParseDigest(mustRead(t, st.digests[1]))
				if err != nil {
					t.Fatal(err)
				}
				raw := strings.Replace(string(p.Raw), `"awsAccountId":"123456789012"`, `"awsAccountId":"123456789013"`, 1)
				writeFile(t, st.digests[1], gz(t, []byte(raw)))
			},
			want: want{verified: 6, problems: []string{
				"20261120T120000Z.json.gz: tampered digest: its SHA-256 is",
				"20261120T120000Z.json.gz: verification failed: digest: signature verification failed"}}},
		{name: "digest edited, hashes: the chain shows it", mode: VerifyHashes,
			change: func(t *testing.T, st *signedTree) {
				p, _ := integrity.ParseDigest(mustRead(t, st.digests[0]))
				raw := strings.Replace(string(p.Raw), `"awsAccountId":"123456789012"`, `"awsAccountId":"123456789013"`, 1)
				writeFile(t, st.digests[0], gz(t, []byte(raw)))
			},
			want: want{verified: 6, problems: []string{"20261120T110000Z.json.gz: tampered digest"}}},
		{name: "digest missing from the chain", mode: VerifyHashes,
			change: func(t *testing.T, st *signedTree) { os.Remove(st.digests[1]) },
			want: want{verified: 4, unlisted: 2, problems: []string{
				"s3://trail-bucket/team/AWSLogs/123456789012/CloudTrail-Digest/us-east-1/2026/11/20/123456789012_CloudTrail-Digest_us-east-1_main_us-east-1_20261120T120000Z.json.gz: missing digest",
				"_0000000000000002.json.gz: missing from the digest chain",
				"_0000000000000003.json.gz: missing from the digest chain"}}},
		{name: "digest moved", mode: VerifyHashes,
			change: func(t *testing.T, st *signedTree) {
				to := strings.Replace(st.digests[2], "/us-east-1/2026/", "/us-west-2/2026/", 1)
				to = strings.Replace(to, "Digest_us-east-1_", "Digest_us-west-2_", 1)
				writeFile(t, to, mustRead(t, st.digests[2]))
				os.Remove(st.digests[2])
			},
			want: want{verified: 6, problems: []string{"20261120T130000Z.json.gz: verification failed: digest: has been moved from its original location"}}},
		{name: "log files while validation was off are no failure", mode: VerifyFull, gapAt: 2,
			want: want{verified: 6}},
		{name: "no public key", mode: VerifyFull, noKeys: true,
			want: want{verified: 6, problems: []string{"verification failed: digest: signature not checked: no public key with fingerprint"}}},
		{name: "signature metadata lost in a copy", mode: VerifyFull,
			change: func(t *testing.T, st *signedTree) {
				for _, d := range st.digests {
					os.Remove(filepath.Join(filepath.Dir(d), "."+filepath.Base(d)+".cairn-meta"))
				}
			},
			want: want{verified: 6, problems: []string{"signature not checked: the file has no signature metadata"}}},
		{name: "wrong signature", mode: VerifyFull,
			change: func(t *testing.T, st *signedTree) {
				d := st.digests[2]
				b, _ := json.Marshal(map[string]string{"signature": strings.Repeat("ab", 256), "signature-algorithm": "SHA256withRSA"})
				writeFile(t, filepath.Join(filepath.Dir(d), "."+filepath.Base(d)+".cairn-meta"), b)
			},
			want: want{verified: 6, problems: []string{"20261120T130000Z.json.gz: verification failed: digest: signature verification failed"}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			st := writeSignedTree(t, 3)
			if tc.gapAt > 0 {
				st = writeSignedTreeGap(t, 4, tc.gapAt)
				// The hour before the restart has no digest: drop it and its files.
				os.Remove(st.digests[tc.gapAt-1])
				for _, l := range st.logs[2*(tc.gapAt-1) : 2*tc.gapAt] {
					os.Remove(l)
				}
			}
			if tc.change != nil {
				tc.change(t, st)
			}
			keys := st.keys
			if tc.noKeys {
				keys = nil
			}
			v, err := NewDigests(tc.mode, keys)
			if err != nil {
				t.Fatal(err)
			}
			e := openEnv(t, t.TempDir(), 1000)
			sum, err := e.run(Config{Verify: tc.mode, Verifier: v}, st.dir)
			if err != nil {
				t.Fatal(err)
			}
			ver := sum.Verification
			if ver == nil {
				t.Fatal("no verification in the summary")
			}
			got := want{verified: ver.Verified, tampered: ver.Tampered, missing: ver.Missing, unlisted: ver.Unlisted}
			var lines []string
			for _, p := range ver.Problems {
				lines = append(lines, p.Name+": "+p.Reason)
			}
			for _, p := range sum.Problems {
				for _, r := range p.Verify {
					lines = append(lines, p.Name+": verification failed: "+r)
				}
			}
			var out strings.Builder
			sum.Write(&out, tc.mode)
			t.Log("\n" + out.String())
			if got.verified != tc.want.verified || got.tampered != tc.want.tampered || got.missing != tc.want.missing || got.unlisted != tc.want.unlisted {
				t.Errorf("counts = %+v, want %+v\n%s", got, tc.want, out.String())
			}
			for _, w := range tc.want.problems {
				found := false
				for _, l := range lines {
					found = found || strings.Contains(l, w)
				}
				if !found {
					t.Errorf("no problem contains %q\n%s", w, out.String())
				}
			}
			if len(tc.want.problems) == 0 && len(lines) > 0 {
				t.Errorf("unexpected problems:\n%s", out.String())
			}
			if sum.OK() != (len(tc.want.problems) == 0) {
				t.Errorf("OK() = %v with problems %q", sum.OK(), lines)
			}
			// Whatever the verification says, every record is imported.
			if sum.Rejected != 0 || sum.FilesFailed != 0 {
				t.Errorf("records rejected or files failed:\n%s", out.String())
			}
		})
	}
}

func mustRead(t *testing.T, p string) []byte {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
