package api

import (
	"encoding/json"
	"errors"
	"strings"
	"time"

	"github.com/cairn-dev/cairn/internal/api/awsproto"
	"github.com/cairn-dev/cairn/internal/trail"
)

// trailOperations are CloudTrail's trail operations (issue 4).
func (s *Server) trailOperations() map[string]operation {
	return map[string]operation{
		"CreateTrail":         s.createTrail,
		"UpdateTrail":         s.updateTrail,
		"DeleteTrail":         s.deleteTrail,
		"GetTrail":            s.getTrail,
		"DescribeTrails":      s.describeTrails,
		"ListTrails":          s.listTrails,
		"GetTrailStatus":      s.getTrailStatus,
		"StartLogging":        s.startLogging,
		"StopLogging":         s.stopLogging,
		"PutEventSelectors":   s.putEventSelectors,
		"GetEventSelectors":   s.getEventSelectors,
		"PutInsightSelectors": s.putInsightSelectors,
		"GetInsightSelectors": s.getInsightSelectors,
		"ListPublicKeys":      s.listPublicKeys,
	}
}

// trailError maps trail's errors to AWS exceptions; the kind's text is the exception name.
func (s *Server) trailError(c *call, err error) {
	var te *trail.Error
	if errors.As(err, &te) {
		c.fail(awsproto.Errorf(te.Kind.Error(), "%s", te.Message), jsonError)
		return
	}
	s.cfg.Logger.Error("trail operation failed", "request", c.id, "operation", c.op, "err", err)
	c.fail(awsproto.Internal(c.id), jsonError)
}

// reply writes a JSON 1.1 response; a call that changes something records it as the event's
// responseElements, as CloudTrail does.
func (s *Server) reply(c *call, v any) {
	body, err := json.Marshal(v)
	if err != nil {
		s.cfg.Logger.Error("encode response", "request", c.id, "operation", c.op, "err", err)
		c.fail(awsproto.Internal(c.id), jsonError)
		return
	}
	if !c.readOnly && c.response == nil {
		c.response = lowerCamelJSON(body)
	}
	if err := awsproto.WriteJSON(c.w, "1.1", json.RawMessage(body)); err != nil {
		s.cfg.Logger.Warn("write response", "request", c.id, "operation", c.op, "err", err)
	}
}

func (s *Server) decode(c *call, v any) bool {
	if err := awsproto.DecodeJSON(c.body, v); err != nil {
		c.fail(err, jsonError)
		return false
	}
	return true
}

// trailShape is the Trail structure of GetTrail and DescribeTrails.
type trailShape struct {
	Name                       string
	S3BucketName               string
	S3KeyPrefix                string `json:",omitempty"`
	SnsTopicName               string `json:",omitempty"`
	SnsTopicARN                string `json:",omitempty"`
	IncludeGlobalServiceEvents bool
	IsMultiRegionTrail         bool
	HomeRegion                 string `json:",omitempty"`
	TrailARN                   string
	LogFileValidationEnabled   bool
	CloudWatchLogsLogGroupArn  string `json:",omitempty"`
	CloudWatchLogsRoleArn      string `json:",omitempty"`
	KmsKeyId                   string `json:",omitempty"`
	HasCustomEventSelectors    *bool  `json:",omitempty"`
	HasInsightSelectors        *bool  `json:",omitempty"`
	IsOrganizationTrail        bool
}

// shape renders t; full adds what only GetTrail and DescribeTrails return.
func shape(t *trail.Trail, full bool) trailShape {
	out := trailShape{
		Name: t.Name, S3BucketName: t.S3BucketName, S3KeyPrefix: t.S3KeyPrefix, SnsTopicName: t.SnsTopicName, SnsTopicARN: t.SnsTopicARN(),
		IncludeGlobalServiceEvents: t.IncludeGlobalServiceEvents, IsMultiRegionTrail: t.IsMultiRegionTrail, TrailARN: t.ARN,
		LogFileValidationEnabled: t.LogFileValidationEnabled, CloudWatchLogsLogGroupArn: t.CloudWatchLogsLogGroupArn,
		CloudWatchLogsRoleArn: t.CloudWatchLogsRoleArn, KmsKeyId: t.KmsKeyID, IsOrganizationTrail: t.IsOrganizationTrail,
	}
	if full {
		custom, insights := t.HasCustomEventSelectors(), len(t.InsightSelectors) > 0
		out.HomeRegion, out.HasCustomEventSelectors, out.HasInsightSelectors = t.HomeRegion, &custom, &insights
	}
	return out
}

