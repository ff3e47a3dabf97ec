package api

import (
	"encoding/json"
	"errors"
	"net/http"
	"strings"

	"github.com/cairn-dev/cairn/internal/api/awsproto"
	"github.com/cairn-dev/cairn/internal/logs"
	"github.com/cairn-dev/cairn/internal/recorder"
)

// logsTarget is the service prefix of CloudWatch Logs' X-Amz-Target (awsJson1_1).
const logsTarget = "Logs_20140328"

// logs dispatches a CloudWatch Logs call.
func (s *Server) logs(c *call) {
	if !c.jsonOperation(logsTarget) {
		return
	}
	op := c.op
	c.readOnly = recorder.ReadOnlyOperation(op) || op == "FilterLogEvents" || op == "TestMetricFilter"
	switch op {
	case "PutLogEvents", "GetLogEvents", "FilterLogEvents":
		// Data events, as CloudTrail records them. The handler records the group and stream
		// only: the log messages are not copied into the audit record.
		c.data = true
	default:
		c.params = c.body
		if !json.Valid(c.body) {
			c.params = nil
		}
	}
	handler, ok := s.logsOps[op]
	if !ok {
		c.fail(awsproto.Errorf("UnknownOperationException", "Operation %s is not supported by this cairn server.", op), jsonError)
		return
	}
	if s.cfg.Logs == nil {
		c.fail(awsproto.Errorf("ServiceUnavailableException", "CloudWatch Logs is not enabled on this cairn server."), jsonError)
		return
	}
	if e := s.authorize(c, "logs"); e != nil {
		c.fail(e, jsonError)
		return
	}
	handler(c)
}

// logsParams records a data operation's log group and stream as its requestParameters.
func logsParams(group, stream string) []byte {
	b, _ := json.Marshal(struct {
		LogGroupName  string `json:"logGroupName,omitempty"`
		LogStreamName string `json:"logStreamName,omitempty"`
	}{group, stream})
	return b
}

func (s *Server) logsOperations() map[string]operation {
	return map[string]operation{
		"CreateLogGroup":        s.createLogGroup,
		"DeleteLogGroup":        s.deleteLogGroup,
		"DescribeLogGroups":     s.describeLogGroups,
		"PutRetentionPolicy":    s.putRetentionPolicy,
		"DeleteRetentionPolicy": s.deleteRetentionPolicy,
		"CreateLogStream":       s.createLogStream,
		"DeleteLogStream":       s.deleteLogStream,
		"DescribeLogStreams":    s.describeLogStreams,
		"PutLogEvents":          s.putLogEvents,
		"GetLogEvents":          s.getLogEvents,
		"FilterLogEvents":       s.filterLogEvents,
		"PutMetricFilter":       s.putMetricFilter,
		"DescribeMetricFilters": s.describeMetricFilters,
		"DeleteMetricFilter":    s.deleteMetricFilter,
		"TestMetricFilter":      s.testMetricFilter,
		"TagLogGroup":           s.tagLogGroup,
		"UntagLogGroup":         s.untagLogGroup,
		"ListTagsLogGroup":      s.listTagsLogGroup,
		"TagResource":           s.logsTagResource,
		"UntagResource":         s.logsUntagResource,
		"ListTagsForResource":   s.logsListTagsForResource,
	}
}

func (c *call) logsScope() logs.Scope {
	return logs.Scope{Account: c.principal.AccountID, Region: c.auth.Region}
}

// logsError maps a logs error to its AWS exception.
func (s *Server) logsError(c *call, err error) {
	var le *logs.Error
	if errors.As(err, &le) {
		c.fail(awsproto.Errorf(le.Kind.Error(), "%s", le.Message), jsonError)
		return
	}
	s.cfg.Logger.Error("logs operation failed", "request", c.id, "operation", c.op, "err", err)
	c.fail(&awsproto.Error{Code: "ServiceUnavailableException", Message: "The service cannot complete the request (request " + c.id + ").", Status: http.StatusInternalServerError}, jsonError)
}

// required checks that required members are present, naming the first missing one.
func required(c *call, members ...any) bool {
	for i := 0; i+1 < len(members); i += 2 {
		name := members[i].(string)
		missing := false
		switch v := members[i+1].(type) {
		case string:
			missing = v == ""
		case *string:
			missing = v == nil
		case *int64:
			missing = v == nil
		case *int:
			missing = v == nil
		case bool:
			missing = !v
		}
		if missing {
			c.fail(awsproto.Errorf("InvalidParameterException", "1 validation error detected: Value null at '%s' failed to satisfy constraint: Member must not be null.", name), jsonError)
			return false
		}
	}
	return true
}

