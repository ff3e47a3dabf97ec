package integration

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/cloudtrail"
	"github.com/aws/aws-sdk-go-v2/service/cloudtrail/types"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	"github.com/aws/smithy-go"

	"github.com/cairn-dev/cairn/internal/cairntest"
)

// cairnIAM runs cairn iam on the server's data directory, beside the running server.
func cairnIAM(t *testing.T, s *cairntest.Server, args ...string) string {
	t.Helper()
	out, err := exec.Command(cairntest.Binary(t), append(append([]string{"iam"}, args...), "--data", s.Data)...).CombinedOutput()
	if err != nil {
		t.Fatalf("cairn iam %v: %v\n%s", args, err, out)
	}
	return string(out)
}

// A user made with cairn iam, with ReadOnlyAccess and an inline Deny: reads work, writes and
// the denied read answer each protocol's access-denied error in AWS's wording, and each refusal
// is recorded as an event the user can look up.
func TestIAMPolicies(t *testing.T) {
	s := cairntest.Start(t)
	ctx := context.Background()
	cairnIAM(t, s, "create-user", "--user", "alice")
	cairnIAM(t, s, "attach-user-policy", "--user", "alice", "--policy-arn", "arn:aws:iam::aws:policy/ReadOnlyAccess")
	cairnIAM(t, s, "put-user-policy", "--user", "alice", "--policy-name", "NoTrailList",
		"--policy-document", `{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Action":"cloudtrail:DescribeTrails","Resource":"*"}]}`)
	env := map[string]string{}
	for _, line := range strings.Split(strings.TrimSpace(cairnIAM(t, s, "create-access-key", "--user", "alice")), "\n") {
		k, v, _ := strings.Cut(line, "=")
		env[k] = v
	}
	if !strings.HasPrefix(env["AWS_ACCESS_KEY_ID"], "AKIA") || len(env["AWS_SECRET_ACCESS_KEY"]) != 40 {
		t.Fatalf("create-access-key printed %v", env)
	}
	if out := cairnIAM(t, s, "list-users"); !strings.Contains(out, "alice") || !strings.Contains(out, "ReadOnlyAccess") || !strings.Contains(out, "NoTrailList") {
		t.Errorf("list-users:\n%s", out)
	}
	cfg := s.AWSConfig()
	cfg.Credentials = credentials.NewStaticCredentialsProvider(env["AWS_ACCESS_KEY_ID"], env["AWS_SECRET_ACCESS_KEY"], "")
	alice := cloudtrail.NewFromConfig(cfg)

	if _, err := alice.LookupEvents(ctx, &cloudtrail.LookupEventsInput{}); err != nil {
		t.Fatalf("alice's LookupEvents: %v", err)
	}
	const who = "User: arn:aws:iam::111122223333:user/alice is not authorized to perform: "
	denied := []struct {
		call            func() error
		code, message   string
		status          int
		eventName, from string
	}{
		{func() error {
			_, err := alice.CreateTrail(ctx, &cloudtrail.CreateTrailInput{Name: aws.String("x"), S3BucketName: aws.String("b")})
			return err
		}, "AccessDeniedException", who + "cloudtrail:CreateTrail on resource: arn:aws:cloudtrail:us-east-1:111122223333:trail/x because no identity-based policy allows the cloudtrail:CreateTrail action",
			http.StatusBadRequest, "CreateTrail", "cloudtrail.amazonaws.com"},
		{func() error {
			_, err := alice.DescribeTrails(ctx, &cloudtrail.DescribeTrailsInput{})
			return err
		}, "AccessDeniedException", who + "cloudtrail:DescribeTrails with an explicit deny in an identity-based policy",
			http.StatusBadRequest, "DescribeTrails", "cloudtrail.amazonaws.com"},
		{func() error {
			_, err := sns.NewFromConfig(cfg).CreateTopic(ctx, &sns.CreateTopicInput{Name: aws.String("t")})
			return err
		}, "AuthorizationError", who + "sns:CreateTopic on resource: arn:aws:sns:us-east-1:111122223333:t because no identity-based policy allows the sns:CreateTopic action",
			http.StatusForbidden, "CreateTopic", "sns.amazonaws.com"},
	}
	for _, d := range denied {
		err := d.call()
		assertAPIError(t, err, d.code, d.status)
		var ae smithy.APIError
		if errors.As(err, &ae) && ae.ErrorMessage() != d.message {
			t.Errorf("%s message:\n got %s\nwant %s", d.eventName, ae.ErrorMessage(), d.message)
		}
	}

	// Alice may look up her own refusals.
	for _, d := range denied {
		cairntest.WaitFor(t, 5*time.Second, d.eventName+" refusal recorded", func() bool {
			out, err := alice.LookupEvents(ctx, &cloudtrail.LookupEventsInput{LookupAttributes: []types.LookupAttribute{
				{AttributeKey: types.LookupAttributeKeyEventName, AttributeValue: aws.String(d.eventName)}}})
			if err != nil {
				t.Fatalf("lookup %s: %v", d.eventName, err)
			}
			for _, e := range out.Events {
				var rec struct {
					EventSource, ErrorCode, ErrorMessage string
					UserIdentity                         struct{ Type, UserName string }
				}
				json.Unmarshal([]byte(aws.ToString(e.CloudTrailEvent)), &rec)
				if rec.EventSource == d.from && rec.ErrorCode == d.code && rec.ErrorMessage == d.message &&
					rec.UserIdentity.Type == "IAMUser" && rec.UserIdentity.UserName == "alice" {
					return true
				}
			}
			return false
		})
	}

	// The root user is not restricted by any policy.
	if _, err := cloudtrail.NewFromConfig(s.AWSConfig()).DescribeTrails(ctx, &cloudtrail.DescribeTrailsInput{}); err != nil {
		t.Errorf("root's DescribeTrails: %v", err)
	}
}
