package api

import (
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"strings"

	"github.com/cairn-dev/cairn/internal/api/awsproto"
	"github.com/cairn-dev/cairn/internal/event"
	"github.com/cairn-dev/cairn/internal/history"
	"github.com/cairn-dev/cairn/internal/recorder"
)

// cloudtrailTarget is the service prefix of CloudTrail's X-Amz-Target.
const cloudtrailTarget = "CloudTrail_20131101"

// jsonOperation reads the operation of an awsJson call, a POST whose X-Amz-Target is
// <target>.<Operation>, into c.op; otherwise it answers UnknownOperationException and is false.
func (c *call) jsonOperation(target string) bool {
	prefix, op, ok := awsproto.Target(c.r.Header.Get("X-Amz-Target"))
	if c.r.Method != http.MethodPost || !ok || prefix != target {
		c.op = "Unknown"
		c.fail(awsproto.Errorf("UnknownOperationException", "Expected POST with X-Amz-Target %s.<Operation>, got %s %q.", target, c.r.Method, c.r.Header.Get("X-Amz-Target")), jsonError)
		return false
	}
	c.op = op
	return true
}

// cloudtrail dispatches a CloudTrail (awsJson1_1) call.
func (s *Server) cloudtrail(c *call) {
	if !c.jsonOperation(cloudtrailTarget) {
		return
	}
	op := c.op
	c.readOnly = recorder.ReadOnlyOperation(op)
	c.params = lowerCamelJSON(c.body)
	handler, ok := s.cloudtrailOps[op]
	if !ok {
		c.fail(awsproto.Errorf("UnknownOperationException", "Operation %s is not supported by this cairn server.", op), jsonError)
		return
	}
	if e := s.authorize(c, "cloudtrail"); e != nil {
		c.fail(e, jsonError)
		return
	}
	handler(c)
}

// operation handles one AWS operation; it writes the response or calls c.fail.
type operation func(c *call)

// cloudtrailOperations lists the CloudTrail operations of each feature. A feature adds its own
// map (trails, event data stores, …) in its own file and merges it here.
func (s *Server) cloudtrailOperations() map[string]operation {
	ops := map[string]operation{
		"LookupEvents": s.lookupEvents,
	}
	for _, feature := range []map[string]operation{
		s.trailOperations(),
		s.lakeOperations(),
		s.tagOperations(),
	} {
		for name, op := range feature {
			ops[name] = op
		}
	}
	return ops
}

type lookupEventsInput struct {
	LookupAttributes []struct {
		AttributeKey   string
		AttributeValue string
	}
	StartTime     *awsproto.Timestamp
	EndTime       *awsproto.Timestamp
	EventCategory string
	MaxResults    *int
	NextToken     string
}

type lookupEvent struct {
	EventID         string              `json:"EventId,omitempty"`
	EventName       string              `json:"EventName,omitempty"`
	ReadOnly        string              `json:"ReadOnly,omitempty"`
	AccessKeyID     string              `json:"AccessKeyId,omitempty"`
	EventTime       *awsproto.Timestamp `json:"EventTime,omitempty"`
	EventSource     string              `json:"EventSource,omitempty"`
	Username        string              `json:"Username,omitempty"`
	Resources       []lookupResource    `json:"Resources"`
	CloudTrailEvent string              `json:"CloudTrailEvent"`
}

type lookupResource struct {
	ResourceType string `json:"ResourceType,omitempty"`
	ResourceName string `json:"ResourceName,omitempty"`
}

