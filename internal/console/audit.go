package console

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"

	"github.com/cairn-dev/cairn/internal/iam"
	"github.com/cairn-dev/cairn/internal/lake"
	"github.com/cairn-dev/cairn/internal/logs"
	"github.com/cairn-dev/cairn/internal/metrics"
	"github.com/cairn-dev/cairn/internal/notify"
	"github.com/cairn-dev/cairn/internal/recorder"
	"github.com/cairn-dev/cairn/internal/trail"
)

const cloudtrailSource = "cloudtrail.amazonaws.com"

// iamPrefixes are the IAM service prefixes of the console's event sources: an API call name of
// a source is authorized as the action <prefix>:<name>.
var iamPrefixes = map[string]string{cloudtrailSource: "cloudtrail", logsSource: "logs", monitoringSource: "cloudwatch", snsSource: "sns"}

// change makes a change as the API call it stands for: the signed-in user's policies are checked
// for the call on resource (an ARN, or "*") as the API checks them, then do makes it, and the
// call is recorded whatever the outcome, a refusal included. do returns the call's response.
func (c *Console) change(r *http.Request, source, name, resource string, params any, do func() (response any, err error)) error {
	err := c.authorize(r, source, name, resource)
	var response any
	if err == nil {
		response, err = do()
	}
	c.record(r, source, name, params, response, err)
	return err
}

// authorize checks the signed-in user's policies for the call name of source on resource. It
// returns nil, an *iam.AccessDenied, or the failure to read the policies.
func (c *Console) authorize(r *http.Request, source, name, resource string) error {
	p := sessionFrom(r).Principal
	if p.IsRoot() {
		return nil // spare reading policies: the root user may do anything
	}
	action := iamPrefixes[source] + ":" + name
	d, err := c.cfg.Accounts.Authorize(r.Context(), p, action, resource)
	if err != nil {
		return fmt.Errorf("authorize %s: %w", action, err)
	}
	if d != iam.Allowed {
		return &iam.AccessDenied{Principal: p, Action: action, Resource: resource, Decision: d}
	}
	return nil
}

// view wraps a page that shows what the read-only call name of source answers: a user whose
// policies refuse the call sees the refusal instead, and the refused call is recorded.
// resource names the call's resource from the request; nil means "*".
func (c *Console) view(source, name string, resource func(*http.Request) string, h http.HandlerFunc) http.HandlerFunc {
	return c.auth(func(w http.ResponseWriter, r *http.Request) {
		arn := "*"
		if resource != nil {
			arn = resource(r)
		}
		if err := c.authorize(r, source, name, arn); err != nil {
			c.record(r, source, name, nil, nil, err)
			c.internal(w, r, "show this page", err)
			return
		}
		h(w, r)
	})
}

// arn is the ARN of a resource of service in the signed-in user's account and region.
func arn(r *http.Request, service, resource string) string {
	s := sessionFrom(r)
	return "arn:aws:" + service + ":" + s.Region + ":" + s.Principal.AccountID + ":" + resource
}

// record records a call made in the console (a change, or a page refused) as the API call of
// source it stands for, as CloudTrail records console actions, so the trail is the same
// whichever way a call was made. The error code is the exception the API would have answered with.
func (c *Console) record(r *http.Request, source, name string, params, response any, err error) {
	if c.cfg.Auditor == nil {
		return
	}
	s := sessionFrom(r)
	call := recorder.Call{Time: c.cfg.Now(), Identity: s.Principal.Identity(), Account: s.Principal.AccountID, Region: s.Region,
		// A query changes nothing, as the API records it.
		Source: source, Name: name, ReadOnly: recorder.ReadOnlyOperation(name) || (source == cloudtrailSource && name == "StartQuery"),
		SourceIP: clientIP(r), UserAgent: r.UserAgent()}
	call.RequestParameters, _ = json.Marshal(params)
	switch {
	case err != nil:
		call.ErrorCode, call.ErrorMessage = apiError(err)
	case response != nil:
		call.ResponseElements, _ = json.Marshal(response)
	}
	c.cfg.Auditor.Audit(r.Context(), call)
}

// apiError is the exception and message the API answers err with.
func apiError(err error) (code, msg string) {
	var denied *iam.AccessDenied
	if errors.As(err, &denied) {
		return denied.Code(), denied.Error()
	}
	var te *trail.Error
	var le *logs.Error
	var me *metrics.Error
	var ne *notify.Error
	if errors.As(err, &te) {
		return te.Kind.Error(), te.Message
	}
	if code, msg, ok := lake.Exception(err); ok {
		return code, msg
	}
	switch {
	case errors.As(err, &le):
		return le.Kind.Error(), err.Error()
	case errors.As(err, &me):
		return me.Code(), err.Error()
	case errors.As(err, &ne):
		return ne.Code(), err.Error()
	}
	return "InternalFailure", err.Error()
}
