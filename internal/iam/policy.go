package iam

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"sort"
	"strings"
)

// ErrMalformedPolicy wraps every reason a policy document is refused, as IAM's
// MalformedPolicyDocument error does.
var ErrMalformedPolicy = errors.New("MalformedPolicyDocument")

// Policy is a parsed identity-based policy document.
type Policy struct {
	Statements []Statement
}

// Statement is one statement of a policy. Exactly one of Action and NotAction is set, and
// exactly one of Resource and NotResource.
type Statement struct {
	Sid         string
	Deny        bool
	Action      []string
	NotAction   []string
	Resource    []string
	NotResource []string
}

// Decision is the outcome of evaluating a request against a principal's policies.
type Decision int

const (
	// ImplicitDeny: no statement allows the request.
	ImplicitDeny Decision = iota
	// Allowed: a statement allows it and none denies it.
	Allowed
	// ExplicitDeny: a Deny statement matches; it wins over any Allow.
	ExplicitDeny
)

func (d Decision) String() string {
	switch d {
	case Allowed:
		return "Allowed"
	case ExplicitDeny:
		return "ExplicitDeny"
	}
	return "ImplicitDeny"
}

// Evaluate decides whether the policies allow action on resource, as AWS evaluates
// identity-based policies: an explicit Deny wins, then any Allow, else the request is denied.
func Evaluate(policies []*Policy, action, resource string) Decision {
	d := ImplicitDeny
	for _, p := range policies {
		for _, st := range p.Statements {
			if !st.matches(action, resource) {
				continue
			}
			if st.Deny {
				return ExplicitDeny
			}
			d = Allowed
		}
	}
	return d
}

func (st Statement) matches(action, resource string) bool {
	if st.Action != nil && !anyMatch(st.Action, action, matchAction) {
		return false
	}
	if st.NotAction != nil && anyMatch(st.NotAction, action, matchAction) {
		return false
	}
	if st.Resource != nil && !anyMatch(st.Resource, resource, matchResource) {
		return false
	}
	if st.NotResource != nil && anyMatch(st.NotResource, resource, matchResource) {
		return false
	}
	return true
}

func anyMatch(patterns []string, s string, match func(pattern, s string) bool) bool {
	for _, p := range patterns {
		if match(p, s) {
			return true
		}
	}
	return false
}

// matchAction matches service:Operation case-insensitively, as IAM does.
func matchAction(pattern, action string) bool {
	return glob(strings.ToLower(pattern), strings.ToLower(action))
}

// matchResource matches an ARN pattern. The partition, service, region and account are matched
// field by field, so a wildcard in one never spans into the next; the resource part may hold
// colons and slashes, and a wildcard there spans them.
func matchResource(pattern, arn string) bool {
	if pattern == "*" {
		return true
	}
	pp, ap := strings.SplitN(pattern, ":", 6), strings.SplitN(arn, ":", 6)
	if len(pp) != 6 || len(ap) != 6 {
		return false
	}
	for i := range pp {
		if !glob(pp[i], ap[i]) {
			return false
		}
	}
	return true
}

// glob reports whether s matches pattern, where * matches any run of characters and ? any
// one character.
func glob(pattern, s string) bool {
	p, i := 0, 0
	star, mark := -1, 0
	for i < len(s) {
		switch {
		case p < len(pattern) && (pattern[p] == '?' || pattern[p] == s[i]):
			p++
			i++
		case p < len(pattern) && pattern[p] == '*':
			star, mark = p, i
			p++
		case star >= 0:
			p = star + 1
			mark++
			i = mark
		default:
			return false
		}
	}
	for p < len(pattern) && pattern[p] == '*' {
		p++
	}
	return p == len(pattern)
}

// Policy grammar limits and names.
var (
	actionRE = regexp.MustCompile(`^[a-zA-Z0-9-]+:[a-zA-Z0-9*?]+$`)
	sidRE    = regexp.MustCompile(`^[a-zA-Z0-9]*$`)
)

// MaxPolicySize is IAM's limit on an inline user policy's size.
const MaxPolicySize = 2048