func (s *Server) lookupEvents(c *call) {
	var in lookupEventsInput
	if err := awsproto.DecodeJSON(c.body, &in); err != nil {
		c.fail(err, jsonError)
		return
	}
	q := history.Query{
		Account: c.principal.AccountID, Region: c.auth.Region,
		Category: in.EventCategory, NextToken: in.NextToken,
	}
	for _, a := range in.LookupAttributes {
		q.Attributes = append(q.Attributes, history.Attribute{Key: a.AttributeKey, Value: a.AttributeValue})
	}
	if in.StartTime != nil {
		q.Start = in.StartTime.Time
	}
	if in.EndTime != nil {
		q.End = in.EndTime.Time
	}
	if in.MaxResults != nil {
		if *in.MaxResults == 0 {
			c.fail(awsproto.Errorf("InvalidMaxResultsException", "MaxResults 0 is out of range: it must be between 1 and %d.", history.MaxMaxResults), jsonError)
			return
		}
		q.MaxResults = *in.MaxResults
	}
	page, err := s.cfg.History.Lookup(c.r.Context(), q)
	if err != nil {
		c.fail(s.lookupError(err, c.id), jsonError)
		return
	}
	out := struct {
		Events    []lookupEvent
		NextToken string `json:",omitempty"`
	}{Events: make([]lookupEvent, 0, len(page.Events)), NextToken: page.NextToken}
	for _, r := range page.Events {
		out.Events = append(out.Events, toLookupEvent(r))
	}
	if err := awsproto.WriteJSON(c.w, "1.1", out); err != nil {
		s.cfg.Logger.Warn("write LookupEvents response", "request", c.id, "err", err)
	}
}

func toLookupEvent(r *event.Record) lookupEvent {
	le := lookupEvent{
		EventID: r.EventID, EventName: r.EventName, EventSource: r.EventSource,
		AccessKeyID: r.AccessKeyID(), Username: r.Username(),
		Resources: []lookupResource{}, CloudTrailEvent: string(r.Raw),
	}
	if r.InsightDetails != nil && le.EventName == "" {
		le.EventName, le.EventSource = r.InsightDetails.EventName, r.InsightDetails.EventSource
	}
	if r.ReadOnly != nil {
		le.ReadOnly = strconv.FormatBool(*r.ReadOnly)
	}
	if !r.EventTime.IsZero() {
		le.EventTime = &awsproto.Timestamp{Time: r.EventTime}
	}
	for _, res := range r.LookupResources() {
		le.Resources = append(le.Resources, lookupResource{ResourceType: res.Type, ResourceName: res.Name})
	}
	return le
}

func (s *Server) lookupError(err error, requestID string) *awsproto.Error {
	var he *history.Error
	if errors.As(err, &he) {
		code := map[error]string{
			history.ErrInvalidLookupAttributes: "InvalidLookupAttributesException",
			history.ErrInvalidTimeRange:        "InvalidTimeRangeException",
			history.ErrInvalidMaxResults:       "InvalidMaxResultsException",
			history.ErrInvalidNextToken:        "InvalidNextTokenException",
			history.ErrInvalidEventCategory:    "InvalidEventCategoryException",
		}[he.Kind]
		if code != "" {
			return awsproto.Errorf(code, "%s", he.Message)
		}
	}
	s.cfg.Logger.Error("LookupEvents failed", "request", requestID, "err", err)
	return awsproto.Internal(requestID)
}

// lowerCamelJSON renders a request body as CloudTrail records requestParameters: the same
// members with lower-camel-case names. Bodies that are not a JSON object are recorded as null.
func lowerCamelJSON(body []byte) []byte {
	var v any
	if err := json.Unmarshal(body, &v); err != nil {
		return nil
	}
	m, ok := v.(map[string]any)
	if !ok {
		return nil
	}
	out, err := json.Marshal(lowerCamel(m))
	if err != nil {
		return nil
	}
	return out
}

func lowerCamel(v any) any {
	switch t := v.(type) {
	case map[string]any:
		m := make(map[string]any, len(t))
		for k, val := range t {
			if k != "" {
				k = strings.ToLower(k[:1]) + k[1:]
			}
			m[k] = lowerCamel(val)
		}
		return m
	case []any:
		for i := range t {
			t[i] = lowerCamel(t[i])
		}
	}
	return v
}
