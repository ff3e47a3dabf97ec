// Package integrity is CloudTrail log file integrity validation: digest files exactly as AWS
// writes them, their signing string and SHA256withRSA signatures, the per-region signing keys
// ListPublicKeys returns, and the walk `aws cloudtrail validate-logs` does over a digest chain,
// with its messages and exit codes (reference cloudtrail.md §2).
//
// The pieces:
//
//   - Digest, Seal and ParseDigest: a digest file's JSON, signed; and read back with the checks
//     aws-cli makes.
//   - Keyring: RSA keys per region, valid 30 days, rotated and kept under a directory.
//   - Validate: the validation walk over any object source (cairn's object store, an S3
//     bucket, a directory of downloaded AWS logs), reporting to a Report.
//
// Nothing here knows about trails or HTTP: trail delivery seals digests, `cairn validate` and
// imports walk them.
package integrity

import (
	"bufio"
	"bytes"
	"crypto"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/klauspost/compress/gzip"
)

// Algorithms as CloudTrail names them.
const (
	SignatureAlgorithm = "SHA256withRSA"
	HashAlgorithm      = "SHA-256"
)

// S3 user metadata keys of a digest object (x-amz-meta-signature, x-amz-meta-signature-algorithm).
const (
	MetaSignature          = "signature"
	MetaSignatureAlgorithm = "signature-algorithm"
)

// TimeLayout is how digests write their times.
const TimeLayout = "2006-01-02T15:04:05Z"

// Digest is a digest file. Members are in the order AWS writes them; pointer members are JSON
// null when nil (a starting digest has null previous* members; an empty interval has null
// event times), never omitted, because aws-cli requires the keys to exist.
type Digest struct {
	AWSAccountID               string    `json:"awsAccountId"`
	DigestStartTime            string    `json:"digestStartTime"`
	DigestEndTime              string    `json:"digestEndTime"`
	DigestS3Bucket             string    `json:"digestS3Bucket"`
	DigestS3Object             string    `json:"digestS3Object"`
	DigestPublicKeyFingerprint string    `json:"digestPublicKeyFingerprint"`
	DigestSignatureAlgorithm   string    `json:"digestSignatureAlgorithm"`
	NewestEventTime            *string   `json:"newestEventTime"`
	OldestEventTime            *string   `json:"oldestEventTime"`
	PreviousDigestS3Bucket     *string   `json:"previousDigestS3Bucket"`
	PreviousDigestS3Object     *string   `json:"previousDigestS3Object"`
	PreviousDigestHashValue    *string   `json:"previousDigestHashValue"`
	PreviousDigestHashAlgo     *string   `json:"previousDigestHashAlgorithm"`
	PreviousDigestSignature    *string   `json:"previousDigestSignature"`
	LogFiles                   []LogFile `json:"logFiles"`
}

// LogFile is one log file a digest vouches for: the SHA-256 of its uncompressed bytes.
type LogFile struct {
	S3Bucket        string `json:"s3Bucket"`
	S3Object        string `json:"s3Object"`
	HashValue       string `json:"hashValue"`
	HashAlgorithm   string `json:"hashAlgorithm"`
	NewestEventTime string `json:"newestEventTime"`
	OldestEventTime string `json:"oldestEventTime"`
}

// Previous links a digest to the one before it in its chain.
type Previous struct {
	Bucket, Object string
	Hash           string // hex SHA-256 of the previous digest's uncompressed bytes
	Signature      string // the previous digest's hex signature
}

// Link sets d's previous* members; a nil p makes d a starting digest (all null).
func (d *Digest) Link(p *Previous) {
	if p == nil {
		d.PreviousDigestS3Bucket, d.PreviousDigestS3Object, d.PreviousDigestHashValue, d.PreviousDigestHashAlgo, d.PreviousDigestSignature = nil, nil, nil, nil, nil
		return
	}
	algo := HashAlgorithm
	d.PreviousDigestS3Bucket, d.PreviousDigestS3Object = &p.Bucket, &p.Object
	d.PreviousDigestHashValue, d.PreviousDigestHashAlgo, d.PreviousDigestSignature = &p.Hash, &algo, &p.Signature
}

// FormatTime writes t as digests do (UTC, whole seconds).
func FormatTime(t time.Time) string { return t.UTC().Format(TimeLayout) }

// Sealed is a signed digest ready to store: Raw is what is hashed and gzipped, Signature goes
// into the object's metadata.
type Sealed struct {
	Raw       []byte // uncompressed JSON
	Hash      string // hex SHA-256 of Raw: the next digest's previousDigestHashValue
	Signature string // lowercase hex
}

// Gzip returns the object body: Raw as one gzip member.
func (s *Sealed) Gzip() []byte {
	var b bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&b, gzip.DefaultCompression)
	zw.Write(s.Raw)
	zw.Close()
	return b.Bytes()
}

// Metadata is the user metadata a digest object carries.
func (s *Sealed) Metadata() map[string]string {
	return map[string]string{MetaSignature: s.Signature, MetaSignatureAlgorithm: SignatureAlgorithm}
}