// groupName resolves logGroupName or logGroupIdentifier (a name or an ARN).
func groupName(c *call, name, identifier string) (string, bool) {
	switch {
	case name != "" && identifier != "":
		c.fail(awsproto.Errorf("InvalidParameterException", "LogGroup name and LogGroup identifier are mutually exclusive parameters."), jsonError)
		return "", false
	case name != "":
		return name, true
	case identifier == "":
		c.fail(awsproto.Errorf("InvalidParameterException", "Either logGroupName or logGroupIdentifier must be given."), jsonError)
		return "", false
	case strings.HasPrefix(identifier, "arn:"):
		account, region, n, err := logs.ParseGroupARN(identifier)
		if err != nil {
			c.fail(awsproto.Errorf("InvalidParameterException", "%v", err), jsonError)
			return "", false
		}
		if sc := c.logsScope(); account != sc.Account || region != sc.Region {
			c.fail(awsproto.Errorf("ResourceNotFoundException", "The specified log group does not exist: %s is not in account %s, region %s.", identifier, sc.Account, sc.Region), jsonError)
			return "", false
		}
		return n, true
	}
	return identifier, true
}

type logGroupShape struct {
	LogGroupName      string `json:"logGroupName"`
	CreationTime      int64  `json:"creationTime"`
	RetentionInDays   *int   `json:"retentionInDays,omitempty"`
	MetricFilterCount int    `json:"metricFilterCount"`
	Arn               string `json:"arn"`
	StoredBytes       int64  `json:"storedBytes"`
	KmsKeyID          string `json:"kmsKeyId,omitempty"`
	LogGroupClass     string `json:"logGroupClass"`
	LogGroupArn       string `json:"logGroupArn"`
}

func (s *Server) createLogGroup(c *call) {
	var in struct {
		LogGroupName  string            `json:"logGroupName"`
		KmsKeyID      string            `json:"kmsKeyId"`
		Tags          map[string]string `json:"tags"`
		LogGroupClass string            `json:"logGroupClass"`
	}
	if !s.decode(c, &in) || !required(c, "logGroupName", in.LogGroupName) {
		return
	}
	if in.LogGroupClass != "" && in.LogGroupClass != "STANDARD" {
		c.fail(awsproto.Errorf("InvalidParameterException", "logGroupClass %q is not supported: cairn keeps every log group as STANDARD.", in.LogGroupClass), jsonError)
		return
	}
	if err := s.cfg.Logs.CreateGroup(c.r.Context(), c.logsScope(), in.LogGroupName, in.KmsKeyID, in.Tags); err != nil {
		s.logsError(c, err)
		return
	}
	s.reply(c, struct{}{})
}

func (s *Server) deleteLogGroup(c *call) {
	var in struct {
		LogGroupName string `json:"logGroupName"`
	}
	if !s.decode(c, &in) || !required(c, "logGroupName", in.LogGroupName) {
		return
	}
	if err := s.cfg.Logs.DeleteGroup(c.r.Context(), c.logsScope(), in.LogGroupName); err != nil {
		s.logsError(c, err)
		return
	}
	s.reply(c, struct{}{})
}

func (s *Server) describeLogGroups(c *call) {
	var in struct {
		LogGroupNamePrefix  string `json:"logGroupNamePrefix"`
		LogGroupNamePattern string `json:"logGroupNamePattern"`
		Limit               int    `json:"limit"`
		NextToken           string `json:"nextToken"`
	}
	if !s.decode(c, &in) {
		return
	}
	groups, next, err := s.cfg.Logs.DescribeGroups(c.r.Context(), c.logsScope(), logs.GroupQuery{
		Prefix: in.LogGroupNamePrefix, Pattern: in.LogGroupNamePattern, Limit: in.Limit, NextToken: in.NextToken})
	if err != nil {
		s.logsError(c, err)
		return
	}
	out := struct {
		LogGroups []logGroupShape `json:"logGroups"`
		NextToken string          `json:"nextToken,omitempty"`
	}{LogGroups: []logGroupShape{}, NextToken: next}
	for _, g := range groups {
		sh := logGroupShape{LogGroupName: g.Name, CreationTime: g.CreationTime, MetricFilterCount: g.MetricFilterCount,
			Arn: g.ARN(), StoredBytes: g.StoredBytes, KmsKeyID: g.KmsKeyID, LogGroupClass: "STANDARD", LogGroupArn: strings.TrimSuffix(g.ARN(), ":*")}
		if g.RetentionInDays > 0 {
			sh.RetentionInDays = &g.RetentionInDays
		}
		out.LogGroups = append(out.LogGroups, sh)
	}
	s.reply(c, out)
}

