package api

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/cairn-dev/cairn/internal/iam"
)

// rootOf signs every key in as the root user of *account.
type rootOf struct{ account *string }

func (r rootOf) Lookup(ctx context.Context, id string) (iam.Principal, string, error) {
	return iam.Principal{AccountID: *r.account, AccessKeyID: id}, "secret", nil
}

func (rootOf) Authorize(context.Context, iam.Principal, string, string) (iam.Decision, error) {
	return iam.Allowed, nil
}

// oneOrg is an organisation of three accounts, managed by 111122223333; 999999999999 is in none.
type oneOrg struct{}

var orgJoined = time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)

func (oneOrg) OrganizationOf(ctx context.Context, account string) (iam.Organization, error) {
	if account == "999999999999" {
		return iam.Organization{}, iam.ErrNoOrganization
	}
	return iam.Organization{ID: "o-abcdefghij", ManagementAccount: "111122223333", Accounts: []string{"111122223333", "222233334444", "444455556666"}}, nil
}

func (oneOrg) Members(ctx context.Context, orgID string) ([]iam.Member, error) {
	return []iam.Member{{AccountID: "111122223333", Alias: "ops", Joined: orgJoined}, {AccountID: "222233334444", Joined: orgJoined}, {AccountID: "444455556666", Joined: orgJoined}}, nil
}

func TestOrganizations(t *testing.T) {
	account := "111122223333"
	ts := httptest.NewServer(New(Config{Accounts: rootOf{&account}, Organizations: oneOrg{}, Logger: slog.New(slog.DiscardHandler)}))
	t.Cleanup(ts.Close)
	call := func(op, body string) (int, map[string]any) {
		t.Helper()
		resp := signedAs(t, ts.URL+"/", "organizations", []byte(body),
			map[string]string{"X-Amz-Target": "AWSOrganizationsV20161128." + op, "Content-Type": "application/x-amz-json-1.1"})
		b, _ := io.ReadAll(resp.Body)
		var out map[string]any
		if err := json.Unmarshal(b, &out); err != nil {
			t.Fatalf("%s: %v: %s", op, err, b)
		}
		return resp.StatusCode, out
	}
	tests := []struct {
		account, op, body string
		status            int
		want              string // the JSON answer, or its __type and message
	}{
		{"222233334444", "DescribeOrganization", `{}`, 200, `{"Organization":{"Arn":"arn:aws:organizations::111122223333:organization/o-abcdefghij","AvailablePolicyTypes":[],"FeatureSet":"ALL","Id":"o-abcdefghij","MasterAccountArn":"arn:aws:organizations::111122223333:account/o-abcdefghij/111122223333","MasterAccountId":"111122223333"}}`},
		{"999999999999", "DescribeOrganization", `{}`, 400, `{"__type":"AWSOrganizationsNotInUseException","message":"Your account is not a member of an organization."}`},
		{"111122223333", "ListAccounts", `{"MaxResults":2}`, 200, `{"Accounts":[{"Arn":"arn:aws:organizations::111122223333:account/o-abcdefghij/111122223333","Id":"111122223333","JoinedTimestamp":1.772600767e+09,"Name":"ops","State":"ACTIVE","Status":"ACTIVE"},{"Arn":"arn:aws:organizations::111122223333:account/o-abcdefghij/222233334444","Id":"222233334444","JoinedTimestamp":1.772600767e+09,"State":"ACTIVE","Status":"ACTIVE"}],"NextToken":"MjIyMjMzMzM0NDQ0"}`},
		{"111122223333", "ListAccounts", `{"MaxResults":2,"NextToken":"MjIyMjMzMzM0NDQ0"}`, 200, `{"Accounts":[{"Arn":"arn:aws:organizations::111122223333:account/o-abcdefghij/444455556666","Id":"444455556666","JoinedTimestamp":1.772600767e+09,"State":"ACTIVE","Status":"ACTIVE"}]}`},
		{"111122223333", "ListAccounts", `{"MaxResults":21}`, 400, `{"__type":"InvalidInputException","message":"You provided a value that is outside the allowed range: MaxResults 21 is not between 1 and 20."}`},
		{"111122223333", "ListAccounts", `{"NextToken":"bogus"}`, 400, `{"__type":"InvalidInputException","message":"You specified an invalid value for nextToken."}`},
		{"222233334444", "ListAccounts", `{}`, 400, `{"__type":"AccessDeniedException","message":"You don't have permissions to access this resource."}`},
		{"111122223333", "DescribeAccount", `{"AccountId":"444455556666"}`, 200, `{"Account":{"Arn":"arn:aws:organizations::111122223333:account/o-abcdefghij/444455556666","Id":"444455556666","JoinedTimestamp":1.772600767e+09,"State":"ACTIVE","Status":"ACTIVE"}}`},
		{"111122223333", "DescribeAccount", `{"AccountId":"555555555555"}`, 400, `{"__type":"AccountNotFoundException","message":"You specified an account that doesn't exist."}`},
		{"111122223333", "DescribeAccount", `{"AccountId":"55"}`, 400, `{"__type":"InvalidInputException","message":"You provided a value that does not match the required pattern: AccountId \"55\" is not 12 digits."}`},
		{"111122223333", "CreateOrganization", `{}`, 400, `{"__type":"UnknownOperationException","message":"Operation CreateOrganization is not supported by this cairn server; organisations are changed with cairn org."}`},
	}
	for _, tt := range tests {
		account = tt.account
		status, got := call(tt.op, tt.body)
		gotJSON, _ := json.Marshal(got)
		var want map[string]any
		if err := json.Unmarshal([]byte(tt.want), &want); err != nil {
			t.Fatal(err)
		}
		wantJSON, _ := json.Marshal(want)
		if status != tt.status || string(gotJSON) != string(wantJSON) {
			t.Errorf("%s %s as %s: %d %s\nwant %d %s", tt.op, tt.body, tt.account, status, gotJSON, tt.status, wantJSON)
		}
	}
}
