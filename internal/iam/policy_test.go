package iam

import (
	"context"
	"errors"
	"strings"
	"testing"
)

func mustPolicy(t *testing.T, doc string) *Policy {
	t.Helper()
	p, err := ParsePolicy([]byte(doc))
	if err != nil {
		t.Fatalf("parse %s: %v", doc, err)
	}
	return p
}

func TestEvaluate(t *testing.T) {
	const trail = "arn:aws:cloudtrail:us-east-1:111122223333:trail/x"
	tests := []struct {
		name     string
		policies []string
		action   string
		resource string
		want     Decision
	}{
		{"no policies", nil, "cloudtrail:LookupEvents", "*", ImplicitDeny},
		{"star allows all", []string{`{"Statement":{"Effect":"Allow","Action":"*","Resource":"*"}}`}, "sns:Publish", "arn:aws:sns:us-east-1:111122223333:t", Allowed},
		{"exact action", []string{`{"Statement":{"Effect":"Allow","Action":"cloudtrail:LookupEvents","Resource":"*"}}`}, "cloudtrail:LookupEvents", "*", Allowed},
		{"action case-insensitive", []string{`{"Statement":{"Effect":"Allow","Action":"CloudTrail:lookupevents","Resource":"*"}}`}, "cloudtrail:LookupEvents", "*", Allowed},
		{"prefix wildcard", []string{`{"Statement":{"Effect":"Allow","Action":["cloudtrail:Get*","cloudtrail:Describe*"],"Resource":"*"}}`}, "cloudtrail:GetTrailStatus", trail, Allowed},
		{"prefix wildcard misses", []string{`{"Statement":{"Effect":"Allow","Action":"cloudtrail:Get*","Resource":"*"}}`}, "cloudtrail:CreateTrail", trail, ImplicitDeny},
		{"question mark", []string{`{"Statement":{"Effect":"Allow","Action":"logs:?etLogEvents","Resource":"*"}}`}, "logs:GetLogEvents", "*", Allowed},
		{"question mark is one character", []string{`{"Statement":{"Effect":"Allow","Action":"logs:?LogEvents","Resource":"*"}}`}, "logs:GetLogEvents", "*", ImplicitDeny},
		{"other service", []string{`{"Statement":{"Effect":"Allow","Action":"cloudtrail:*","Resource":"*"}}`}, "cloudtrail-data:PutAuditEvents", "*", ImplicitDeny},
		{"NotAction allows the rest", []string{`{"Statement":{"Effect":"Allow","NotAction":"cloudtrail:Delete*","Resource":"*"}}`}, "cloudtrail:CreateTrail", trail, Allowed},
		{"NotAction excludes", []string{`{"Statement":{"Effect":"Allow","NotAction":"cloudtrail:Delete*","Resource":"*"}}`}, "cloudtrail:DeleteTrail", trail, ImplicitDeny},
		{"resource exact", []string{`{"Statement":{"Effect":"Allow","Action":"cloudtrail:*","Resource":"` + trail + `"}}`}, "cloudtrail:StartLogging", trail, Allowed},
		{"resource wildcard", []string{`{"Statement":{"Effect":"Allow","Action":"cloudtrail:*","Resource":"arn:aws:cloudtrail:*:111122223333:trail/*"}}`}, "cloudtrail:StartLogging", trail, Allowed},
		{"resource other trail", []string{`{"Statement":{"Effect":"Allow","Action":"cloudtrail:*","Resource":"arn:aws:cloudtrail:*:111122223333:trail/y"}}`}, "cloudtrail:StartLogging", trail, ImplicitDeny},
		{"resource case-sensitive", []string{`{"Statement":{"Effect":"Allow","Action":"cloudtrail:*","Resource":"arn:aws:cloudtrail:us-east-1:111122223333:trail/X"}}`}, "cloudtrail:StartLogging", trail, ImplicitDeny},
		{"field wildcards", []string{`{"Statement":{"Effect":"Allow","Action":"*","Resource":"arn:aws:cloudtrail:*:*:trail/x"}}`}, "cloudtrail:StartLogging", trail, Allowed},
		{"other account", []string{`{"Statement":{"Effect":"Allow","Action":"*","Resource":"arn:aws:cloudtrail:us-east-1:111122223333:*"}}`}, "cloudtrail:StartLogging", "arn:aws:cloudtrail:us-east-1:444455556666:trail/x", ImplicitDeny},
		{"resource wildcard spans colons", []string{`{"Statement":{"Effect":"Allow","Action":"*","Resource":"arn:aws:logs:us-east-1:111122223333:log-group:app*"}}`}, "logs:PutLogEvents", "arn:aws:logs:us-east-1:111122223333:log-group:app:log-stream:s1", Allowed},
		{"specific resource misses star", []string{`{"Statement":{"Effect":"Allow","Action":"*","Resource":"` + trail + `"}}`}, "cloudtrail:DescribeTrails", "*", ImplicitDeny},
		{"NotResource", []string{`{"Statement":{"Effect":"Allow","Action":"*","NotResource":"` + trail + `"}}`}, "cloudtrail:DeleteTrail", trail, ImplicitDeny},
		{"deny wins in one policy", []string{`{"Statement":[{"Effect":"Allow","Action":"*","Resource":"*"},{"Effect":"Deny","Action":"cloudtrail:StopLogging","Resource":"*"}]}`}, "cloudtrail:StopLogging", trail, ExplicitDeny},
		{"deny wins across policies", []string{`{"Statement":{"Effect":"Deny","Action":"cloudtrail:*","Resource":"` + trail + `"}}`, `{"Statement":{"Effect":"Allow","Action":"*","Resource":"*"}}`}, "cloudtrail:DeleteTrail", trail, ExplicitDeny},
		{"deny elsewhere does not deny", []string{`{"Statement":[{"Effect":"Allow","Action":"*","Resource":"*"},{"Effect":"Deny","Action":"sns:*","Resource":"*"}]}`}, "cloudtrail:DeleteTrail", trail, Allowed},
		{"deny alone is still a deny", []string{`{"Statement":{"Effect":"Deny","Action":"*","Resource":"*"}}`}, "logs:CreateLogGroup", "*", ExplicitDeny},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var ps []*Policy
			for _, doc := range tt.policies {
				ps = append(ps, mustPolicy(t, doc))
			}
			if got := Evaluate(ps, tt.action, tt.resource); got != tt.want {
				t.Errorf("Evaluate(%s on %s) = %v, want %v", tt.action, tt.resource, got, tt.want)
			}
		})
	}
}