func (s *Server) putRetentionPolicy(c *call) {
	var in struct {
		LogGroupName    string `json:"logGroupName"`
		RetentionInDays *int   `json:"retentionInDays"`
	}
	if !s.decode(c, &in) || !required(c, "logGroupName", in.LogGroupName, "retentionInDays", in.RetentionInDays) {
		return
	}
	if err := s.cfg.Logs.PutRetention(c.r.Context(), c.logsScope(), in.LogGroupName, *in.RetentionInDays); err != nil {
		s.logsError(c, err)
		return
	}
	s.reply(c, struct{}{})
}

func (s *Server) deleteRetentionPolicy(c *call) {
	var in struct {
		LogGroupName string `json:"logGroupName"`
	}
	if !s.decode(c, &in) || !required(c, "logGroupName", in.LogGroupName) {
		return
	}
	if err := s.cfg.Logs.DeleteRetention(c.r.Context(), c.logsScope(), in.LogGroupName); err != nil {
		s.logsError(c, err)
		return
	}
	s.reply(c, struct{}{})
}

type streamInput struct {
	LogGroupName  string `json:"logGroupName"`
	LogStreamName string `json:"logStreamName"`
}

func (s *Server) createLogStream(c *call) {
	var in streamInput
	if !s.decode(c, &in) || !required(c, "logGroupName", in.LogGroupName, "logStreamName", in.LogStreamName) {
		return
	}
	if err := s.cfg.Logs.CreateStream(c.r.Context(), c.logsScope(), in.LogGroupName, in.LogStreamName); err != nil {
		s.logsError(c, err)
		return
	}
	s.reply(c, struct{}{})
}

func (s *Server) deleteLogStream(c *call) {
	var in streamInput
	if !s.decode(c, &in) || !required(c, "logGroupName", in.LogGroupName, "logStreamName", in.LogStreamName) {
		return
	}
	if err := s.cfg.Logs.DeleteStream(c.r.Context(), c.logsScope(), in.LogGroupName, in.LogStreamName); err != nil {
		s.logsError(c, err)
		return
	}
	s.reply(c, struct{}{})
}

type logStreamShape struct {
	LogStreamName       string `json:"logStreamName"`
	CreationTime        int64  `json:"creationTime"`
	FirstEventTimestamp *int64 `json:"firstEventTimestamp,omitempty"`
	LastEventTimestamp  *int64 `json:"lastEventTimestamp,omitempty"`
	LastIngestionTime   *int64 `json:"lastIngestionTime,omitempty"`
	Arn                 string `json:"arn"`
	StoredBytes         int64  `json:"storedBytes"`
}

func nonZero(v int64) *int64 {
	if v == 0 {
		return nil
	}
	return &v
}

