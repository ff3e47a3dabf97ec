package s3

import (
	"testing"

	"github.com/cairn-dev/cairn/internal/cairntest"
	"github.com/cairn-dev/cairn/internal/objstore/objstoretest"
)

// The S3 backend against a real S3-compatible server (versitygw).
func TestConformance(t *testing.T) {
	srv := cairntest.StartS3(t)
	s, err := New(Config{Endpoint: srv.Endpoint, Region: "us-east-1", AccessKeyID: cairntest.S3AccessKey, SecretAccessKey: cairntest.S3SecretKey})
	if err != nil {
		t.Fatal(err)
	}
	objstoretest.Run(t, s, "cairn-s3-test")
}