func TestParsePolicyRefuses(t *testing.T) {
	tests := []struct{ doc, want string }{
		{`[]`, "not a JSON object"},
		{`{"Version":"2012-10-17"}`, "no Statement"},
		{`{"Statement":[]}`, "Statement is empty"},
		{`{"Version":"2020-01-01","Statement":{"Effect":"Allow","Action":"*","Resource":"*"}}`, `Version "2020-01-01"`},
		{`{"Statment":[]}`, `unknown top-level element "Statment"`},
		{`{"Statement":"x"}`, "want an object or a list"},
		{`{"Statement":{"Effect":"allow","Action":"*","Resource":"*"}}`, `Statement 1: Effect "allow": want "Allow" or "Deny"`},
		{`{"Statement":{"Action":"*","Resource":"*"}}`, "Effect is missing"},
		{`{"Statement":[{"Effect":"Allow","Action":"*","Resource":"*"},{"Effect":"Allow","Resource":"*"}]}`, "Statement 2: has neither Action nor NotAction"},
		{`{"Statement":{"Effect":"Allow","Action":"*","NotAction":"sns:*","Resource":"*"}}`, "has both Action and NotAction"},
		{`{"Statement":{"Effect":"Allow","Action":"*"}}`, "has neither Resource nor NotResource"},
		{`{"Statement":{"Effect":"Allow","Action":"LookupEvents","Resource":"*"}}`, `Action "LookupEvents": want "*" or service:Operation`},
		{`{"Statement":{"Effect":"Allow","Action":[],"Resource":"*"}}`, "Action is empty"},
		{`{"Statement":{"Effect":"Allow","Action":42,"Resource":"*"}}`, "Action: want a string or a list of strings"},
		{`{"Statement":{"Effect":"Allow","Action":"*","Resource":"trail/x"}}`, `Resource "trail/x": want "*" or an ARN`},
		{`{"Statement":{"Effect":"Allow","Action":"*","Resource":"arn:aws:iam::111122223333:user/${aws:username}"}}`, "policy variables are not supported"},
		{`{"Statement":{"Effect":"Allow","Action":"*","Resource":"*","Condition":{"Bool":{"aws:SecureTransport":"true"}}}}`, "Condition is not supported"},
		{`{"Statement":{"Effect":"Allow","Principal":"*","Action":"*","Resource":"*"}}`, "must not name a principal"},
		{`{"Statement":{"Effect":"Allow","Actions":"*","Resource":"*"}}`, `unknown element "Actions"`},
		{`{"Statement":{"Sid":"no spaces","Effect":"Allow","Action":"*","Resource":"*"}}`, "Sid"},
	}
	for _, tt := range tests {
		_, err := ParsePolicy([]byte(tt.doc))
		if !errors.Is(err, ErrMalformedPolicy) || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("ParsePolicy(%s) = %v, want MalformedPolicyDocument naming %q", tt.doc, err, tt.want)
		}
	}
}