func (s *Server) describeLogStreams(c *call) {
	var in struct {
		LogGroupName        string `json:"logGroupName"`
		LogGroupIdentifier  string `json:"logGroupIdentifier"`
		LogStreamNamePrefix string `json:"logStreamNamePrefix"`
		OrderBy             string `json:"orderBy"`
		Descending          bool   `json:"descending"`
		Limit               int    `json:"limit"`
		NextToken           string `json:"nextToken"`
	}
	if !s.decode(c, &in) {
		return
	}
	name, ok := groupName(c, in.LogGroupName, in.LogGroupIdentifier)
	if !ok {
		return
	}
	if in.OrderBy != "" && in.OrderBy != "LogStreamName" && in.OrderBy != "LastEventTime" {
		c.fail(awsproto.Errorf("InvalidParameterException", "1 validation error detected: Value '%s' at 'orderBy' failed to satisfy constraint: Member must satisfy enum value set: [LogStreamName, LastEventTime].", in.OrderBy), jsonError)
		return
	}
	sc := c.logsScope()
	streams, next, err := s.cfg.Logs.DescribeStreams(c.r.Context(), sc, name, logs.StreamQuery{
		Prefix: in.LogStreamNamePrefix, ByLastEvent: in.OrderBy == "LastEventTime", Descending: in.Descending, Limit: in.Limit, NextToken: in.NextToken})
	if err != nil {
		s.logsError(c, err)
		return
	}
	out := struct {
		LogStreams []logStreamShape `json:"logStreams"`
		NextToken  string           `json:"nextToken,omitempty"`
	}{LogStreams: []logStreamShape{}, NextToken: next}
	arn := strings.TrimSuffix(logs.GroupARN(sc.Account, sc.Region, name), "*")
	for _, st := range streams {
		out.LogStreams = append(out.LogStreams, logStreamShape{LogStreamName: st.Name, CreationTime: st.CreationTime,
			FirstEventTimestamp: nonZero(st.FirstEventTimestamp), LastEventTimestamp: nonZero(st.LastEventTimestamp),
			LastIngestionTime: nonZero(st.LastIngestionTime), Arn: arn + "log-stream:" + st.Name, StoredBytes: st.StoredBytes})
	}
	s.reply(c, out)
}

func (s *Server) putLogEvents(c *call) {
	var in struct {
		LogGroupName  string `json:"logGroupName"`
		LogStreamName string `json:"logStreamName"`
		LogEvents     []struct {
			Timestamp *int64  `json:"timestamp"`
			Message   *string `json:"message"`
		} `json:"logEvents"`
	}
	if !s.decode(c, &in) {
		return
	}
	c.params = logsParams(in.LogGroupName, in.LogStreamName)
	if !required(c, "logGroupName", in.LogGroupName, "logStreamName", in.LogStreamName, "logEvents", in.LogEvents != nil) {
		return
	}
	events := make([]logs.InputEvent, len(in.LogEvents))
	for i, e := range in.LogEvents {
		if e.Timestamp == nil || e.Message == nil {
			member := "timestamp"
			if e.Message == nil {
				member = "message"
			}
			c.fail(awsproto.Errorf("InvalidParameterException", "1 validation error detected: Value null at 'logEvents.%d.member.%s' failed to satisfy constraint: Member must not be null.", i+1, member), jsonError)
			return
		}
		events[i] = logs.InputEvent{Timestamp: *e.Timestamp, Message: *e.Message}
	}
	rej, err := s.cfg.Logs.Put(c.r.Context(), c.logsScope(), in.LogGroupName, in.LogStreamName, events)
	if err != nil {
		s.logsError(c, err)
		return
	}
	type rejected struct {
		TooNewLogEventStartIndex *int `json:"tooNewLogEventStartIndex,omitempty"`
		TooOldLogEventEndIndex   *int `json:"tooOldLogEventEndIndex,omitempty"`
		ExpiredLogEventEndIndex  *int `json:"expiredLogEventEndIndex,omitempty"`
	}
	out := struct {
		RejectedLogEventsInfo *rejected `json:"rejectedLogEventsInfo,omitempty"`
	}{}
	if rej.Any() {
		idx := func(i int) *int {
			if i < 0 {
				return nil
			}
			return &i
		}
		out.RejectedLogEventsInfo = &rejected{idx(rej.TooNewStartIndex), idx(rej.TooOldEndIndex), idx(rej.ExpiredEndIndex)}
	}
	s.reply(c, out)
}

type outputEvent struct {
	Timestamp     int64  `json:"timestamp"`
	Message       string `json:"message"`
	IngestionTime int64  `json:"ingestionTime"`
}