// ParsePolicy parses and validates a policy document. Errors wrap ErrMalformedPolicy and name
// what is wrong. Conditions are refused: cairn does not evaluate them, and ignoring one would
// grant more than the policy says.
func ParsePolicy(doc []byte) (*Policy, error) {
	bad := func(format string, args ...any) error {
		return fmt.Errorf("%w: %s", ErrMalformedPolicy, fmt.Sprintf(format, args...))
	}
	var top map[string]json.RawMessage
	if err := json.Unmarshal(doc, &top); err != nil {
		return nil, bad("the document is not a JSON object: %v", err)
	}
	for k := range top {
		if k != "Version" && k != "Id" && k != "Statement" {
			return nil, bad("unknown top-level element %q (want Version, Id, Statement)", k)
		}
	}
	if v, ok := top["Version"]; ok {
		var version string
		if json.Unmarshal(v, &version) != nil || (version != "2012-10-17" && version != "2008-10-17") {
			return nil, bad("Version %s: want \"2012-10-17\"", v)
		}
	}
	raw, ok := top["Statement"]
	if !ok {
		return nil, bad("the document has no Statement")
	}
	var stmts []map[string]json.RawMessage
	if bytes.HasPrefix(bytes.TrimSpace(raw), []byte("[")) {
		if err := json.Unmarshal(raw, &stmts); err != nil {
			return nil, bad("Statement: want an object or a list of objects: %v", err)
		}
	} else {
		var one map[string]json.RawMessage
		if err := json.Unmarshal(raw, &one); err != nil {
			return nil, bad("Statement: want an object or a list of objects: %v", err)
		}
		stmts = append(stmts, one)
	}
	if len(stmts) == 0 {
		return nil, bad("Statement is empty")
	}
	p := &Policy{}
	for i, m := range stmts {
		st, err := parseStatement(m)
		if err != nil {
			return nil, bad("Statement %d: %v", i+1, err)
		}
		p.Statements = append(p.Statements, st)
	}
	return p, nil
}

func parseStatement(m map[string]json.RawMessage) (Statement, error) {
	var st Statement
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		switch k {
		case "Sid", "Effect", "Action", "NotAction", "Resource", "NotResource":
		case "Principal", "NotPrincipal":
			return st, fmt.Errorf("%s: an identity-based policy must not name a principal", k)
		case "Condition":
			return st, errors.New("Condition is not supported by cairn; remove it or express the rule with Action and Resource")
		default:
			return st, fmt.Errorf("unknown element %q", k)
		}
	}
	if raw, ok := m["Sid"]; ok {
		if json.Unmarshal(raw, &st.Sid) != nil || !sidRE.MatchString(st.Sid) {
			return st, fmt.Errorf("Sid %s: want letters and digits only", raw)
		}
	}
	var effect string
	if raw, ok := m["Effect"]; !ok {
		return st, errors.New("Effect is missing: want \"Allow\" or \"Deny\"")
	} else if json.Unmarshal(raw, &effect) != nil || (effect != "Allow" && effect != "Deny") {
		return st, fmt.Errorf("Effect %s: want \"Allow\" or \"Deny\"", raw)
	}
	st.Deny = effect == "Deny"
	var err error
	if st.Action, st.NotAction, err = pair(m, "Action", "NotAction", checkAction); err != nil {
		return st, err
	}
	if st.Resource, st.NotResource, err = pair(m, "Resource", "NotResource", checkResource); err != nil {
		return st, err
	}
	return st, nil
}

// pair reads exactly one of two string-or-list elements, checking each entry.
func pair(m map[string]json.RawMessage, name, notName string, check func(string) error) (yes, not []string, err error) {
	raw, hasYes := m[name]
	rawNot, hasNot := m[notName]
	switch {
	case hasYes && hasNot:
		return nil, nil, fmt.Errorf("has both %s and %s; want one", name, notName)
	case !hasYes && !hasNot:
		return nil, nil, fmt.Errorf("has neither %s nor %s", name, notName)
	case hasNot:
		name, raw = notName, rawNot
	}
	list, err := stringOrList(raw)
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %v", name, err)
	}
	if len(list) == 0 {
		return nil, nil, fmt.Errorf("%s is empty", name)
	}
	for _, v := range list {
		if err := check(v); err != nil {
			return nil, nil, fmt.Errorf("%s %q: %v", name, v, err)
		}
	}
	if hasNot {
		return nil, list, nil
	}
	return list, nil, nil
}

