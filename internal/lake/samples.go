package lake

import (
	"embed"
	"fmt"
	"strings"
)

// samplesFS holds the sample queries: the seed scenarios' questions and AWS's published Lake
// samples (reference cloudtrail.md §5.5), verbatim but for how they name their stores. The
// conformance test runs every one of them; the console offers those that read one store.
//
//go:embed samples/*.sql
var samplesFS embed.FS

// Sample is a query offered as a starting point.
type Sample struct {
	Title, Source, SQL string
}

// offered lists the samples users are offered, in order: files in samples/ with their titles.
// AWS's samples 06 and 07 need several stores and are left out.
var offered = []struct{ file, title, source string }{
	{"s1-count-by-identity-type", "Events by identity type", "cairn"},
	{"s0-most-frequent-calls", "Most frequent calls", "cairn"},
	{"01-principal-ids", "CreateBucket calls on one day, by principal", "AWS user guide"},
	{"02-user-called-apis", "What user bob did on one day", "AWS user guide"},
	{"03-apis-by-source-and-name", "Calls by event source and name", "AWS user guide"},
	{"04-console-logins-in-regions", "Console sign-ins in us-east-1 and us-west-2", "AWS user guide"},
	{"05-lake-queries-january", "Lake queries run (StartQuery events)", "AWS user guide"},
	{"08-console-login-with-no-mfa", "Console sign-ins without MFA", awsSamples},
	{"09-cross-account-access", "Cross-account access", awsSamples},
	{"10-tls-version", "Calls not using TLS 1.3", awsSamples},
	{"11-iam-access-key-activity", "Activity of one access key", awsSamples},
	{"12-tag-history-by-resource", "Tag changes by resource", awsSamples},
	{"13-s3-buckets-using-acls", "S3 buckets that need ACLs", awsSamples},
	{"14-data-by-week-day", "Data events by day of the week", awsSamples},
	{"15-ssm-patch-compliance-selected-ec2-instance", "SSM patch compliance of one instance (AWS Config store)", awsSamples},
}

const awsSamples = "aws-samples/cloud-trail-lake-query-samples"

// SamplePlaceholders are the ways the samples name the event data store they read, longest
// first so that a replacement never cuts into a longer one.
var SamplePlaceholders = []string{"config_event_data_store_ID", "event_data_store_ID", "$EDS_ID", "<EDS ID>", "<EDS_ID>", "<table>"}

// Samples returns the samples offered to users, each line trimmed of trailing blanks.
func Samples() ([]Sample, error) {
	out := make([]Sample, 0, len(offered))
	for _, o := range offered {
		b, err := samplesFS.ReadFile("samples/" + o.file + ".sql")
		if err != nil {
			return nil, fmt.Errorf("read sample %s: %w", o.file, err)
		}
		lines := strings.Split(strings.TrimSpace(string(b)), "\n")
		for i, l := range lines {
			lines[i] = strings.TrimRight(l, " \t\r")
		}
		out = append(out, Sample{Title: o.title, Source: o.source, SQL: strings.Join(lines, "\n")})
	}
	return out, nil
}