func (s *Server) getLogEvents(c *call) {
	var in struct {
		LogGroupName       string `json:"logGroupName"`
		LogGroupIdentifier string `json:"logGroupIdentifier"`
		LogStreamName      string `json:"logStreamName"`
		StartTime          *int64 `json:"startTime"`
		EndTime            *int64 `json:"endTime"`
		NextToken          string `json:"nextToken"`
		Limit              int    `json:"limit"`
		StartFromHead      bool   `json:"startFromHead"`
	}
	if !s.decode(c, &in) {
		return
	}
	c.params = logsParams(in.LogGroupName+in.LogGroupIdentifier, in.LogStreamName)
	if !required(c, "logStreamName", in.LogStreamName) {
		return
	}
	name, ok := groupName(c, in.LogGroupName, in.LogGroupIdentifier)
	if !ok {
		return
	}
	page, err := s.cfg.Logs.Get(c.r.Context(), c.logsScope(), name, in.LogStreamName, logs.GetQuery{
		Start: in.StartTime, End: in.EndTime, Limit: in.Limit, NextToken: in.NextToken, StartFromHead: in.StartFromHead})
	if err != nil {
		s.logsError(c, err)
		return
	}
	out := struct {
		Events            []outputEvent `json:"events"`
		NextForwardToken  string        `json:"nextForwardToken"`
		NextBackwardToken string        `json:"nextBackwardToken"`
	}{Events: make([]outputEvent, 0, len(page.Events)), NextForwardToken: page.NextForward, NextBackwardToken: page.Backward}
	for _, e := range page.Events {
		out.Events = append(out.Events, outputEvent{e.Timestamp, e.Message, e.IngestionTime})
	}
	s.reply(c, out)
}

func (s *Server) filterLogEvents(c *call) {
	var in struct {
		LogGroupName        string   `json:"logGroupName"`
		LogGroupIdentifier  string   `json:"logGroupIdentifier"`
		LogStreamNames      []string `json:"logStreamNames"`
		LogStreamNamePrefix string   `json:"logStreamNamePrefix"`
		StartTime           *int64   `json:"startTime"`
		EndTime             *int64   `json:"endTime"`
		FilterPattern       string   `json:"filterPattern"`
		NextToken           string   `json:"nextToken"`
		Limit               int      `json:"limit"`
	}
	if !s.decode(c, &in) {
		return
	}
	c.params = logsParams(in.LogGroupName+in.LogGroupIdentifier, "")
	name, ok := groupName(c, in.LogGroupName, in.LogGroupIdentifier)
	if !ok {
		return
	}
	page, err := s.cfg.Logs.Filter(c.r.Context(), c.logsScope(), name, logs.FilterQuery{
		StreamNames: in.LogStreamNames, StreamPrefix: in.LogStreamNamePrefix, Start: in.StartTime, End: in.EndTime,
		Pattern: in.FilterPattern, Limit: in.Limit, NextToken: in.NextToken})
	if err != nil {
		s.logsError(c, err)
		return
	}
	type filtered struct {
		LogStreamName string `json:"logStreamName"`
		Timestamp     int64  `json:"timestamp"`
		Message       string `json:"message"`
		IngestionTime int64  `json:"ingestionTime"`
		EventID       string `json:"eventId"`
	}
	type searched struct {
		LogStreamName      string `json:"logStreamName"`
		SearchedCompletely bool   `json:"searchedCompletely"`
	}
	out := struct {
		Events             []filtered `json:"events"`
		SearchedLogStreams []searched `json:"searchedLogStreams"`
		NextToken          string     `json:"nextToken,omitempty"`
	}{Events: make([]filtered, 0, len(page.Events)), SearchedLogStreams: []searched{}, NextToken: page.Next}
	for _, e := range page.Events {
		out.Events = append(out.Events, filtered{e.Stream, e.Timestamp, e.Message, e.IngestionTime, eventID(e.ID)})
	}
	for _, n := range page.Searched {
		out.SearchedLogStreams = append(out.SearchedLogStreams, searched{n, page.Next == ""})
	}
	s.reply(c, out)
}

// eventID renders a stored event's ID as AWS shows them: a long decimal string.
func eventID(id int64) string {
	const width = 56
	d := []byte(strings.Repeat("0", width))
	for i := width - 1; id > 0 && i >= 0; i-- {
		d[i] = byte('0' + id%10)
		id /= 10
	}
	return string(d)
}

type metricTransformationShape struct {
	MetricName      string            `json:"metricName"`
	MetricNamespace string            `json:"metricNamespace"`
	MetricValue     string            `json:"metricValue"`
	DefaultValue    *float64          `json:"defaultValue,omitempty"`
	Dimensions      map[string]string `json:"dimensions,omitempty"`
	Unit            string            `json:"unit,omitempty"`
}

