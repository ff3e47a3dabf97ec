// Package objstore is where trails deliver log and digest files: buckets of objects with user
// metadata, as in S3. Backends: local/ (a directory, the embedded default) and s3/ (any
// S3-compatible store through aws-sdk-go-v2). Lifecycle rules expire objects or move them to a
// colder tier by age.
package objstore

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"
)

// Errors every backend returns (wrapped) for these conditions.
var (
	ErrNotFound       = errors.New("no such key")
	ErrNoSuchBucket   = errors.New("no such bucket")
	ErrInvalidBucket  = errors.New("invalid bucket name")
	ErrInvalidKey     = errors.New("invalid object key")
	ErrBucketNotOwned = errors.New("bucket exists and is owned by someone else")
)

// Object describes a stored object.
type Object struct {
	Key      string
	Size     int64
	Modified time.Time
	// Metadata is the user metadata (x-amz-meta-*), names in lower case. Filled by Get; List
	// fills it only where the backend has it for free.
	Metadata map[string]string
	// Cold is set for objects a lifecycle rule moved to the colder tier.
	Cold bool
}

// Store is an object store.
type Store interface {
	// CreateBucket creates bucket; it succeeds if the bucket already exists and is ours.
	CreateBucket(ctx context.Context, bucket string) error
	// BucketExists reports whether bucket exists (and is reachable with our credentials).
	BucketExists(ctx context.Context, bucket string) (bool, error)
	// Put stores body under key with user metadata, replacing any object there. When Put
	// returns, the object is durable.
	Put(ctx context.Context, bucket, key string, body []byte, meta map[string]string) error
	// Get opens an object. The caller closes the body.
	Get(ctx context.Context, bucket, key string) (io.ReadCloser, Object, error)
	// List calls fn for each object whose key starts with prefix and sorts after marker, in
	// lexicographic key order, until fn returns false.
	List(ctx context.Context, bucket, prefix, marker string, fn func(Object) bool) error
	// Delete removes an object; deleting a missing object is not an error.
	Delete(ctx context.Context, bucket, key string) error
	// Transition moves an object to the colder tier.
	Transition(ctx context.Context, bucket, key string) error
	// Describe names the store for messages, e.g. "local:/var/lib/cairn/objects".
	Describe() string
}

// ValidBucketName checks S3's bucket naming rules: 3–63 characters of lower-case letters,
// digits, '.' and '-', starting and ending with a letter or digit, no "..", not an IP address.
func ValidBucketName(b string) error {
	if len(b) < 3 || len(b) > 63 {
		return fmt.Errorf("%w: %q must be 3 to 63 characters long", ErrInvalidBucket, b)
	}
	for i := 0; i < len(b); i++ {
		c := b[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '.' || c == '-') {
			return fmt.Errorf("%w: %q may hold only lower-case letters, digits, '.' and '-'", ErrInvalidBucket, b)
		}
	}
	if !isAlnum(b[0]) || !isAlnum(b[len(b)-1]) {
		return fmt.Errorf("%w: %q must start and end with a letter or digit", ErrInvalidBucket, b)
	}
	if strings.Contains(b, "..") || strings.Contains(b, ".-") || strings.Contains(b, "-.") {
		return fmt.Errorf("%w: %q has adjacent periods or a period next to a hyphen", ErrInvalidBucket, b)
	}
	if looksLikeIP(b) {
		return fmt.Errorf("%w: %q is formatted as an IP address", ErrInvalidBucket, b)
	}
	return nil
}

func isAlnum(c byte) bool { return c >= 'a' && c <= 'z' || c >= '0' && c <= '9' }

func looksLikeIP(b string) bool {
	parts := strings.Split(b, ".")
	if len(parts) != 4 {
		return false
	}
	for _, p := range parts {
		if p == "" || len(p) > 3 {
			return false
		}
		for i := 0; i < len(p); i++ {
			if p[i] < '0' || p[i] > '9' {
				return false
			}
		}
	}
	return true
}