type tagShape struct {
	Key   string
	Value string `json:",omitempty"`
}

func toTags(in []tagShape) []trail.Tag {
	out := make([]trail.Tag, len(in))
	for i, t := range in {
		out[i] = trail.Tag{Key: t.Key, Value: t.Value}
	}
	return out
}

func (s *Server) createTrail(c *call) {
	var in struct {
		trail.Settings
		TagsList []tagShape
	}
	if !s.decode(c, &in) {
		return
	}
	t, err := s.trails.Create(c.r.Context(), c.principal.AccountID, c.auth.Region, in.Settings, toTags(in.TagsList))
	if err != nil {
		s.trailError(c, err)
		return
	}
	s.reply(c, shape(t, false))
}

func (s *Server) updateTrail(c *call) {
	var in trail.Settings
	if !s.decode(c, &in) {
		return
	}
	t, err := s.trails.Update(c.r.Context(), c.principal.AccountID, c.auth.Region, in)
	if err != nil {
		s.trailError(c, err)
		return
	}
	s.reply(c, shape(t, false))
}

func (s *Server) deleteTrail(c *call) {
	var in struct{ Name string }
	if !s.decode(c, &in) {
		return
	}
	if err := s.trails.Delete(c.r.Context(), c.principal.AccountID, c.auth.Region, in.Name); err != nil {
		s.trailError(c, err)
		return
	}
	s.reply(c, struct{}{})
}

func (s *Server) getTrail(c *call) {
	var in struct{ Name string }
	if !s.decode(c, &in) {
		return
	}
	t, err := s.cfg.Trails.Resolve(c.r.Context(), c.principal.AccountID, c.auth.Region, in.Name, false)
	if err != nil {
		s.trailError(c, err)
		return
	}
	s.reply(c, struct{ Trail trailShape }{shape(t, true)})
}

func (s *Server) describeTrails(c *call) {
	var in struct {
		TrailNameList       []string `json:"trailNameList"`
		IncludeShadowTrails *bool    `json:"includeShadowTrails"`
	}
	if !s.decode(c, &in) {
		return
	}
	ctx := c.r.Context()
	shadows := in.IncludeShadowTrails == nil || *in.IncludeShadowTrails
	out := struct {
		TrailList []trailShape `json:"trailList"`
	}{TrailList: []trailShape{}}
	if len(in.TrailNameList) == 0 {
		trails, err := s.cfg.Trails.InRegion(ctx, c.principal.AccountID, c.auth.Region, shadows)
		if err != nil {
			s.trailError(c, err)
			return
		}
		for _, t := range trails {
			out.TrailList = append(out.TrailList, shape(t, true))
		}
		s.reply(c, out)
		return
	}
	for _, name := range in.TrailNameList {
		t, err := s.cfg.Trails.Resolve(ctx, c.principal.AccountID, c.auth.Region, name, false)
		if errors.Is(err, trail.ErrNotFound) {
			continue // AWS leaves unknown trails out
		}
		if err != nil {
			s.trailError(c, err)
			return
		}
		if t.HomeRegion != c.auth.Region && !shadows && !strings.HasPrefix(name, "arn:") {
			continue
		}
		out.TrailList = append(out.TrailList, shape(t, true))
	}
	s.reply(c, out)
}

