package console

import (
	"context"
	"net/http"
	"net/url"
	"testing"

	"github.com/cairn-dev/cairn/internal/logs"
)

// A signed-in IAM user is held to their policies as the API holds them: pages showing what a
// call they may not make answers are refused, changes they may not make are refused and not
// made, and every refusal is recorded with the service's error code.
func TestConsoleAppliesPolicies(t *testing.T) {
	m := newMonitorFixture(t)
	ctx := context.Background()
	const user, password = "auditor", "auditor-password-1"
	if _, err := m.accounts.CreateUser(ctx, testAccount, user); err != nil {
		t.Fatal(err)
	}
	if err := m.accounts.SetPassword(ctx, testAccount, user, password); err != nil {
		t.Fatal(err)
	}
	policy := `{"Version": "2012-10-17", "Statement": [
		{"Effect": "Allow", "Action": "logs:Describe*", "Resource": "*"},
		{"Effect": "Allow", "Action": "cloudwatch:DescribeAlarms", "Resource": "arn:aws:cloudwatch:*:*:alarm:team-*"},
		{"Effect": "Deny", "Action": "logs:DescribeMetricFilters", "Resource": "arn:aws:logs:*:*:log-group:secret*"}]}`
	if err := m.accounts.PutUserPolicy(ctx, testAccount, user, "read-some", []byte(policy)); err != nil {
		t.Fatal(err)
	}
	cl := m.client()
	if w := cl.signInAs(user, password); w.Code != http.StatusSeeOther {
		t.Fatalf("sign in as %s: %d\n%s", user, w.Code, w.Body)
	}
	const who = "User: arn:aws:iam::" + testAccount + ":user/" + user + " is not authorized to perform: "
	for _, tc := range []struct {
		path   string
		status int
		want   string
	}{
		{"/console/events", http.StatusForbidden, "AccessDeniedException: " + who + "cloudtrail:LookupEvents because"},
		{"/console/loggroups", http.StatusOK, "Log groups"},
		{"/console/topics", http.StatusForbidden, "AuthorizationError: " + who + "sns:ListTopics because no identity-based policy allows the sns:ListTopics action"},
		{"/console/alarms", http.StatusForbidden, "AccessDenied: " + who + "cloudwatch:DescribeAlarms because"},
		{"/console/alarms/show?name=team-errors", http.StatusNotFound, "Alarm team-errors does not exist."},
		{"/console/alarms/show?name=other", http.StatusForbidden, "cloudwatch:DescribeAlarms on resource: arn:aws:cloudwatch:us-east-1:" + testAccount + ":alarm:other because"},
		{"/console/loggroups/secret-group", http.StatusForbidden, "logs:DescribeMetricFilters on resource: arn:aws:logs:us-east-1:" + testAccount + ":log-group:secret-group with an explicit deny in an identity-based policy"},
	} {
		wantPage(t, cl.do("GET", tc.path, nil), tc.status, tc.want)
	}

	// A change the policies do not allow is refused with the API's exception, and not made.
	w := cl.post("/console/loggroups", "/console/loggroups", url.Values{"name": {"app"}, "retention": {""}})
	wantPage(t, w, http.StatusForbidden, "AccessDeniedException: "+who+"logs:CreateLogGroup on resource: arn:aws:logs:us-east-1:"+testAccount+":log-group:app because")
	if _, err := m.logs.Group(ctx, logs.Scope{Account: testAccount, Region: "us-east-1"}, "app"); err == nil {
		t.Error("a refused CreateLogGroup created the log group")
	}

	// Both refusals of a call are recorded: the page and the change.
	recs := m.audited(logsSource, 2)
	var denied int
	for _, r := range recs {
		if r.ErrorCode == "AccessDeniedException" && r.UserIdentity.UserName == user {
			denied++
		}
	}
	if denied != 2 {
		t.Errorf("%d refused logs calls recorded, want 2 (DescribeMetricFilters, CreateLogGroup)", denied)
	}
	if sns := m.audited(snsSource, 1); len(sns) != 1 || sns[0].EventName != "ListTopics" || sns[0].ErrorCode != "AuthorizationError" ||
		sns[0].ReadOnly == nil || !*sns[0].ReadOnly {
		t.Errorf("refused ListTopics recorded as %+v", sns)
	}

	// The root user is not held to any policy.
	root := m.signedIn()
	wantRedirect(t, root.post("/console/loggroups", "/console/loggroups", url.Values{"name": {"app"}, "retention": {""}}), "/console/loggroups/app")
}
