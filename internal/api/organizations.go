package api

import (
	"context"
	"encoding/base64"
	"errors"
	"regexp"
	"slices"

	"github.com/cairn-dev/cairn/internal/api/awsproto"
	"github.com/cairn-dev/cairn/internal/iam"
	"github.com/cairn-dev/cairn/internal/recorder"
)

// organizationsTarget is the service prefix of AWS Organizations' X-Amz-Target (awsJson1_1).
const organizationsTarget = "AWSOrganizationsV20161128"

// Organizations is what the Organizations API reads of internal/iam's organisation model.
type Organizations interface {
	OrganizationOf(ctx context.Context, account string) (iam.Organization, error)
	Members(ctx context.Context, orgID string) ([]iam.Member, error)
}

// organizations serves the read side of AWS Organizations over cairn's organisation model:
// enough for clients that ask which organisation they are in, as aws cloudtrail validate-logs
// does for an organisation trail. Organisations are changed with cairn org.
func (s *Server) organizations(c *call) {
	if !c.jsonOperation(organizationsTarget) {
		return
	}
	op := c.op
	c.readOnly = recorder.ReadOnlyOperation(op)
	c.params = lowerCamelJSON(c.body)
	handler, ok := map[string]operation{
		"DescribeOrganization": s.describeOrganization,
		"DescribeAccount":      s.describeAccount,
		"ListAccounts":         s.listAccounts,
	}[op]
	if !ok {
		c.fail(awsproto.Errorf("UnknownOperationException", "Operation %s is not supported by this cairn server; organisations are changed with cairn org.", op), jsonError)
		return
	}
	if e := s.authorize(c, "organizations"); e != nil {
		c.fail(e, jsonError)
		return
	}
	handler(c)
}

// orgShape is the Organization structure of DescribeOrganization.
type orgShape struct {
	Id, Arn, FeatureSet, MasterAccountArn, MasterAccountId string
	AvailablePolicyTypes                                   []struct{} // deprecated by AWS; no policy types here
}

// accountShape is the Account structure of DescribeAccount and ListAccounts.
type accountShape struct {
	Id, Arn         string
	Name            string `json:",omitempty"`
	Status, State   string
	JoinedTimestamp awsproto.Timestamp
}

func orgARN(o iam.Organization) string {
	return "arn:aws:organizations::" + o.ManagementAccount + ":organization/" + o.ID
}

func orgAccountARN(o iam.Organization, account string) string {
	return "arn:aws:organizations::" + o.ManagementAccount + ":account/" + o.ID + "/" + account
}

// callerOrganization is the organisation of the caller's account, or the error to answer.
func (s *Server) callerOrganization(c *call) (iam.Organization, bool) {
	o, err := s.cfg.Organizations.OrganizationOf(c.r.Context(), c.principal.AccountID)
	switch {
	case errors.Is(err, iam.ErrNoOrganization):
		c.fail(awsproto.Errorf("AWSOrganizationsNotInUseException", "Your account is not a member of an organization."), jsonError)
		return o, false
	case err != nil:
		s.cfg.Logger.Error("read organisation", "request", c.id, "err", err)
		c.fail(awsproto.Internal(c.id), jsonError)
		return o, false
	}
	return o, true
}

func (s *Server) describeOrganization(c *call) {
	o, ok := s.callerOrganization(c)
	if !ok {
		return
	}
	s.reply(c, struct{ Organization orgShape }{orgShape{Id: o.ID, Arn: orgARN(o), FeatureSet: "ALL",
		MasterAccountArn: orgAccountARN(o, o.ManagementAccount), MasterAccountId: o.ManagementAccount, AvailablePolicyTypes: []struct{}{}}})
}

// managedAccounts are the accounts of the caller's organisation, by account ID, when the caller
// is its management account: only that account may list and describe them.
func (s *Server) managedAccounts(c *call) ([]accountShape, bool) {
	o, ok := s.callerOrganization(c)
	if !ok {
		return nil, false
	}
	if o.ManagementAccount != c.principal.AccountID {
		c.fail(awsproto.Errorf("AccessDeniedException", "You don't have permissions to access this resource."), jsonError)
		return nil, false
	}
	ms, err := s.cfg.Organizations.Members(c.r.Context(), o.ID)
	if err != nil {
		s.cfg.Logger.Error("read organisation members", "request", c.id, "err", err)
		c.fail(awsproto.Internal(c.id), jsonError)
		return nil, false
	}
	out := make([]accountShape, len(ms))
	for i, m := range ms {
		out[i] = accountShape{Id: m.AccountID, Arn: orgAccountARN(o, m.AccountID), Name: m.Alias, Status: "ACTIVE", State: "ACTIVE",
			JoinedTimestamp: awsproto.Timestamp{Time: m.Joined}}
	}
	return out, true
}

func (s *Server) describeAccount(c *call) {
	var in struct{ AccountId string }
	if !s.decode(c, &in) {
		return
	}
	if !accountIDRE.MatchString(in.AccountId) {
		c.fail(awsproto.Errorf("InvalidInputException", "You provided a value that does not match the required pattern: AccountId %q is not 12 digits.", in.AccountId), jsonError)
		return
	}
	accounts, ok := s.managedAccounts(c)
	if !ok {
		return
	}
	i := slices.IndexFunc(accounts, func(a accountShape) bool { return a.Id == in.AccountId })
	if i < 0 {
		c.fail(awsproto.Errorf("AccountNotFoundException", "You specified an account that doesn't exist."), jsonError)
		return
	}
	s.reply(c, struct{ Account accountShape }{accounts[i]})
}

// listAccounts pages the organisation's accounts by account ID; NextToken is the last account
// ID of the page before.
func (s *Server) listAccounts(c *call) {
	var in struct {
		MaxResults *int
		NextToken  string
	}
	if !s.decode(c, &in) {
		return
	}
	limit := 20
	if in.MaxResults != nil {
		if *in.MaxResults < 1 || *in.MaxResults > 20 {
			c.fail(awsproto.Errorf("InvalidInputException", "You provided a value that is outside the allowed range: MaxResults %d is not between 1 and 20.", *in.MaxResults), jsonError)
			return
		}
		limit = *in.MaxResults
	}
	var after string
	if in.NextToken != "" {
		b, err := base64.RawURLEncoding.DecodeString(in.NextToken)
		if err != nil || !accountIDRE.Match(b) {
			c.fail(awsproto.Errorf("InvalidInputException", "You specified an invalid value for nextToken."), jsonError)
			return
		}
		after = string(b)
	}
	accounts, ok := s.managedAccounts(c)
	if !ok {
		return
	}
	start := 0
	for start < len(accounts) && accounts[start].Id <= after {
		start++
	}
	page := accounts[start:]
	out := struct {
		Accounts  []accountShape
		NextToken string `json:",omitempty"`
	}{Accounts: page}
	if len(page) > limit {
		out.Accounts = page[:limit]
		out.NextToken = base64.RawURLEncoding.EncodeToString([]byte(page[limit-1].Id))
	}
	s.reply(c, out)
}

var accountIDRE = regexp.MustCompile(`^[0-9]{12}$`)