func (s *Server) listTrails(c *call) {
	var in struct{ NextToken string }
	if !s.decode(c, &in) {
		return
	}
	if in.NextToken != "" {
		c.fail(awsproto.Errorf("InvalidNextTokenException", "The NextToken %q is not valid: ListTrails returns every trail in one page.", in.NextToken), jsonError)
		return
	}
	trails, err := s.cfg.Trails.ByAccount(c.r.Context(), c.principal.AccountID)
	if err != nil {
		s.trailError(c, err)
		return
	}
	type info struct{ TrailARN, Name, HomeRegion string }
	out := struct{ Trails []info }{Trails: []info{}}
	for _, t := range trails {
		out.Trails = append(out.Trails, info{t.ARN, t.Name, t.HomeRegion})
	}
	s.reply(c, out)
}

func (s *Server) getTrailStatus(c *call) {
	var in struct{ Name string }
	if !s.decode(c, &in) {
		return
	}
	ctx := c.r.Context()
	t, err := s.cfg.Trails.Resolve(ctx, c.principal.AccountID, c.auth.Region, in.Name, false)
	if err != nil {
		s.trailError(c, err)
		return
	}
	st, err := s.cfg.Trails.Status(ctx, t.ARN)
	if err != nil {
		s.trailError(c, err)
		return
	}
	ts := func(t time.Time) *awsproto.Timestamp {
		if t.IsZero() {
			return nil
		}
		return &awsproto.Timestamp{Time: t.Truncate(time.Millisecond)}
	}
	str := func(t time.Time) string {
		if t.IsZero() {
			return ""
		}
		return t.UTC().Format("2006-01-02T15:04:05Z")
	}
	var started, stopped time.Time
	if n := len(t.Logging); n > 0 {
		started, stopped = t.Logging[n-1].Start, t.Logging[n-1].Stop
	}
	out := struct {
		IsLogging                          bool
		LatestDeliveryError                string              `json:",omitempty"`
		LatestDeliveryTime                 *awsproto.Timestamp `json:",omitempty"`
		StartLoggingTime                   *awsproto.Timestamp `json:",omitempty"`
		StopLoggingTime                    *awsproto.Timestamp `json:",omitempty"`
		LatestDigestDeliveryTime           *awsproto.Timestamp `json:",omitempty"`
		LatestDigestDeliveryError          string              `json:",omitempty"`
		LatestDeliveryAttemptTime          string
		LatestNotificationAttemptTime      string
		LatestNotificationAttemptSucceeded string
		LatestDeliveryAttemptSucceeded     string
		TimeLoggingStarted                 string
		TimeLoggingStopped                 string
	}{
		IsLogging:           t.IsLogging(),
		LatestDeliveryError: st.DeliveryError, LatestDeliveryTime: ts(st.DeliveryTime),
		StartLoggingTime: ts(started), StopLoggingTime: ts(stopped),
		LatestDigestDeliveryTime: ts(st.DigestTime), LatestDigestDeliveryError: st.DigestError,
		LatestDeliveryAttemptTime: str(st.DeliveryAttemptTime),
		TimeLoggingStarted:        str(started), TimeLoggingStopped: str(stopped),
	}
	if st.DeliveryError == "" {
		out.LatestDeliveryAttemptSucceeded = str(st.DeliveryTime)
	}
	s.reply(c, out)
}

func (s *Server) startLogging(c *call) { s.setLogging(c, true) }
func (s *Server) stopLogging(c *call)  { s.setLogging(c, false) }

func (s *Server) setLogging(c *call, on bool) {
	var in struct{ Name string }
	if !s.decode(c, &in) {
		return
	}
	if err := s.trails.SetLogging(c.r.Context(), c.principal.AccountID, c.auth.Region, in.Name, on); err != nil {
		s.trailError(c, err)
		return
	}
	s.reply(c, struct{}{})
}

// eventSelectorIn is a basic selector as sent: IncludeManagementEvents defaults to true.
type eventSelectorIn struct {
	ReadWriteType                 string
	IncludeManagementEvents       *bool
	DataResources                 []trail.DataResource
	ExcludeManagementEventSources []string
}