func (s *Server) putMetricFilter(c *call) {
	var in struct {
		LogGroupName          string                      `json:"logGroupName"`
		FilterName            string                      `json:"filterName"`
		FilterPattern         *string                     `json:"filterPattern"`
		MetricTransformations []metricTransformationShape `json:"metricTransformations"`
		ApplyOnTransformed    bool                        `json:"applyOnTransformedLogs"`
		FieldSelection        string                      `json:"fieldSelectionCriteria"`
		EmitSystemDimensions  []string                    `json:"emitSystemFieldDimensions"`
	}
	if !s.decode(c, &in) || !required(c, "logGroupName", in.LogGroupName, "filterName", in.FilterName, "filterPattern", in.FilterPattern,
		"metricTransformations", in.MetricTransformations != nil) {
		return
	}
	switch {
	case len(in.MetricTransformations) != 1:
		c.fail(awsproto.Errorf("InvalidParameterException", "1 validation error detected: Value at 'metricTransformations' failed to satisfy constraint: Member must have length between 1 and 1 (got %d): a metric filter publishes exactly one metric.", len(in.MetricTransformations)), jsonError)
		return
	case in.ApplyOnTransformed:
		c.fail(awsproto.Errorf("InvalidParameterException", "applyOnTransformedLogs is not supported: cairn has no log transformers."), jsonError)
		return
	case in.FieldSelection != "" || len(in.EmitSystemDimensions) > 0:
		c.fail(awsproto.Errorf("InvalidParameterException", "fieldSelectionCriteria and emitSystemFieldDimensions are not supported by cairn."), jsonError)
		return
	}
	mt := in.MetricTransformations[0]
	err := s.cfg.Logs.PutMetricFilter(c.r.Context(), c.logsScope(), logs.MetricFilter{
		Group: in.LogGroupName, Name: in.FilterName, Pattern: *in.FilterPattern,
		Transformation: logs.Transformation(mt),
	})
	if err != nil {
		s.logsError(c, err)
		return
	}
	s.reply(c, struct{}{})
}

func (s *Server) describeMetricFilters(c *call) {
	var in struct {
		LogGroupName     string `json:"logGroupName"`
		FilterNamePrefix string `json:"filterNamePrefix"`
		NextToken        string `json:"nextToken"`
		Limit            int    `json:"limit"`
		MetricName       string `json:"metricName"`
		MetricNamespace  string `json:"metricNamespace"`
	}
	if !s.decode(c, &in) {
		return
	}
	fs, next, err := s.cfg.Logs.DescribeMetricFilters(c.r.Context(), c.logsScope(), logs.MetricFilterQuery{
		Group: in.LogGroupName, NamePrefix: in.FilterNamePrefix, MetricName: in.MetricName, MetricNamespace: in.MetricNamespace,
		Limit: in.Limit, NextToken: in.NextToken})
	if err != nil {
		s.logsError(c, err)
		return
	}
	type filterShape struct {
		FilterName             string                      `json:"filterName"`
		FilterPattern          string                      `json:"filterPattern"`
		MetricTransformations  []metricTransformationShape `json:"metricTransformations"`
		CreationTime           int64                       `json:"creationTime"`
		LogGroupName           string                      `json:"logGroupName"`
		ApplyOnTransformedLogs bool                        `json:"applyOnTransformedLogs"`
	}
	out := struct {
		MetricFilters []filterShape `json:"metricFilters"`
		NextToken     string        `json:"nextToken,omitempty"`
	}{MetricFilters: []filterShape{}, NextToken: next}
	for _, f := range fs {
		out.MetricFilters = append(out.MetricFilters, filterShape{FilterName: f.Name, FilterPattern: f.Pattern,
			MetricTransformations: []metricTransformationShape{metricTransformationShape(f.Transformation)},
			CreationTime:          f.CreationTime, LogGroupName: f.Group})
	}
	s.reply(c, out)
}

func (s *Server) deleteMetricFilter(c *call) {
	var in struct {
		LogGroupName string `json:"logGroupName"`
		FilterName   string `json:"filterName"`
	}
	if !s.decode(c, &in) || !required(c, "logGroupName", in.LogGroupName, "filterName", in.FilterName) {
		return
	}
	if err := s.cfg.Logs.DeleteMetricFilter(c.r.Context(), c.logsScope(), in.LogGroupName, in.FilterName); err != nil {
		s.logsError(c, err)
		return
	}
	s.reply(c, struct{}{})
}

