package api

import (
	"errors"
	"fmt"
	"net/http"

	"github.com/cairn-dev/cairn/internal/api/awsproto"
	"github.com/cairn-dev/cairn/internal/lake"
)

// cloudtrailDataSigningName is the SigV4 service of CloudTrail's data plane (PutAuditEvents).
const cloudtrailDataSigningName = "cloudtrail-data"

func restJSONError(w http.ResponseWriter, e *awsproto.Error) { awsproto.WriteRESTJSONError(w, e) }

// cloudtrailData serves the cloudtrail-data service (restJson1): PutAuditEvents, through which
// applications send their own audit events to a channel.
func (s *Server) cloudtrailData(c *call) {
	if c.r.Method != http.MethodPost || c.r.URL.Path != "/PutAuditEvents" {
		c.op = "Unknown"
		c.fail(&awsproto.Error{Code: "UnknownOperationException", Message: fmt.Sprintf("cloudtrail-data has no operation at %s %s; it serves POST /PutAuditEvents.", c.r.Method, c.r.URL.Path), Status: http.StatusNotFound}, restJSONError)
		return
	}
	c.op, c.data = "PutAuditEvents", true
	if s.cfg.Lake == nil {
		c.fail(awsproto.Errorf("UnsupportedOperationException", "CloudTrail Lake is not enabled on this server."), restJSONError)
		return
	}
	q := c.r.URL.Query()
	channel := q.Get("channelArn")
	c.params = fmt.Appendf(nil, `{"channelArn":%q}`, channel)
	if channel == "" {
		c.fail(awsproto.Errorf("ValidationException", "channelArn is required in the query string."), restJSONError)
		return
	}
	if e := s.authorize(c, "cloudtrail-data"); e != nil {
		c.fail(e, restJSONError)
		return
	}
	if ext := q.Get("externalId"); ext != "" && (len(ext) < 2 || len(ext) > 1224) {
		c.fail(awsproto.Errorf("ValidationException", "externalId must be 2 to 1224 characters."), restJSONError)
		return
	}
	if len(c.body) > lake.MaxAuditRequest {
		c.fail(awsproto.Errorf("ValidationException", "The request is %d bytes; PutAuditEvents takes at most %d (1 MB).", len(c.body), lake.MaxAuditRequest), restJSONError)
		return
	}
	var in struct {
		AuditEvents []struct {
			ID                string `json:"id"`
			EventData         string `json:"eventData"`
			EventDataChecksum string `json:"eventDataChecksum"`
		} `json:"auditEvents"`
	}
	if err := awsproto.DecodeJSON(c.body, &in); err != nil {
		c.fail(err, restJSONError)
		return
	}
	events := make([]lake.AuditEvent, len(in.AuditEvents))
	for i, e := range in.AuditEvents {
		events[i] = lake.AuditEvent{ID: e.ID, EventData: e.EventData, EventDataChecksum: e.EventDataChecksum}
	}
	ok, failed, err := s.cfg.Lake.PutAuditEvents(c.r.Context(), c.lakeCaller(), channel, events)
	if err != nil {
		var le *lake.Error
		if errors.As(err, &le) {
			// cloudtrail-data's own names for what the control plane calls otherwise.
			switch le.Kind {
			case lake.ErrInvalidParameter:
				c.fail(awsproto.Errorf("ValidationException", "%s", le.Message), restJSONError)
				return
			case lake.ErrChannelNotFound:
				c.fail(awsproto.Errorf("ChannelNotFound", "%s", le.Message), restJSONError)
				return
			}
		}
		s.lakeFail(c, err, restJSONError)
		return
	}
	type success struct {
		ID      string `json:"id"`
		EventID string `json:"eventID"`
	}
	type failure struct {
		ID           string `json:"id"`
		ErrorCode    string `json:"errorCode"`
		ErrorMessage string `json:"errorMessage"`
	}
	out := struct {
		Successful []success `json:"successful"`
		Failed     []failure `json:"failed"`
	}{Successful: []success{}, Failed: []failure{}}
	for _, r := range ok {
		out.Successful = append(out.Successful, success{r.ID, r.EventID})
	}
	for _, r := range failed {
		out.Failed = append(out.Failed, failure{r.ID, r.ErrorCode, r.ErrorMessage})
	}
	c.response = fmt.Appendf(nil, `{"successful":%d,"failed":%d}`, len(out.Successful), len(out.Failed))
	if err := awsproto.WriteRESTJSON(c.w, out); err != nil {
		s.cfg.Logger.Warn("write PutAuditEvents response", "request", c.id, "err", err)
	}
}