func (s *Server) putEventSelectors(c *call) {
	var in struct {
		TrailName              string
		EventSelectors         []eventSelectorIn
		AdvancedEventSelectors []trail.AdvancedEventSelector
	}
	if !s.decode(c, &in) {
		return
	}
	ctx := c.r.Context()
	t, err := s.cfg.Trails.Resolve(ctx, c.principal.AccountID, c.auth.Region, in.TrailName, true)
	if err != nil {
		s.trailError(c, err)
		return
	}
	switch {
	case in.EventSelectors != nil && in.AdvancedEventSelectors != nil:
		s.trailError(c, &trail.Error{Kind: trail.ErrInvalidCombination, Message: "You can use EventSelectors or AdvancedEventSelectors, but not both."})
		return
	case in.AdvancedEventSelectors != nil:
		if err := trail.CheckAdvancedEventSelectors(in.AdvancedEventSelectors); err != nil {
			s.trailError(c, err)
			return
		}
		t.AdvancedEventSelectors, t.EventSelectors = in.AdvancedEventSelectors, nil
	case in.EventSelectors != nil:
		sels := make([]trail.EventSelector, len(in.EventSelectors))
		for i, e := range in.EventSelectors {
			sels[i] = trail.EventSelector{ReadWriteType: e.ReadWriteType, IncludeManagementEvents: e.IncludeManagementEvents == nil || *e.IncludeManagementEvents,
				DataResources: e.DataResources, ExcludeManagementEventSources: e.ExcludeManagementEventSources}
		}
		checked, err := trail.CheckEventSelectors(sels)
		if err != nil {
			s.trailError(c, err)
			return
		}
		t.EventSelectors, t.AdvancedEventSelectors = checked, nil
	default:
		s.trailError(c, &trail.Error{Kind: trail.ErrInvalidEventSelectors, Message: "Give EventSelectors or AdvancedEventSelectors."})
		return
	}
	if err := s.cfg.Trails.Save(ctx, t); err != nil {
		s.trailError(c, err)
		return
	}
	s.reply(c, selectorsOut(t))
}

type selectorsShape struct {
	TrailARN               string
	EventSelectors         []trail.EventSelector         `json:",omitempty"`
	AdvancedEventSelectors []trail.AdvancedEventSelector `json:",omitempty"`
}

func selectorsOut(t *trail.Trail) selectorsShape {
	out := selectorsShape{TrailARN: t.ARN, EventSelectors: t.EventSelectors, AdvancedEventSelectors: t.AdvancedEventSelectors}
	if !t.HasCustomEventSelectors() {
		out.EventSelectors = trail.DefaultEventSelectors()
	}
	return out
}

func (s *Server) getEventSelectors(c *call) {
	var in struct{ TrailName string }
	if !s.decode(c, &in) {
		return
	}
	t, err := s.cfg.Trails.Resolve(c.r.Context(), c.principal.AccountID, c.auth.Region, in.TrailName, false)
	if err != nil {
		s.trailError(c, err)
		return
	}
	s.reply(c, selectorsOut(t))
}

func (s *Server) putInsightSelectors(c *call) {
	var in struct {
		TrailName        string
		InsightSelectors *[]trail.InsightSelector
		EventDataStore   string
	}
	if !s.decode(c, &in) {
		return
	}
	if in.EventDataStore != "" || in.TrailName == "" {
		s.trailError(c, &trail.Error{Kind: trail.ErrInvalidCombination, Message: "Give TrailName: Insights selectors for event data stores are not served by trails."})
		return
	}
	if in.InsightSelectors == nil {
		s.trailError(c, &trail.Error{Kind: trail.ErrInvalidInsightSelectors, Message: "InsightSelectors is required (an empty list turns Insights off)."})
		return
	}
	ctx := c.r.Context()
	t, err := s.cfg.Trails.Resolve(ctx, c.principal.AccountID, c.auth.Region, in.TrailName, true)
	if err != nil {
		s.trailError(c, err)
		return
	}
	if err := trail.CheckInsightSelectors(*in.InsightSelectors); err != nil {
		s.trailError(c, err)
		return
	}
	t.InsightSelectors = *in.InsightSelectors // replaces, as AWS does
	if len(t.InsightSelectors) == 0 {
		t.InsightSelectors = nil
	}
	if err := s.cfg.Trails.Save(ctx, t); err != nil {
		s.trailError(c, err)
		return
	}
	out := struct {
		TrailARN         string
		InsightSelectors []trail.InsightSelector
	}{t.ARN, *in.InsightSelectors}
	s.reply(c, out)
}

