package pattern

import (
	"encoding/json"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/cairn-dev/cairn/internal/gen"
)

// loadCIS returns the CIS rule pack of testdata/cis-patterns.json, compiled.
func loadCIS(t testing.TB) map[string]*Pattern {
	t.Helper()
	raw, err := os.ReadFile("testdata/cis-patterns.json")
	if err != nil {
		t.Fatal(err)
	}
	var texts map[string]string
	if err := json.Unmarshal(raw, &texts); err != nil {
		t.Fatal(err)
	}
	out := map[string]*Pattern{}
	for id, text := range texts {
		p, err := Compile(text)
		if err != nil {
			t.Fatalf("CIS %s does not compile: %v", id, err)
		}
		out[id] = p
	}
	return out
}

// cisRule is an independent statement of what each CIS filter means, over
// a record decoded by encoding/json. Missing fields satisfy no comparison,
// including !=.
func cisRule(id string, r map[string]any) bool {
	str := func(path ...string) (string, bool) {
		var v any = r
		for _, k := range path {
			m, ok := v.(map[string]any)
			if !ok {
				return "", false
			}
			if v, ok = m[k]; !ok {
				return "", false
			}
		}
		s, ok := v.(string)
		return s, ok
	}
	is := func(path string, want ...string) bool {
		s, ok := str(strings.Split(path, ".")...)
		return ok && slices.Contains(want, s)
	}
	isNot := func(path, unwanted string) bool {
		s, ok := str(strings.Split(path, ".")...)
		return ok && s != unwanted
	}
	exists := func(path ...string) bool {
		var v any = r
		for _, k := range path {
			m, ok := v.(map[string]any)
			if !ok {
				return false
			}
			if v, ok = m[k]; !ok {
				return false
			}
		}
		return true
	}
	code, hasCode := str("errorCode")
	unauthorized := hasCode && strings.HasSuffix(code, "UnauthorizedOperation")
	denied := hasCode && strings.HasPrefix(code, "AccessDenied")
	notDelivery := isNot("sourceIPAddress", "delivery.logs.amazonaws.com") && isNot("eventName", "HeadBucket")
	switch id {
	case "4.1":
		return unauthorized || denied && notDelivery
	case "4.1-grouped":
		return (unauthorized || denied) && notDelivery
	case "4.1-v1.2":
		return unauthorized || denied
	case "4.2":
		return is("eventName", "ConsoleLogin") && isNot("additionalEventData.MFAUsed", "Yes")
	case "4.2-securityhub":
		return is("eventName", "ConsoleLogin") && isNot("additionalEventData.MFAUsed", "Yes") &&
			is("userIdentity.type", "IAMUser") && is("responseElements.ConsoleLogin", "Success")
	case "4.3":
		return is("userIdentity.type", "Root") && !exists("userIdentity", "invokedBy") && isNot("eventType", "AwsServiceEvent")
	case "4.4":
		return is("eventName", "DeleteGroupPolicy", "DeleteRolePolicy", "DeleteUserPolicy", "PutGroupPolicy", "PutRolePolicy",
			"PutUserPolicy", "CreatePolicy", "DeletePolicy", "CreatePolicyVersion", "DeletePolicyVersion", "AttachRolePolicy",
			"DetachRolePolicy", "AttachUserPolicy", "DetachUserPolicy", "AttachGroupPolicy", "DetachGroupPolicy")
	case "4.5":
		return is("eventName", "CreateTrail", "UpdateTrail", "DeleteTrail", "StartLogging", "StopLogging")
	case "4.6":
		return is("eventName", "ConsoleLogin") && is("errorMessage", "Failed authentication")
	case "4.7":
		return is("eventSource", "kms.amazonaws.com") && is("eventName", "DisableKey", "ScheduleKeyDeletion")
	case "4.8":
		return is("eventSource", "s3.amazonaws.com") && is("eventName", "PutBucketAcl", "PutBucketPolicy", "PutBucketCors",
			"PutBucketLifecycle", "PutBucketReplication", "DeleteBucketPolicy", "DeleteBucketCors", "DeleteBucketLifecycle", "DeleteBucketReplication")
	case "4.9":
		return is("eventSource", "config.amazonaws.com") && is("eventName", "StopConfigurationRecorder", "DeleteDeliveryChannel",
			"PutDeliveryChannel", "PutConfigurationRecorder")
	case "4.10":
		return is("eventName", "AuthorizeSecurityGroupIngress", "AuthorizeSecurityGroupEgress", "RevokeSecurityGroupIngress",
			"RevokeSecurityGroupEgress", "CreateSecurityGroup", "DeleteSecurityGroup")
	case "4.11":
		return is("eventName", "CreateNetworkAcl", "CreateNetworkAclEntry", "DeleteNetworkAcl", "DeleteNetworkAclEntry",
			"ReplaceNetworkAclEntry", "ReplaceNetworkAclAssociation")
	case "4.12":
		return is("eventName", "CreateCustomerGateway", "DeleteCustomerGateway", "AttachInternetGateway", "CreateInternetGateway",
			"DeleteInternetGateway", "DetachInternetGateway")
	case "4.13":
		return is("eventName", "CreateRoute", "CreateRouteTable", "ReplaceRoute", "ReplaceRouteTableAssociation",
			"DeleteRouteTable", "DeleteRoute", "DisassociateRouteTable")
	case "4.14":
		return is("eventName", "CreateVpc", "DeleteVpc", "ModifyVpcAttribute", "AcceptVpcPeeringConnection", "CreateVpcPeeringConnection",
			"DeleteVpcPeeringConnection", "RejectVpcPeeringConnection", "AttachClassicLinkVpc", "DetachClassicLinkVpc",
			"DisableVpcClassicLink", "EnableVpcClassicLink")
	case "4.15":
		return is("eventSource", "organizations.amazonaws.com") && is("eventName", "AcceptHandshake", "AttachPolicy", "CreateAccount",
			"CreateOrganizationalUnit", "CreatePolicy", "DeclineHandshake", "DeleteOrganization", "DeleteOrganizationalUnit",
			"DeletePolicy", "DetachPolicy", "DisablePolicyType", "EnablePolicyType", "InviteAccountToOrganization",
			"LeaveOrganization", "MoveAccount", "RemoveAccountFromOrganization", "UpdatePolicy", "UpdateOrganizationalUnit")
	}
	panic("no predicate for CIS " + id)
}