func TestManagedPoliciesParse(t *testing.T) {
	for _, name := range ManagedPolicyNames() {
		if _, _, err := ManagedPolicy(ManagedPolicyARNPrefix + name); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
	if _, _, err := ManagedPolicy("PowerUserAccess"); !errors.Is(err, ErrNotFound) {
		t.Errorf("unknown managed policy: %v", err)
	}
}

func TestAuthorizeUsers(t *testing.T) {
	ctx := context.Background()
	s := newStore(t, t.TempDir())
	if _, err := s.Bootstrap(ctx, BootstrapConfig{AccountID: "111122223333"}); err != nil {
		t.Fatal(err)
	}
	const acct = "111122223333"
	if _, err := s.CreateUser(ctx, acct, "alice"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.CreateUser(ctx, acct, "Alice"); !errors.Is(err, ErrExists) {
		t.Errorf("user names differing in case: %v, want ErrExists", err)
	}
	if _, err := s.CreateUser(ctx, acct, "root"); err == nil {
		t.Error("a user named root was created")
	}
	if err := s.AttachUserPolicy(ctx, acct, "alice", "arn:aws:iam::aws:policy/ReadOnlyAccess"); err != nil {
		t.Fatal(err)
	}
	if err := s.PutUserPolicy(ctx, acct, "ALICE", "NoTrailReads", []byte(`{"Version":"2012-10-17","Statement":{"Effect":"Deny","Action":"cloudtrail:GetTrail","Resource":"*"}}`)); err != nil {
		t.Fatal(err)
	}
	if err := s.PutUserPolicy(ctx, acct, "alice", "Bad", []byte(`{"Statement":{"Effect":"Allow","Action":"*"}}`)); !errors.Is(err, ErrMalformedPolicy) {
		t.Errorf("malformed document stored: %v", err)
	}
	if err := s.PutUserPolicy(ctx, acct, "bob", "P", []byte(`{"Statement":{"Effect":"Allow","Action":"*","Resource":"*"}}`)); !errors.Is(err, ErrNotFound) {
		t.Errorf("policy for a missing user: %v", err)
	}
	key, err := s.CreateUserAccessKey(ctx, acct, "alice")
	if err != nil {
		t.Fatal(err)
	}
	alice, _, err := s.Lookup(ctx, key.ID)
	if err != nil || alice.UserName != "alice" {
		t.Fatalf("lookup alice's key: %+v %v", alice, err)
	}
	root := Principal{AccountID: acct}
	for _, tt := range []struct {
		p      Principal
		action string
		want   Decision
	}{
		{alice, "cloudtrail:LookupEvents", Allowed},
		{alice, "cloudtrail:CreateTrail", ImplicitDeny},
		{alice, "cloudtrail:GetTrail", ExplicitDeny},
		{root, "cloudtrail:CreateTrail", Allowed},
	} {
		got, err := s.Authorize(ctx, tt.p, tt.action, "*")
		if err != nil || got != tt.want {
			t.Errorf("Authorize(%s, %s) = %v, %v; want %v", tt.p.ARN(), tt.action, got, err, tt.want)
		}
	}
	users, err := s.Users(ctx, acct)
	if err != nil || len(users) != 1 || strings.Join(users[0].Attached, ",") != "ReadOnlyAccess" || strings.Join(users[0].Policies, ",") != "NoTrailReads" {
		t.Errorf("Users = %+v, %v", users, err)
	}
}

// BenchmarkAuthorize is the cost a user's call pays: the policies read from the database and
// evaluated (one managed, one inline).
func BenchmarkAuthorize(b *testing.B) {
	ctx := context.Background()
	s := newStore(b, b.TempDir())
	const acct = "111122223333"
	if _, err := s.Bootstrap(ctx, BootstrapConfig{AccountID: acct}); err != nil {
		b.Fatal(err)
	}
	if _, err := s.CreateUser(ctx, acct, "alice"); err != nil {
		b.Fatal(err)
	}
	if err := s.AttachUserPolicy(ctx, acct, "alice", "ReadOnlyAccess"); err != nil {
		b.Fatal(err)
	}
	if err := s.PutUserPolicy(ctx, acct, "alice", "NoStop", []byte(`{"Statement":{"Effect":"Deny","Action":"cloudtrail:StopLogging","Resource":"*"}}`)); err != nil {
		b.Fatal(err)
	}
	alice := Principal{AccountID: acct, UserName: "alice"}
	for b.Loop() {
		if d, err := s.Authorize(ctx, alice, "cloudtrail:LookupEvents", "*"); err != nil || d != Allowed {
			b.Fatal(d, err)
		}
	}
}