func (s *Server) getInsightSelectors(c *call) {
	var in struct{ TrailName string }
	if !s.decode(c, &in) {
		return
	}
	t, err := s.cfg.Trails.Resolve(c.r.Context(), c.principal.AccountID, c.auth.Region, in.TrailName, false)
	if err != nil {
		s.trailError(c, err)
		return
	}
	if len(t.InsightSelectors) == 0 {
		s.trailError(c, &trail.Error{Kind: trail.ErrInsightNotEnabled, Message: "Trail " + t.Name + " does not have Insights enabled. Edit the trail settings to enable Insights, and then try the operation again."})
		return
	}
	s.reply(c, struct {
		TrailARN         string
		InsightSelectors []trail.InsightSelector
	}{t.ARN, t.InsightSelectors})
}

// taggedTrail resolves a tagging call's ResourceId, which must be a trail of the caller.
func (s *Server) taggedTrail(c *call, id string) (*trail.Trail, error) {
	if !strings.HasPrefix(id, "arn:") {
		return nil, &trail.Error{Kind: trail.ErrInvalidARN, Message: "ResourceId " + id + " is not an ARN."}
	}
	if parts := strings.SplitN(id, ":", 6); len(parts) == 6 && parts[2] == "cloudtrail" && !strings.HasPrefix(parts[5], "trail/") {
		return nil, &trail.Error{Kind: trail.ErrResourceTypeNotSupported, Message: "Resource type of " + id + " is not supported for tagging by this server."}
	}
	t, err := s.cfg.Trails.Resolve(c.r.Context(), c.principal.AccountID, c.auth.Region, id, false)
	if errors.Is(err, trail.ErrNotFound) {
		return nil, &trail.Error{Kind: trail.ErrResourceNotFound, Message: "Resource " + id + " not found."}
	}
	return t, err
}

func (s *Server) listPublicKeys(c *call) {
	var in struct {
		StartTime *awsproto.Timestamp
		EndTime   *awsproto.Timestamp
		NextToken string
	}
	if !s.decode(c, &in) {
		return
	}
	now := s.cfg.Now()
	start, end := now, now
	if in.StartTime != nil {
		start = in.StartTime.Time
	}
	if in.EndTime != nil {
		end = in.EndTime.Time
	}
	if start.After(end) {
		c.fail(awsproto.Errorf("InvalidTimeRangeException", "StartTime %s is after EndTime %s.", start.UTC().Format(time.RFC3339), end.UTC().Format(time.RFC3339)), jsonError)
		return
	}
	if in.NextToken != "" {
		c.fail(awsproto.Errorf("InvalidTokenException", "The NextToken %q is not valid: ListPublicKeys returns every key in one page.", in.NextToken), jsonError)
		return
	}
	keys, err := s.cfg.Keys.PublicKeys(c.auth.Region, start, end, now)
	if err != nil {
		s.trailError(c, err)
		return
	}
	type publicKey struct {
		Value             []byte // base64 on the wire
		ValidityStartTime awsproto.Timestamp
		ValidityEndTime   awsproto.Timestamp
		Fingerprint       string
	}
	out := struct{ PublicKeyList []publicKey }{PublicKeyList: []publicKey{}}
	for _, k := range keys {
		out.PublicKeyList = append(out.PublicKeyList, publicKey{k.DER, awsproto.Timestamp{Time: k.ValidFrom}, awsproto.Timestamp{Time: k.ValidTo}, k.Fingerprint})
	}
	s.reply(c, out)
}
