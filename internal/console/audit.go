package console

import (
	"encoding/json"
	"errors"
	"net/http"

	"github.com/cairn-dev/cairn/internal/lake"
	"github.com/cairn-dev/cairn/internal/recorder"
	"github.com/cairn-dev/cairn/internal/trail"
)

// audit records a change made in the console as the API call it corresponds to, as CloudTrail
// records console actions, so the trail of changes is the same whichever way they were made.
// The error code is the exception the API would have answered with.
func (c *Console) audit(r *http.Request, name string, params, response any, err error) {
	if c.cfg.Auditor == nil {
		return
	}
	s := sessionFrom(r)
	call := recorder.Call{Time: c.cfg.Now(), Identity: s.Principal.Identity(), Account: s.Principal.AccountID, Region: s.Region,
		Source: "cloudtrail.amazonaws.com", Name: name, ReadOnly: name == "StartQuery", // a query changes nothing, as the API records it
		SourceIP: clientIP(r), UserAgent: r.UserAgent()}
	call.RequestParameters, _ = json.Marshal(params)
	var te *trail.Error
	if errors.As(err, &te) {
		call.ErrorCode, call.ErrorMessage = te.Kind.Error(), te.Message
	} else if code, msg, ok := lake.Exception(err); ok {
		call.ErrorCode, call.ErrorMessage = code, msg
	} else if err != nil {
		call.ErrorCode, call.ErrorMessage = "InternalFailure", err.Error()
	} else if response != nil {
		call.ResponseElements, _ = json.Marshal(response)
	}
	c.cfg.Auditor.Audit(r.Context(), call)
}
