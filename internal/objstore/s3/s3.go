// Package s3 is the object store on Amazon S3 or any S3-compatible server, through
// aws-sdk-go-v2. The colder tier is an object tag, storage-class=cold, which an S3 lifecycle
// configuration on the bucket can act on (S3-compatible servers differ in the storage classes
// they accept; every one of them keeps tags).
package s3

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/smithy-go"

	"github.com/cairn-dev/cairn/internal/objstore"
)

// The tag that marks an object moved to the colder tier.
const (
	TierTag  = "storage-class"
	ColdTier = "cold"
)

// Config says which S3 to use. An empty Endpoint is AWS itself.
type Config struct {
	Endpoint        string // e.g. http://127.0.0.1:7070; path-style addressing is used when set
	Region          string
	AccessKeyID     string
	SecretAccessKey string
}

// Store is an S3-backed object store.
type Store struct {
	c      *s3.Client
	cfg    Config
	region string
}

// New returns a store for cfg.
func New(cfg Config) (*Store, error) {
	if cfg.Region == "" {
		cfg.Region = "us-east-1"
	}
	if (cfg.AccessKeyID == "") != (cfg.SecretAccessKey == "") {
		return nil, errors.New("object store s3: CAIRN_S3_ACCESS_KEY_ID and CAIRN_S3_SECRET_ACCESS_KEY must be set together")
	}
	if cfg.AccessKeyID == "" {
		return nil, errors.New("object store s3: set CAIRN_S3_ACCESS_KEY_ID and CAIRN_S3_SECRET_ACCESS_KEY")
	}
	awsCfg := aws.Config{
		Region:      cfg.Region,
		Credentials: credentials.NewStaticCredentialsProvider(cfg.AccessKeyID, cfg.SecretAccessKey, ""),
	}
	c := s3.NewFromConfig(awsCfg, func(o *s3.Options) {
		if cfg.Endpoint != "" {
			o.BaseEndpoint = aws.String(cfg.Endpoint)
			o.UsePathStyle = true
		}
		// Checksums only when the server asks: S3-compatible servers vary in what they accept.
		o.RequestChecksumCalculation = aws.RequestChecksumCalculationWhenRequired
		o.ResponseChecksumValidation = aws.ResponseChecksumValidationWhenRequired
	})
	return &Store{c: c, cfg: cfg, region: cfg.Region}, nil
}

// Describe implements objstore.Store.
func (s *Store) Describe() string {
	if s.cfg.Endpoint == "" {
		return "s3:aws/" + s.region
	}
	return "s3:" + s.cfg.Endpoint
}

func code(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorCode()
	}
	return ""
}

func httpStatus(err error) int {
	var re interface{ HTTPStatusCode() int }
	if errors.As(err, &re) {
		return re.HTTPStatusCode()
	}
	return 0
}

func mapErr(err error, bucket, key string) error {
	switch c := code(err); {
	case c == "NoSuchKey" || (c == "NotFound" && key != ""):
		return fmt.Errorf("s3://%s/%s: %w", bucket, key, objstore.ErrNotFound)
	case c == "NoSuchBucket":
		return fmt.Errorf("%w: %s", objstore.ErrNoSuchBucket, bucket)
	case c == "InvalidBucketName":
		return fmt.Errorf("%w: %s", objstore.ErrInvalidBucket, bucket)
	}
	if key != "" && httpStatus(err) == http.StatusNotFound {
		return fmt.Errorf("s3://%s/%s: %w", bucket, key, objstore.ErrNotFound)
	}
	return fmt.Errorf("s3://%s/%s: %w", bucket, key, err)
}

// CreateBucket implements objstore.Store.
func (s *Store) CreateBucket(ctx context.Context, bucket string) error {
	if err := objstore.ValidBucketName(bucket); err != nil {
		return err
	}
	in := &s3.CreateBucketInput{Bucket: aws.String(bucket)}
	if s.region != "us-east-1" {
		in.CreateBucketConfiguration = &types.CreateBucketConfiguration{LocationConstraint: types.BucketLocationConstraint(s.region)}
	}
	_, err := s.c.CreateBucket(ctx, in)
	switch code(err) {
	case "":
		return nil
	case "BucketAlreadyOwnedByYou":
		return nil
	case "BucketAlreadyExists":
		return fmt.Errorf("%w: %s", objstore.ErrBucketNotOwned, bucket)
	}
	return mapErr(err, bucket, "")
}

