package integrity

import (
	"bytes"
	"context"
	"crypto/md5"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/klauspost/compress/gzip"
)

// memSource is an in-memory object source.
type memSource struct {
	mu      sync.Mutex
	objects map[string][]byte
	meta    map[string]map[string]string
}

func newMem() *memSource {
	return &memSource{objects: map[string][]byte{}, meta: map[string]map[string]string{}}
}

func (m *memSource) put(key string, body []byte, meta map[string]string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.objects[key], m.meta[key] = body, meta
}

func (m *memSource) List(ctx context.Context, bucket, prefix, marker string, fn func(string) bool) error {
	m.mu.Lock()
	var keys []string
	for k := range m.objects {
		if strings.HasPrefix(k, prefix) && k > marker {
			keys = append(keys, k)
		}
	}
	m.mu.Unlock()
	sort.Strings(keys)
	for _, k := range keys {
		if !fn(k) {
			break
		}
	}
	return nil
}

func (m *memSource) Get(ctx context.Context, bucket, key string) (io.ReadCloser, map[string]string, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	b, ok := m.objects[key]
	if !ok {
		return nil, nil, fmt.Errorf("%s: %w", key, ErrNotFound)
	}
	return io.NopCloser(bytes.NewReader(b)), m.meta[key], nil
}

func gz(b []byte) []byte {
	var out bytes.Buffer
	zw := gzip.NewWriter(&out)
	zw.Write(b)
	zw.Close()
	return out.Bytes()
}

// chainFixture writes a chain of digests (one hour apart) each vouching for logs log files of
// size bytes, like trail delivery does.
func chainFixture(t testing.TB, kr *Keyring, digests, logs, size int) (*memSource, Chain, time.Time) {
	src := newMem()
	c := Chain{Bucket: "b", Account: "111122223333", TrailName: "t", HomeRegion: "us-east-1"}
	start := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	var prev *Previous
	payload := bytes.Repeat([]byte(`{"eventVersion":"1.11","eventName":"RunInstances","awsRegion":"us-east-1"},`), size/75+1)[:size]
	for i := 0; i < digests; i++ {
		end := start.Add(time.Duration(i+1) * time.Hour)
		d := &Digest{AWSAccountID: c.Account, DigestStartTime: FormatTime(end.Add(-time.Hour)), DigestEndTime: FormatTime(end), DigestS3Bucket: "b"}
		d.DigestS3Object = fmt.Sprintf("AWSLogs/%s/CloudTrail-Digest/us-east-1/%s/%s_CloudTrail-Digest_us-east-1_t_us-east-1_%s.json.gz",
			c.Account, end.Format("2006/01/02"), c.Account, end.Format("20060102T150405Z"))
		for j := 0; j < logs; j++ {
			raw := append([]byte(fmt.Sprintf(`{"Records":[{"n":%d}`, i*logs+j)), payload...)
			k := fmt.Sprintf("AWSLogs/%s/CloudTrail/us-east-1/%s/log-%d-%d.json.gz", c.Account, end.Format("2006/01/02"), i, j)
			src.put(k, gz(raw), nil)
			d.LogFiles = append(d.LogFiles, LogFile{S3Bucket: "b", S3Object: k, HashValue: sha(raw), HashAlgorithm: HashAlgorithm,
				OldestEventTime: FormatTime(end), NewestEventTime: FormatTime(end)})
		}
		d.Link(prev)
		key, err := kr.Signer("us-east-1", end) // the key of the digest's time, as delivery signs
		if err != nil {
			t.Fatal(err)
		}
		s, err := Seal(d, key)
		if err != nil {
			t.Fatal(err)
		}
		src.put(d.DigestS3Object, s.Gzip(), s.Metadata())
		prev = &Previous{Bucket: "b", Object: d.DigestS3Object, Hash: s.Hash, Signature: s.Signature}
	}
	return src, c, start
}

