package importer

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/smithy-go"
)

// S3 is the objects under a prefix of an S3 bucket, on AWS or any S3-compatible store.
type S3 struct {
	bucket, prefix string
	client         *s3.Client
}

// IsS3URL reports whether a source names S3.
func IsS3URL(s string) bool { return strings.HasPrefix(s, "s3://") }

// NewS3 returns the source for s3://bucket[/prefix]. The client is configured as the AWS CLI
// is: credentials, region and endpoint from the standard environment and shared files
// (AWS_ENDPOINT_URL_S3 or AWS_ENDPOINT_URL for an S3-compatible store, which is then
// addressed path-style).
func NewS3(ctx context.Context, rawURL string) (*S3, error) {
	u, err := url.Parse(rawURL)
	if err != nil || u.Scheme != "s3" || u.Host == "" {
		return nil, fmt.Errorf("source %q: want s3://bucket or s3://bucket/prefix", rawURL)
	}
	cfg, err := config.LoadDefaultConfig(ctx)
	if err != nil {
		return nil, fmt.Errorf("source %s: load AWS configuration: %w", rawURL, err)
	}
	if cfg.Region == "" {
		cfg.Region = "us-east-1"
	}
	custom := os.Getenv("AWS_ENDPOINT_URL_S3") != "" || os.Getenv("AWS_ENDPOINT_URL") != ""
	client := s3.NewFromConfig(cfg, func(o *s3.Options) { o.UsePathStyle = custom })
	return &S3{bucket: u.Host, prefix: strings.TrimPrefix(u.Path, "/"), client: client}, nil
}

func (s *S3) String() string { return "s3://" + s.bucket + "/" + s.prefix }

// Walk lists the objects under the prefix, in key order.
func (s *S3) Walk(ctx context.Context, fn func(Object) error) error {
	p := s3.NewListObjectsV2Paginator(s.client, &s3.ListObjectsV2Input{Bucket: aws.String(s.bucket), Prefix: aws.String(s.prefix)})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return fmt.Errorf("list %s: %w", s, s3Error(err))
		}
		for _, o := range page.Contents {
			key := aws.ToString(o.Key)
			if strings.HasSuffix(key, "/") {
				continue // a folder marker
			}
			name := key[strings.LastIndexByte(key, '/')+1:]
			obj := Object{Name: "s3://" + s.bucket + "/" + key, Key: key, ID: "s3://" + s.bucket + "/" + key, Size: aws.ToInt64(o.Size),
				ETag: strings.Trim(aws.ToString(o.ETag), `"`), Ignore: !isLogName(name), src: s}
			if err := fn(obj); err != nil {
				return err
			}
		}
	}
	return nil
}

// Open gets an object.
func (s *S3) Open(ctx context.Context, o Object) (io.ReadCloser, map[string]string, error) {
	out, err := s.client.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(s.bucket), Key: aws.String(o.Key)})
	if err != nil {
		return nil, nil, s3Error(err)
	}
	return out.Body, out.Metadata, nil
}

// s3Error shortens SDK errors to what a user acts on: the service's code and message.
func s3Error(err error) error {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return fmt.Errorf("%s: %s", ae.ErrorCode(), ae.ErrorMessage())
	}
	return err
}