// BucketExists implements objstore.Store.
func (s *Store) BucketExists(ctx context.Context, bucket string) (bool, error) {
	if objstore.ValidBucketName(bucket) != nil {
		return false, nil
	}
	_, err := s.c.HeadBucket(ctx, &s3.HeadBucketInput{Bucket: aws.String(bucket)})
	if err == nil {
		return true, nil
	}
	if c := code(err); c == "NotFound" || c == "NoSuchBucket" || httpStatus(err) == http.StatusNotFound {
		return false, nil
	}
	return false, mapErr(err, bucket, "")
}

// Put implements objstore.Store.
func (s *Store) Put(ctx context.Context, bucket, key string, body []byte, meta map[string]string) error {
	_, err := s.c.PutObject(ctx, &s3.PutObjectInput{
		Bucket: aws.String(bucket), Key: aws.String(key), Body: bytes.NewReader(body),
		ContentLength: aws.Int64(int64(len(body))), Metadata: meta,
		// CloudTrail's objects are gzip files, not gzip-encoded JSON: no Content-Encoding, so
		// clients hand validators the bytes that were hashed.
		ContentType: aws.String("application/octet-stream"),
	})
	if err != nil {
		return mapErr(err, bucket, key)
	}
	return nil
}

// Get implements objstore.Store.
func (s *Store) Get(ctx context.Context, bucket, key string) (io.ReadCloser, objstore.Object, error) {
	out, err := s.c.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)})
	if err != nil {
		return nil, objstore.Object{}, mapErr(err, bucket, key)
	}
	o := objstore.Object{Key: key, Size: aws.ToInt64(out.ContentLength), Metadata: map[string]string{}}
	if aws.ToInt32(out.TagCount) > 0 {
		if tags, err := s.c.GetObjectTagging(ctx, &s3.GetObjectTaggingInput{Bucket: aws.String(bucket), Key: aws.String(key)}); err == nil {
			for _, t := range tags.TagSet {
				o.Cold = o.Cold || (aws.ToString(t.Key) == TierTag && aws.ToString(t.Value) == ColdTier)
			}
		}
	}
	if out.LastModified != nil {
		o.Modified = *out.LastModified
	}
	for k, v := range out.Metadata {
		o.Metadata[strings.ToLower(k)] = v
	}
	return out.Body, o, nil
}

// List implements objstore.Store with ListObjectsV2 (StartAfter is ListObjects' Marker).
func (s *Store) List(ctx context.Context, bucket, prefix, marker string, fn func(objstore.Object) bool) error {
	in := &s3.ListObjectsV2Input{Bucket: aws.String(bucket), Prefix: aws.String(prefix)}
	if marker != "" {
		in.StartAfter = aws.String(marker)
	}
	p := s3.NewListObjectsV2Paginator(s.c, in)
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return mapErr(err, bucket, "")
		}
		for _, c := range page.Contents {
			// Tags are not listed: Cold is false here, so a lifecycle sweep tags again (harmless).
			o := objstore.Object{Key: aws.ToString(c.Key), Size: aws.ToInt64(c.Size)}
			if c.LastModified != nil {
				o.Modified = *c.LastModified
			}
			if !fn(o) {
				return nil
			}
		}
	}
	return nil
}

// Delete implements objstore.Store.
func (s *Store) Delete(ctx context.Context, bucket, key string) error {
	_, err := s.c.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)})
	if err != nil && !errors.Is(mapErr(err, bucket, key), objstore.ErrNotFound) {
		return mapErr(err, bucket, key)
	}
	return nil
}

// Transition implements objstore.Store: tag the object storage-class=cold.
func (s *Store) Transition(ctx context.Context, bucket, key string) error {
	_, err := s.c.PutObjectTagging(ctx, &s3.PutObjectTaggingInput{
		Bucket: aws.String(bucket), Key: aws.String(key),
		Tagging: &types.Tagging{TagSet: []types.Tag{{Key: aws.String(TierTag), Value: aws.String(ColdTier)}}},
	})
	if err != nil {
		return mapErr(err, bucket, key)
	}
	return nil
}