// TestCISOnGeneratedTraffic runs the CIS pack over realistic generated
// CloudTrail traffic and compares every verdict with cisRule.
func TestCISOnGeneratedTraffic(t *testing.T) {
	rules := loadCIS(t)
	n := 30000
	if testing.Short() || raceEnabled {
		n = 5000
	}
	g := gen.New(gen.Config{Seed: 42})
	start := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	fired := map[string]int{}
	err := g.Spread(n, start, start.Add(24*time.Hour), func(raw []byte) error {
		var rec map[string]any
		if err := json.Unmarshal(raw, &rec); err != nil {
			t.Fatalf("generated record is not JSON: %v", err)
		}
		for id, p := range rules {
			want := cisRule(id, rec)
			if got := p.Match(raw); got != want {
				t.Fatalf("CIS %s on %s: Match = %v, want %v", id, raw, got, want)
			}
			if want {
				fired[id]++
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	// The generator's catalogue covers these rules; a zero count would mean
	// the comparison above proved nothing for them. (StopLogging, for 4.5,
	// is too rare for the shortened run.)
	if n < 30000 {
		return
	}
	for _, id := range []string{"4.1", "4.1-grouped", "4.1-v1.2", "4.2", "4.2-securityhub", "4.3", "4.4", "4.5", "4.6", "4.8", "4.10"} {
		if fired[id] == 0 {
			t.Errorf("CIS %s never fired on %d generated events", id, n)
		}
	}
	t.Logf("rules fired on %d events: %v", n, fired)
}
