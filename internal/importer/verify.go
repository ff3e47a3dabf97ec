package importer

import (
	"context"
	"fmt"

	"github.com/cairn-dev/cairn/internal/logfile"
)

// VerifyMode is how much of CloudTrail's log file integrity validation an import does.
type VerifyMode string

const (
	VerifyOff    VerifyMode = "off"    // digest files are counted, not checked
	VerifyHashes VerifyMode = "hashes" // the digest chain and every log file's SHA-256
	VerifyFull   VerifyMode = "full"   // hashes, and each digest's RSA signature
)

// ParseVerifyMode parses --verify.
func ParseVerifyMode(s string) (VerifyMode, error) {
	switch m := VerifyMode(s); m {
	case VerifyOff, VerifyHashes, VerifyFull:
		return m, nil
	}
	return "", fmt.Errorf("--verify=%s: want off, hashes or full", s)
}

// File describes a CloudTrail file to a Verifier.
type File struct {
	Name string          // as reports name it: a path or s3:// URL
	Info logfile.KeyInfo // what its key says (Prefix is the part before AWSLogs/)
	// Metadata is the object's user metadata when the source has it (S3: a digest's
	// "signature" and "signature-algorithm"); nil for local files.
	Metadata map[string]string
}

// A Verifier checks digest files, and log files against them, as an import reads a tree
// (CloudTrail's log file integrity validation; internal/integrity provides one). Its methods
// are called from several goroutines at once, for files in no particular order. An error
// returned for a file is reported under that file and does not stop the import.
type Verifier interface {
	// Digest is called with each CloudTrail-Digest file's bytes as stored (gzip).
	Digest(ctx context.Context, f File, stored []byte) error
	// Log is called with each CloudTrail and CloudTrail-Insight log file's bytes as stored.
	Log(ctx context.Context, f File, stored []byte) error
	// Skipped is called for a log file the import did not read (outside its filters, or
	// already imported from an S3 object whose ETag is unchanged), so that the verifier can
	// tell "not checked" from "missing".
	Skipped(ctx context.Context, f File, reason string)
	// Finish is called once every file has been seen. It returns what the files seen do not
	// show on their own: log files verified, tampered with or missing, a broken chain, log
	// files that no digest lists.
	Finish(ctx context.Context) Verification
}

// Verification is what a Verifier found once every file was seen.
type Verification struct {
	Chains     int // digest chains (trail, account, region) in the import
	Verified   int // log files whose hash matches the digest that lists them
	Tampered   int // log files whose hash does not
	Missing    int // log files a digest lists that are not in the import
	NotChecked int // log files a digest lists that the import passed over (filters)
	Unlisted   int // log files delivered while digests were written that no digest lists
	NotCovered int // log files delivered outside the time the digests cover
	Problems   []Problem
	Notes      []string // what is worth knowing and is no failure (chain starts, gaps)
}

// Problem is one verification failure that concerns no single file the import read, or
// more than one.
type Problem struct {
	Name   string // the file concerned, if any
	Reason string
}