// Seal fills d's key fingerprint and algorithm, serialises it once and signs those bytes with
// key. The signature is deterministic (PKCS #1 v1.5), so sealing the same digest twice gives the
// same object.
func Seal(d *Digest, key *Key) (*Sealed, error) {
	d.DigestPublicKeyFingerprint = key.Public.Fingerprint
	d.DigestSignatureAlgorithm = SignatureAlgorithm
	if d.LogFiles == nil {
		d.LogFiles = []LogFile{}
	}
	raw, err := json.Marshal(d)
	if err != nil {
		return nil, fmt.Errorf("integrity: marshal digest: %w", err)
	}
	sum := sha256.Sum256(raw)
	hash := hex.EncodeToString(sum[:])
	prev := "null"
	if d.PreviousDigestSignature != nil {
		prev = *d.PreviousDigestSignature
	}
	toSign := SigningString(d.DigestEndTime, d.DigestS3Bucket, d.DigestS3Object, hash, prev)
	h := sha256.Sum256(toSign)
	sig, err := rsa.SignPKCS1v15(nil, key.private, crypto.SHA256, h[:])
	if err != nil {
		return nil, fmt.Errorf("integrity: sign digest: %w", err)
	}
	return &Sealed{Raw: raw, Hash: hash, Signature: hex.EncodeToString(sig)}, nil
}

// SigningString is what a digest's signature covers (reference §2.3):
//
//	digestEndTime \n digestS3Bucket/digestS3Object \n hex(SHA-256(uncompressed digest)) \n previousDigestSignature
//
// with the text "null" for a starting digest's previous signature.
func SigningString(endTime, bucket, object, hash, prevSignature string) []byte {
	return []byte(endTime + "\n" + bucket + "/" + object + "\n" + hash + "\n" + prevSignature)
}

// Parsed is a digest read back from storage, with what aws-cli needs to check it.
type Parsed struct {
	Digest
	Raw []byte // uncompressed bytes, as stored
	// present records which members exist (aws-cli requires some keys, allowing null values).
	present map[string]bool
}

// ErrFormat reports a digest that is not a gzipped JSON object with the required members.
var ErrFormat = errors.New("invalid format")

// requiredKeys are the members aws-cli insists on before it checks anything else.
var requiredKeys = []string{"digestPublicKeyFingerprint", "digestS3Bucket", "digestS3Object", "previousDigestSignature", "digestEndTime", "digestStartTime"}

// ParseDigest reads a gzipped digest file. It fails with ErrFormat when aws-cli would report
// "INVALID: invalid format": not gzip, not JSON, or a required member missing.
func ParseDigest(gz []byte) (*Parsed, error) {
	raw, err := gunzipAll(gz)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrFormat, err)
	}
	p, err := parseRaw(raw)
	if err != nil {
		return nil, err
	}
	return p, nil
}

func parseRaw(raw []byte) (*Parsed, error) {
	var members map[string]json.RawMessage
	if err := json.Unmarshal(raw, &members); err != nil || members == nil {
		return nil, fmt.Errorf("%w: %v", ErrFormat, err)
	}
	p := &Parsed{Raw: raw, present: map[string]bool{}}
	for k := range members {
		p.present[k] = true
	}
	for _, k := range requiredKeys {
		if !p.present[k] {
			return p, fmt.Errorf("%w: member %s missing", ErrFormat, k)
		}
	}
	// Members of the wrong type are a format error too (aws-cli fails later with a Python
	// error, which it also reports as INVALID).
	if err := json.Unmarshal(raw, &p.Digest); err != nil {
		return p, fmt.Errorf("%w: %v", ErrFormat, err)
	}
	return p, nil
}

// gunzipAll inflates one gzip member; bytes after it are an error, as in aws-cli v2.
func gunzipAll(gz []byte) ([]byte, error) {
	var out bytes.Buffer
	if _, err := gunzipTo(&out, bytes.NewReader(gz)); err != nil {
		return nil, err
	}
	return out.Bytes(), nil
}

// errTrailing is aws-cli v2's complaint about a second gzip member or other trailing bytes.
var errTrailing = errors.New("unexpected data after end of compressed stream")

// gunzipTo inflates exactly one gzip member from r into w.
func gunzipTo(w io.Writer, r io.Reader) (int64, error) {
	// A ByteReader keeps the decompressor from reading past the member's end.
	br, ok := r.(*bufio.Reader)
	if !ok {
		br = bufio.NewReaderSize(r, 256<<10)
	}
	zr, err := gzip.NewReader(br)
	if err != nil {
		return 0, err
	}
	zr.Multistream(false)
	n, err := io.Copy(w, zr)
	if err != nil {
		return n, err
	}
	if _, err := br.ReadByte(); err == nil {
		return n, errTrailing
	}
	return n, nil
}

// ErrSignature reports a digest whose signature does not verify, or whose object lacks the
// signature metadata.
var ErrSignature = errors.New("signature verification failed")

// VerifySignature checks p against the hex signature from its object's metadata and the public
// key that signed it.
func (p *Parsed) VerifySignature(signatureHex string, pub *rsa.PublicKey) error {
	sig, err := hex.DecodeString(signatureHex)
	if err != nil {
		return ErrSignature
	}
	prev := "null"
	if p.PreviousDigestSignature != nil {
		prev = *p.PreviousDigestSignature
	}
	sum := sha256.Sum256(p.Raw)
	h := sha256.Sum256(SigningString(p.DigestEndTime, p.DigestS3Bucket, p.DigestS3Object, hex.EncodeToString(sum[:]), prev))
	if err := rsa.VerifyPKCS1v15(pub, crypto.SHA256, h[:], sig); err != nil {
		return ErrSignature
	}
	return nil
}

// HashLog returns the hex SHA-256 of a gzipped log file's uncompressed bytes, reading one gzip
// member. It is what a digest's logFiles[].hashValue must equal.
func HashLog(r io.Reader) (string, int64, error) {
	// A second member would be ignored by aws-cli v1 and is rejected by v2; cairn rejects it.
	h := sha256.New()
	n, err := gunzipTo(h, r)
	if err != nil {
		return "", n, err
	}
	return hex.EncodeToString(h.Sum(nil)), n, nil
}