func TestSealFormat(t *testing.T) {
	kr, err := OpenKeyring(t.TempDir(), 0)
	if err != nil {
		t.Fatal(err)
	}
	k, _ := kr.Signer("us-east-1", time.Now())
	d := &Digest{AWSAccountID: "111122223333", DigestStartTime: "2026-03-01T00:00:00Z", DigestEndTime: "2026-03-01T01:00:00Z", DigestS3Bucket: "b", DigestS3Object: "o"}
	s, err := Seal(d, k)
	if err != nil {
		t.Fatal(err)
	}
	// A starting digest for an empty interval: the keys exist, with null values, in AWS's order.
	want := `{"awsAccountId":"111122223333","digestStartTime":"2026-03-01T00:00:00Z","digestEndTime":"2026-03-01T01:00:00Z","digestS3Bucket":"b","digestS3Object":"o","digestPublicKeyFingerprint":"` +
		k.Public.Fingerprint + `","digestSignatureAlgorithm":"SHA256withRSA","newestEventTime":null,"oldestEventTime":null,"previousDigestS3Bucket":null,"previousDigestS3Object":null,"previousDigestHashValue":null,"previousDigestHashAlgorithm":null,"previousDigestSignature":null,"logFiles":[]}`
	if string(s.Raw) != want {
		t.Errorf("digest JSON:\n%s\nwant\n%s", s.Raw, want)
	}
	if got := string(SigningString("E", "b", "o", "h", "null")); got != "E\nb/o\nh\nnull" {
		t.Errorf("signing string %q", got)
	}
	p, err := ParseDigest(s.Gzip())
	if err != nil {
		t.Fatal(err)
	}
	if err := p.VerifySignature(s.Signature, k.Public.Key); err != nil {
		t.Error(err)
	}
	p.Raw = bytes.Replace(p.Raw, []byte(`"b"`), []byte(`"c"`), 1)
	if err := p.VerifySignature(s.Signature, k.Public.Key); !errors.Is(err, ErrSignature) {
		t.Errorf("edited digest verified: %v", err)
	}
	// Fingerprint: MD5 of the PKCS #1 DER ListPublicKeys returns.
	sum := md5.Sum(k.Public.DER)
	if _, err := x509.ParsePKCS1PublicKey(k.Public.DER); err != nil || hex.EncodeToString(sum[:]) != k.Public.Fingerprint {
		t.Errorf("public key: %v, fingerprint %s", err, k.Public.Fingerprint)
	}
	if _, err := ParseDigest(gz([]byte(`{"digestS3Bucket":"b"}`))); !errors.Is(err, ErrFormat) {
		t.Errorf("digest lacking members: %v", err)
	}
	two := append(s.Gzip(), s.Gzip()...)
	if _, err := ParseDigest(two); !errors.Is(err, ErrFormat) {
		t.Errorf("two gzip members: %v", err)
	}
}

