package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudtrail"

	"github.com/cairn-dev/cairn/internal/integrity"
	"github.com/cairn-dev/cairn/internal/objstore"
)

// runValidate is `aws cloudtrail validate-logs` over cairn's object store: the same walk, the
// same output and exit status (0 all valid, 1 something invalid, 255 could not validate).
func runValidate(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var (
		trailARN, startText, endText string
		bucket, prefix, account      string
		verbose                      bool
		endpoint, region, data       string
		store                        string
		workers                      int
	)
	fs := flag.NewFlagSet("validate", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&trailARN, "trail-arn", "", "ARN of the trail to validate (required)")
	fs.StringVar(&startText, "start-time", "", "validate log files delivered on or after this UTC time (required), e.g. 2026-01-08T05:21:42Z")
	fs.StringVar(&endText, "end-time", "", "validate log files delivered on or before this UTC time (default now)")
	fs.StringVar(&bucket, "s3-bucket", "", "bucket of the digest files (default: the trail's, from DescribeTrails)")
	fs.StringVar(&prefix, "s3-prefix", "", "key prefix of the digest files (default: the trail's)")
	fs.StringVar(&account, "account-id", "", "account whose files to validate (required for organisation trails)")
	fs.BoolVar(&verbose, "verbose", false, "print every valid file too")
	fs.StringVar(&endpoint, "endpoint-url", "", "cairn endpoint for DescribeTrails and ListPublicKeys (default AWS_ENDPOINT_URL, else from <data>/admin.env)")
	fs.StringVar(&region, "region", "", "region whose digests to validate (default AWS_REGION / AWS_DEFAULT_REGION, else the trail's home region)")
	fs.StringVar(&data, "data", "./cairn-data", "cairn's data directory (the local object store; admin.env)")
	fs.StringVar(&store, "object-store", "local", "where the files are: local (under --data) or s3 (CAIRN_S3_* as for serve)")
	fs.IntVar(&workers, "workers", 0, "log files checked at once (default: one per CPU)")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "Usage: cairn validate --trail-arn ARN --start-time TIME [flags]\n\nValidates a trail's digest and log files as `aws cloudtrail validate-logs` does, reading them\nfrom cairn's object store. Exit status: 0 all valid, 1 something invalid.\n\nFlags:")
		fs.PrintDefaults()
	}
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	fail := func(err error) error {
		fmt.Fprintf(stderr, "\n%v\n", err)
		return exitCode(255)
	}
	if trailARN == "" || startText == "" {
		fmt.Fprintln(stderr, "cairn validate: --trail-arn and --start-time are required")
		fs.Usage()
		return errUsage
	}
	chain, err := integrity.ChainFromARN(trailARN)
	if err != nil {
		return fail(err)
	}
	start, err := parseTime(startText)
	if err != nil {
		return fail(err)
	}
	end := time.Now().UTC()
	if endText != "" {
		if end, err = parseTime(endText); err != nil {
			return fail(err)
		}
	}
	if start.After(end) {
		return fail(fmt.Errorf("Invalid time range specified: start-time must occur before end-time"))
	}
	if region == "" {
		region = os.Getenv("AWS_REGION")
	}
	if region == "" {
		region = os.Getenv("AWS_DEFAULT_REGION")
	}
	if region == "" {
		region = chain.HomeRegion
	}
	chain.SourceRegion = region
	client, err := cloudtrailClient(ctx, endpoint, region, data)
	if err != nil {
		return fail(err)
	}
	objects, err := openObjectStore(store, data)
	if err != nil {
		return fail(err)
	}
	src := objstore.Source{Store: objects}
	if account != "" {
		chain.Account = account
	}
	chain.Bucket, chain.Prefix = bucket, prefix
	if bucket == "" {
		out, err := client.DescribeTrails(ctx, &cloudtrail.DescribeTrailsInput{})
		if err != nil {
			return fail(err)
		}
		found := false
		for _, t := range out.TrailList {
			if aws.ToString(t.TrailARN) != trailARN {
				continue
			}
			found = true
			chain.Bucket, chain.Prefix = aws.ToString(t.S3BucketName), aws.ToString(t.S3KeyPrefix)
			if aws.ToBool(t.IsOrganizationTrail) {
				if account == "" {
					return fail(fmt.Errorf("Missing required parameter for organization trail: '--account-id'"))
				}
				if chain.OrgID, err = organizationID(ctx, objects, chain.Bucket, chain.Prefix); err != nil {
					return fail(err)
				}
			}
		}
		if !found {
			return fail(fmt.Errorf("A trail could not be found for %s", trailARN))
		}
	}
	p := &integrity.Printer{Stdout: stdout, Stderr: stderr, Verbose: verbose, TrailARN: trailARN, Start: start, End: end}
	p.Begin()
	keys := apiKeys{client}
	if err := integrity.Validate(ctx, src, keys, chain, start, end, p, integrity.Options{Workers: workers}); err != nil {
		return fail(err)
	}
	p.Summary()
	if code := p.ExitCode(); code != 0 {
		return exitCode(code)
	}
	return nil
}

// organizationID finds the o-… folder of an organisation trail's files. (aws-cli asks
// DescribeOrganization; the key layout holds the same ID, and works offline with --data.)
func organizationID(ctx context.Context, s objstore.Store, bucket, prefix string) (string, error) {
	base := "AWSLogs/"
	if prefix != "" {
		base = prefix + "/" + base
	}
	var id string
	err := s.List(ctx, bucket, base+"o-", "", func(o objstore.Object) bool {
		rest := strings.TrimPrefix(o.Key, base)
		id, _, _ = strings.Cut(rest, "/")
		return false
	})
	if err != nil {
		return "", err
	}
	if id == "" {
		return "", fmt.Errorf("no organisation folder under s3://%s/%s", bucket, base)
	}
	return id, nil
}

// apiKeys asks cairn's ListPublicKeys, as aws-cli does.
type apiKeys struct{ c *cloudtrail.Client }

func (k apiKeys) PublicKeys(ctx context.Context, start, end time.Time) ([]integrity.PublicKey, error) {
	var out []integrity.PublicKey
	p := cloudtrail.NewListPublicKeysPaginator(k.c, &cloudtrail.ListPublicKeysInput{StartTime: aws.Time(start), EndTime: aws.Time(end)})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, err
		}
		for _, pk := range page.PublicKeyList {
			out = append(out, integrity.PublicKey{DER: pk.Value, Fingerprint: aws.ToString(pk.Fingerprint),
				ValidFrom: aws.ToTime(pk.ValidityStartTime), ValidTo: aws.ToTime(pk.ValidityEndTime)})
		}
	}
	return out, nil
}