func stringOrList(raw json.RawMessage) ([]string, error) {
	var one string
	if json.Unmarshal(raw, &one) == nil {
		return []string{one}, nil
	}
	var list []string
	if err := json.Unmarshal(raw, &list); err != nil {
		return nil, fmt.Errorf("want a string or a list of strings, got %s", raw)
	}
	return list, nil
}

func checkAction(a string) error {
	if a == "*" || actionRE.MatchString(a) {
		return nil
	}
	return errors.New(`want "*" or service:Operation with * and ? wildcards, e.g. cloudtrail:LookupEvents or cloudtrail:Get*`)
}

func checkResource(r string) error {
	switch {
	case r == "*":
		return nil
	case strings.Contains(r, "${"):
		return errors.New("policy variables are not supported by cairn")
	case !strings.HasPrefix(r, "arn:") || strings.Count(r, ":") < 5:
		return errors.New(`want "*" or an ARN (arn:partition:service:region:account:resource)`)
	}
	return nil
}

// managedPolicies are cairn's built-in AWS managed policies, by name. Their ARNs are
// arn:aws:iam::aws:policy/<name>.
var managedPolicies = map[string]string{
	"AdministratorAccess": `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}`,
	"ReadOnlyAccess": `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Resource":"*","Action":[
		"cloudtrail:Describe*","cloudtrail:Get*","cloudtrail:List*","cloudtrail:LookupEvents",
		"logs:Describe*","logs:Get*","logs:List*","logs:FilterLogEvents","logs:TestMetricFilter",
		"cloudwatch:Describe*","cloudwatch:Get*","cloudwatch:List*",
		"sns:Get*","sns:List*",
		"organizations:Describe*","organizations:List*"]}]}`,
	"AWSCloudTrail_ReadOnlyAccess": `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Resource":"*","Action":[
		"cloudtrail:Describe*","cloudtrail:Get*","cloudtrail:List*","cloudtrail:LookupEvents"]}]}`,
}

// ManagedPolicyARNPrefix starts the ARN of every AWS managed policy.
const ManagedPolicyARNPrefix = "arn:aws:iam::aws:policy/"

// ManagedPolicy returns a built-in managed policy by name or ARN.
func ManagedPolicy(nameOrARN string) (name string, p *Policy, err error) {
	name = strings.TrimPrefix(nameOrARN, ManagedPolicyARNPrefix)
	doc, ok := managedPolicies[name]
	if !ok {
		return "", nil, fmt.Errorf("managed policy %q: %w (cairn has %s)", nameOrARN, ErrNotFound, strings.Join(ManagedPolicyNames(), ", "))
	}
	p, err = ParsePolicy([]byte(doc))
	if err != nil {
		panic(fmt.Sprintf("built-in policy %s: %v", name, err))
	}
	return name, p, nil
}

// ManagedPolicyNames lists the built-in managed policies.
func ManagedPolicyNames() []string {
	names := make([]string, 0, len(managedPolicies))
	for n := range managedPolicies {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// AccessDenied is a request the principal's policies refuse. Its message is AWS's wording, so
// the API, the console and the recorded event say the same thing.
type AccessDenied struct {
	Principal        Principal
	Action, Resource string
	Decision         Decision
}

func (e *AccessDenied) Error() string {
	msg := "User: " + e.Principal.ARN() + " is not authorized to perform: " + e.Action
	if e.Resource != "*" {
		msg += " on resource: " + e.Resource // a call on no particular resource names none
	}
	if e.Decision == ExplicitDeny {
		return msg + " with an explicit deny in an identity-based policy"
	}
	return msg + " because no identity-based policy allows the " + e.Action + " action"
}

// Code is the error code the action's service answers a refusal with, and CloudTrail records:
// the JSON services say AccessDeniedException, the query services have their own.
func (e *AccessDenied) Code() string {
	service, _, _ := strings.Cut(e.Action, ":")
	switch service {
	case "cloudwatch":
		return "AccessDenied"
	case "sns":
		return "AuthorizationError"
	}
	return "AccessDeniedException"
}