func (s *Server) testMetricFilter(c *call) {
	var in struct {
		FilterPattern    *string  `json:"filterPattern"`
		LogEventMessages []string `json:"logEventMessages"`
	}
	if !s.decode(c, &in) || !required(c, "filterPattern", in.FilterPattern, "logEventMessages", in.LogEventMessages != nil) {
		return
	}
	matches, err := logs.TestMetricFilter(*in.FilterPattern, in.LogEventMessages)
	if err != nil {
		s.logsError(c, err)
		return
	}
	type match struct {
		EventNumber     int               `json:"eventNumber"`
		EventMessage    string            `json:"eventMessage"`
		ExtractedValues map[string]string `json:"extractedValues"`
	}
	out := struct {
		Matches []match `json:"matches"`
	}{Matches: make([]match, 0, len(matches))}
	for _, m := range matches {
		out.Matches = append(out.Matches, match(m))
	}
	s.reply(c, out)
}

func (s *Server) tagLogGroup(c *call) {
	var in struct {
		LogGroupName string            `json:"logGroupName"`
		Tags         map[string]string `json:"tags"`
	}
	if !s.decode(c, &in) || !required(c, "logGroupName", in.LogGroupName, "tags", in.Tags != nil) {
		return
	}
	if err := s.cfg.Logs.TagGroup(c.r.Context(), c.logsScope(), in.LogGroupName, in.Tags); err != nil {
		s.logsError(c, err)
		return
	}
	s.reply(c, struct{}{})
}

func (s *Server) untagLogGroup(c *call) {
	var in struct {
		LogGroupName string   `json:"logGroupName"`
		Tags         []string `json:"tags"`
	}
	if !s.decode(c, &in) || !required(c, "logGroupName", in.LogGroupName, "tags", in.Tags != nil) {
		return
	}
	if err := s.cfg.Logs.UntagGroup(c.r.Context(), c.logsScope(), in.LogGroupName, in.Tags); err != nil {
		s.logsError(c, err)
		return
	}
	s.reply(c, struct{}{})
}

func (s *Server) listTagsLogGroup(c *call) {
	var in struct {
		LogGroupName string `json:"logGroupName"`
	}
	if !s.decode(c, &in) || !required(c, "logGroupName", in.LogGroupName) {
		return
	}
	tags, err := s.cfg.Logs.Tags(c.r.Context(), c.logsScope(), in.LogGroupName)
	if err != nil {
		s.logsError(c, err)
		return
	}
	s.reply(c, struct {
		Tags map[string]string `json:"tags"`
	}{tags})
}

// resourceGroup resolves a resourceArn (TagResource and friends) to a log group name.
func resourceGroup(c *call, arn string) (string, bool) {
	if !required(c, "resourceArn", arn) {
		return "", false
	}
	return groupName(c, "", arn)
}

func (s *Server) logsTagResource(c *call) {
	var in struct {
		ResourceArn string            `json:"resourceArn"`
		Tags        map[string]string `json:"tags"`
	}
	if !s.decode(c, &in) || !required(c, "tags", in.Tags != nil) {
		return
	}
	name, ok := resourceGroup(c, in.ResourceArn)
	if !ok {
		return
	}
	if err := s.cfg.Logs.TagGroup(c.r.Context(), c.logsScope(), name, in.Tags); err != nil {
		s.logsError(c, err)
		return
	}
	s.reply(c, struct{}{})
}

func (s *Server) logsUntagResource(c *call) {
	var in struct {
		ResourceArn string   `json:"resourceArn"`
		TagKeys     []string `json:"tagKeys"`
	}
	if !s.decode(c, &in) || !required(c, "tagKeys", in.TagKeys != nil) {
		return
	}
	name, ok := resourceGroup(c, in.ResourceArn)
	if !ok {
		return
	}
	if err := s.cfg.Logs.UntagGroup(c.r.Context(), c.logsScope(), name, in.TagKeys); err != nil {
		s.logsError(c, err)
		return
	}
	s.reply(c, struct{}{})
}

func (s *Server) logsListTagsForResource(c *call) {
	var in struct {
		ResourceArn string `json:"resourceArn"`
	}
	if !s.decode(c, &in) {
		return
	}
	name, ok := resourceGroup(c, in.ResourceArn)
	if !ok {
		return
	}
	tags, err := s.cfg.Logs.Tags(c.r.Context(), c.logsScope(), name)
	if err != nil {
		s.logsError(c, err)
		return
	}
	s.reply(c, struct {
		Tags map[string]string `json:"tags"`
	}{tags})
}
