package console

import (
	"encoding/json"
	"errors"
	"net/http"

	"github.com/cairn-dev/cairn/internal/lake"
	"github.com/cairn-dev/cairn/internal/logs"
	"github.com/cairn-dev/cairn/internal/metrics"
	"github.com/cairn-dev/cairn/internal/notify"
	"github.com/cairn-dev/cairn/internal/recorder"
	"github.com/cairn-dev/cairn/internal/trail"
)

const cloudtrailSource = "cloudtrail.amazonaws.com"

// audit records a change made in the console as the CloudTrail API call it stands for.
func (c *Console) audit(r *http.Request, name string, params, response any, err error) {
	c.record(r, cloudtrailSource, name, params, response, err)
}

// record records a change made in the console as the API call of source it stands for, as
// CloudTrail records console actions, so the trail of changes is the same whichever way they
// were made. The error code is the exception the API would have answered with.
func (c *Console) record(r *http.Request, source, name string, params, response any, err error) {
	if c.cfg.Auditor == nil {
		return
	}
	s := sessionFrom(r)
	call := recorder.Call{Time: c.cfg.Now(), Identity: s.Principal.Identity(), Account: s.Principal.AccountID, Region: s.Region,
		Source: source, Name: name, ReadOnly: source == cloudtrailSource && name == "StartQuery", // a query changes nothing, as the API records it
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