func TestKeyringRotationAndPersistence(t *testing.T) {
	dir := t.TempDir()
	kr, err := OpenKeyring(dir, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	t0 := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	k1, _ := kr.Signer("eu-west-1", t0)
	same, _ := kr.Signer("eu-west-1", t0.Add(59*time.Minute))
	k2, _ := kr.Signer("eu-west-1", t0.Add(61*time.Minute))
	other, _ := kr.Signer("us-east-1", t0)
	if same != k1 || k2.Public.Fingerprint == k1.Public.Fingerprint || other.Public.Fingerprint == k1.Public.Fingerprint {
		t.Fatal("keys did not rotate per region and validity")
	}
	kr2, err := OpenKeyring(dir, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	keys, err := kr2.PublicKeys("eu-west-1", t0, t0.Add(2*time.Hour), t0.Add(90*time.Minute))
	if err != nil || len(keys) != 2 || keys[0].Fingerprint != k1.Public.Fingerprint || keys[1].Fingerprint != k2.Public.Fingerprint {
		t.Errorf("reopened keyring: %d keys, %v", len(keys), err)
	}
	if keys, _ := kr2.PublicKeys("eu-west-1", t0.Add(3*time.Hour), t0.Add(4*time.Hour), t0); len(keys) != 0 {
		t.Errorf("keys outside their validity: %d", len(keys))
	}
}

func TestValidateWalk(t *testing.T) {
	kr, _ := OpenKeyring(t.TempDir(), 0)
	src, c, start := chainFixture(t, kr, 4, 2, 1000)
	run := func() (string, string, int) {
		var out, errb bytes.Buffer
		p := &Printer{Stdout: &out, Stderr: &errb, TrailARN: "arn:aws:cloudtrail:us-east-1:111122223333:trail/t", Start: start, End: start.Add(4 * time.Hour)}
		p.Begin()
		if err := Validate(context.Background(), src, kr.Provider("us-east-1"), c, p.Start, p.End, p, Options{Workers: 3}); err != nil {
			t.Fatal(err)
		}
		p.Summary()
		return out.String(), errb.String(), p.ExitCode()
	}
	out, errs, code := run()
	want := "Validating log files for trail arn:aws:cloudtrail:us-east-1:111122223333:trail/t between 2026-03-01T00:00:00Z and 2026-03-01T04:00:00Z\n\n" +
		"Results requested for 2026-03-01T00:00:00Z to 2026-03-01T04:00:00Z\nResults found for 2026-03-01T00:00:00Z to 2026-03-01T04:00:00Z:\n\n4/4 digest files valid\n8/8 log files valid\n"
	if out != want || errs != "" || code != 0 {
		t.Fatalf("clean chain: exit %d\n%q\nwant\n%q\n%s", code, out, want, errs)
	}
	// Delete the second digest: the walk reports it missing and goes on.
	var second string
	src.List(context.Background(), "b", "AWSLogs/111122223333/CloudTrail-Digest/", "", func(k string) bool {
		if strings.Contains(k, "T020000Z") {
			second = k
		}
		return true
	})
	delete(src.objects, second)
	out, errs, code = run()
	if code != 1 || errs != "Digest file\ts3://b/"+second+"\tINVALID: not found\n\n" || !strings.Contains(out, "3/4 digest files valid, 1/4 digest files INVALID\n6/6 log files valid") {
		t.Errorf("missing digest: exit %d\n%s\n%s", code, out, errs)
	}
}

// A chain signed across key rotations validates: the walk asks for every key of the range
// (ListPublicKeys returns them all) and checks each digest with its own key's fingerprint.
func TestValidateAcrossKeyRotation(t *testing.T) {
	kr, _ := OpenKeyring(t.TempDir(), 90*time.Minute)
	src, c, start := chainFixture(t, kr, 4, 1, 100)
	keys, err := kr.PublicKeys("us-east-1", start, start.Add(6*time.Hour), time.Now())
	if err != nil || len(keys) < 2 {
		t.Fatalf("the chain was signed with %d keys, want a rotation: %v", len(keys), err)
	}
	var out, errb bytes.Buffer
	p := &Printer{Stdout: &out, Stderr: &errb, TrailARN: "arn:aws:cloudtrail:us-east-1:111122223333:trail/t", Start: start, End: start.Add(4 * time.Hour)}
	p.Begin()
	if err := Validate(context.Background(), src, kr.Provider("us-east-1"), c, p.Start, p.End, p, Options{}); err != nil {
		t.Fatal(err)
	}
	p.Summary()
	if p.ExitCode() != 0 || errb.Len() != 0 || !strings.Contains(out.String(), "4/4 digest files valid") {
		t.Errorf("chain across %d keys: exit %d\n%s%s", len(keys), p.ExitCode(), out.String(), errb.String())
	}
}

// Validation speed in bytes of (uncompressed) log files per second.
func BenchmarkValidate(b *testing.B) {
	kr, _ := OpenKeyring(b.TempDir(), 0)
	const digests, logs, size = 4, 16, 4 << 20
	src, c, start := chainFixture(b, kr, digests, logs, size)
	b.SetBytes(digests * logs * size)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		p := &Printer{Stdout: io.Discard, Stderr: io.Discard, Start: start, End: start.Add(digests * time.Hour)}
		if err := Validate(context.Background(), src, kr.Provider("us-east-1"), c, p.Start, p.End, p, Options{}); err != nil {
			b.Fatal(err)
		}
		if _, bad, _, badLogs := p.Counts(); bad+badLogs > 0 {
			b.Fatal("invalid files")
		}
	}
}

func sha(b []byte) string {
	s, _, _ := HashLog(bytes.NewReader(gz(b)))
	return s
}
