package api

import (
	"encoding/base64"
	"encoding/xml"
	"math"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/cairn-dev/cairn/internal/api/awsproto"
	cw "github.com/cairn-dev/cairn/internal/metrics"
)

// The CloudWatch operations, written once over the model's members (botocore
// cloudwatch/2010-08-01 service-2.json). Output lists carry xml tags for awsQuery's
// <List><member>…</member></List>; everything else is named as in the model.

type cwDimension struct {
	Name  string
	Value string
}

type cwTag struct {
	Key   string
	Value string
}

func toDims(in []cwDimension, member string) ([]cw.Dimension, *awsproto.Error) {
	if len(in) > 30 {
		return nil, cwInvalid("The collection %s must not have more than 30 members.", member)
	}
	out := make([]cw.Dimension, 0, len(in))
	seen := map[string]bool{}
	for i, d := range in {
		switch {
		case d.Name == "":
			return nil, cwMissing(member + ".member." + strconv.Itoa(i+1) + ".Name")
		case d.Value == "":
			return nil, cwMissing(member + ".member." + strconv.Itoa(i+1) + ".Value")
		case len(d.Name) > 255 || len(d.Value) > 1024:
			return nil, cwInvalid("The dimension %s.member.%d is too long: names are at most 255 characters, values at most 1024.", member, i+1)
		case seen[d.Name]:
			return nil, awsproto.Errorf("InvalidParameterCombinationException", "The collection %s must not contain duplicate dimension names (%s).", member, d.Name)
		}
		seen[d.Name] = true
		out = append(out, cw.Dimension{Name: d.Name, Value: d.Value})
	}
	return out, nil
}

func fromDims(in []cw.Dimension) []cwDimension {
	out := make([]cwDimension, 0, len(in))
	for _, d := range in {
		out = append(out, cwDimension{d.Name, d.Value})
	}
	return out
}

func nonNilStrings(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

func validNamespace(ns, member string) *awsproto.Error {
	switch {
	case ns == "":
		return cwMissing(member)
	case len(ns) > 255 || strings.HasPrefix(ns, ":"):
		return cwInvalid("The value %s for parameter %s is invalid: 1 to 255 characters, not starting with a colon.", ns, member)
	}
	return nil
}

// ---- alarms ----

type putMetricAlarmInput struct {
	AlarmName                        string
	AlarmDescription                 *string
	ActionsEnabled                   *bool
	OKActions                        []string
	AlarmActions                     []string
	InsufficientDataActions          []string
	MetricName                       string
	Namespace                        string
	Statistic                        string
	ExtendedStatistic                string
	Dimensions                       []cwDimension
	Period                           *int
	Unit                             string
	EvaluationPeriods                *int
	DatapointsToAlarm                *int
	Threshold                        *float64
	ComparisonOperator               string
	TreatMissingData                 string
	EvaluateLowSampleCountPercentile string
	Metrics                          []metricDataQuery
	Tags                             []cwTag
	ThresholdMetricID                string `json:"ThresholdMetricId"`
}

func (s *Server) putMetricAlarm(c *call, in *putMetricAlarmInput) (*cwNoOutput, error) {
	switch {
	case in.AlarmName == "":
		return nil, cwMissing("AlarmName")
	case len(in.Metrics) > 0 || in.ThresholdMetricID != "":
		return nil, cwInvalid("The parameters Metrics and ThresholdMetricId define a metric math or anomaly detection alarm, which cairn does not support; give MetricName, Namespace and Statistic.")
	case in.EvaluationPeriods == nil:
		return nil, cwMissing("EvaluationPeriods")
	case in.Threshold == nil:
		return nil, cwMissing("Threshold")
	}
	dims, derr := toDims(in.Dimensions, "Dimensions")
	if derr != nil {
		return nil, derr
	}
	cfg := cw.AlarmConfig{
		Name: in.AlarmName, Description: in.AlarmDescription, ActionsEnabled: in.ActionsEnabled == nil || *in.ActionsEnabled,
		OKActions: in.OKActions, AlarmActions: in.AlarmActions, InsufficientDataActions: in.InsufficientDataActions,
		Namespace: in.Namespace, MetricName: in.MetricName, Dimensions: dims, Statistic: in.Statistic, ExtendedStatistic: in.ExtendedStatistic,
		Unit: in.Unit, EvaluationPeriods: *in.EvaluationPeriods, Threshold: *in.Threshold, ComparisonOperator: in.ComparisonOperator,
		TreatMissingData: in.TreatMissingData, EvaluateLowSampleCountPercentile: in.EvaluateLowSampleCountPercentile,
	}
	if in.Period != nil {
		cfg.Period = *in.Period
	}
	if in.DatapointsToAlarm != nil {
		if *in.DatapointsToAlarm < 1 {
			return nil, cwInvalid("The parameter DatapointsToAlarm must be at least 1.")
		}
		cfg.DatapointsToAlarm = *in.DatapointsToAlarm
	}
	for i, t := range in.Tags {
		if t.Key == "" {
			return nil, cwMissing("Tags.member." + strconv.Itoa(i+1) + ".Key")
		}
		cfg.Tags = append(cfg.Tags, cw.Tag{Key: t.Key, Value: t.Value})
	}
	if err := s.cfg.Metrics.PutAlarm(c.r.Context(), c.principal.AccountID, c.auth.Region, cfg); err != nil {
		return nil, err
	}
	return &cwNoOutput{}, nil
}

type cwMetricAlarm struct {
	AlarmName                          string
	AlarmArn                           string
	AlarmDescription                   *string `json:",omitempty" xml:",omitempty"`
	AlarmConfigurationUpdatedTimestamp awsproto.Timestamp
	ActionsEnabled                     bool
	OKActions                          []string `xml:"OKActions>member"`
	AlarmActions                       []string `xml:"AlarmActions>member"`
	InsufficientDataActions            []string `xml:"InsufficientDataActions>member"`
	StateValue                         string
	StateReason                        string
	StateReasonData                    string `json:",omitempty" xml:",omitempty"`
	StateUpdatedTimestamp              awsproto.Timestamp
	MetricName                         string
	Namespace                          string
	Statistic                          string        `json:",omitempty" xml:",omitempty"`
	ExtendedStatistic                  string        `json:",omitempty" xml:",omitempty"`
	Dimensions                         []cwDimension `xml:"Dimensions>member"`
	Period                             int
	Unit                               string `json:",omitempty" xml:",omitempty"`
	EvaluationPeriods                  int
	DatapointsToAlarm                  int
	Threshold                          float64
	ComparisonOperator                 string
	TreatMissingData                   string
	EvaluateLowSampleCountPercentile   string `json:",omitempty" xml:",omitempty"`
	StateTransitionedTimestamp         awsproto.Timestamp
}

func toMetricAlarm(a cw.Alarm) cwMetricAlarm {
	return cwMetricAlarm{
		AlarmName: a.Name, AlarmArn: a.ARN(), AlarmDescription: a.Description, AlarmConfigurationUpdatedTimestamp: awsproto.Timestamp{Time: a.ConfigUpdated},
		ActionsEnabled: a.ActionsEnabled, OKActions: nonNilStrings(a.OKActions), AlarmActions: nonNilStrings(a.AlarmActions),
		InsufficientDataActions: nonNilStrings(a.InsufficientDataActions), StateValue: a.State, StateReason: a.StateReason,
		StateReasonData: a.StateReasonData, StateUpdatedTimestamp: awsproto.Timestamp{Time: a.StateUpdated},
		MetricName: a.MetricName, Namespace: a.Namespace, Statistic: a.Statistic, ExtendedStatistic: a.ExtendedStatistic,
		Dimensions: fromDims(a.Dimensions), Period: a.Period, Unit: a.Unit, EvaluationPeriods: a.EvaluationPeriods, DatapointsToAlarm: a.M(),
		Threshold: a.Threshold, ComparisonOperator: a.ComparisonOperator, TreatMissingData: a.Treatment(),
		EvaluateLowSampleCountPercentile: a.EvaluateLowSampleCountPercentile, StateTransitionedTimestamp: awsproto.Timestamp{Time: a.StateTransitioned},
	}
}

type describeAlarmsInput struct {
	AlarmNames          []string
	AlarmNamePrefix     string
	AlarmTypes          []string
	ChildrenOfAlarmName string
	ParentsOfAlarmName  string
	StateValue          string
	ActionPrefix        string
	MaxRecords          *int
	NextToken           string
}

type describeAlarmsOutput struct {
	CompositeAlarms []struct{}      `xml:"CompositeAlarms>member"`
	MetricAlarms    []cwMetricAlarm `xml:"MetricAlarms>member"`
	NextToken       string          `json:",omitempty" xml:",omitempty"`
}

func validStateValue(v, member string) *awsproto.Error {
	if v != "" && v != cw.StateOK && v != cw.StateAlarm && v != cw.StateInsufficientData {
		return cwInvalid("The value %s for parameter %s is not one of OK, ALARM, INSUFFICIENT_DATA.", v, member)
	}
	return nil
}

func validAlarmTypes(types []string) (metricAlarms bool, err *awsproto.Error) {
	if len(types) == 0 {
		return true, nil
	}
	for _, t := range types {
		switch t {
		case "MetricAlarm":
			metricAlarms = true
		case "CompositeAlarm":
		default:
			return false, cwInvalid("The value %s for parameter AlarmTypes is not one of CompositeAlarm, MetricAlarm.", t)
		}
	}
	return metricAlarms, nil
}

func maxRecords(v *int, def, limit int) (int, *awsproto.Error) {
	if v == nil {
		return def, nil
	}
	if *v < 1 || *v > limit {
		return 0, cwInvalid("The parameter MaxRecords must be between 1 and %d, got %d.", limit, *v)
	}
	return *v, nil
}

func encodeToken(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }

func decodeToken(t string) (string, *awsproto.Error) {
	b, err := base64.RawURLEncoding.DecodeString(t)
	if err != nil || len(b) == 0 {
		return "", awsproto.Errorf("InvalidNextToken", "The NextToken %q is not valid.", t)
	}
	return string(b), nil
}

func (s *Server) describeAlarms(c *call, in *describeAlarmsInput) (*describeAlarmsOutput, error) {
	limit, err := maxRecords(in.MaxRecords, 50, 100)
	if err != nil {
		return nil, err
	}
	if len(in.AlarmNames) > 100 {
		return nil, cwInvalid("The collection AlarmNames must not have more than 100 members.")
	}
	if err := validStateValue(in.StateValue, "StateValue"); err != nil {
		return nil, err
	}
	wantMetric, err := validAlarmTypes(in.AlarmTypes)
	if err != nil {
		return nil, err
	}
	out := &describeAlarmsOutput{CompositeAlarms: []struct{}{}, MetricAlarms: []cwMetricAlarm{}}
	if !wantMetric || in.ChildrenOfAlarmName != "" || in.ParentsOfAlarmName != "" { // composite alarms only
		return out, nil
	}
	q := cw.AlarmQuery{Account: c.principal.AccountID, Region: c.auth.Region, Names: in.AlarmNames, Prefix: in.AlarmNamePrefix,
		State: in.StateValue, ActionPrefix: in.ActionPrefix, Limit: limit}
	if in.NextToken != "" {
		if q.After, err = decodeToken(in.NextToken); err != nil {
			return nil, err
		}
	}
	alarms, next := s.cfg.Metrics.Alarms(q)
	for _, a := range alarms {
		out.MetricAlarms = append(out.MetricAlarms, toMetricAlarm(a))
	}
	if next != "" {
		out.NextToken = encodeToken(next)
	}
	return out, nil
}

type describeAlarmsForMetricInput struct {
	MetricName        string
	Namespace         string
	Statistic         string
	ExtendedStatistic string
	Dimensions        []cwDimension
	Period            *int
	Unit              string
}

type describeAlarmsForMetricOutput struct {
	MetricAlarms []cwMetricAlarm `xml:"MetricAlarms>member"`
}

func (s *Server) describeAlarmsForMetric(c *call, in *describeAlarmsForMetricInput) (*describeAlarmsForMetricOutput, error) {
	if in.MetricName == "" {
		return nil, cwMissing("MetricName")
	}
	if err := validNamespace(in.Namespace, "Namespace"); err != nil {
		return nil, err
	}
	if in.Statistic != "" && !cw.ValidStatistic(in.Statistic) {
		return nil, cwInvalid("The value %s for parameter Statistic is not one of SampleCount, Average, Sum, Minimum, Maximum.", in.Statistic)
	}
	dims, derr := toDims(in.Dimensions, "Dimensions")
	if derr != nil {
		return nil, derr
	}
	period := 0
	if in.Period != nil {
		period = *in.Period
	}
	out := &describeAlarmsForMetricOutput{MetricAlarms: []cwMetricAlarm{}}
	for _, a := range s.cfg.Metrics.AlarmsForMetric(cw.Metric{Account: c.principal.AccountID, Region: c.auth.Region, Namespace: in.Namespace, Name: in.MetricName, Dimensions: dims},
		in.Statistic, in.ExtendedStatistic, period, in.Unit) {
		out.MetricAlarms = append(out.MetricAlarms, toMetricAlarm(a))
	}
	return out, nil
}

type alarmNamesInput struct {
	AlarmNames []string
}

func (in *alarmNamesInput) validate() *awsproto.Error {
	switch {
	case len(in.AlarmNames) == 0:
		return cwMissing("AlarmNames")
	case len(in.AlarmNames) > 100:
		return cwInvalid("The collection AlarmNames must not have more than 100 members.")
	}
	return nil
}

func (s *Server) deleteAlarms(c *call, in *alarmNamesInput) (*cwNoOutput, error) {
	if err := in.validate(); err != nil {
		return nil, err
	}
	if err := s.cfg.Metrics.DeleteAlarms(c.r.Context(), c.principal.AccountID, c.auth.Region, in.AlarmNames); err != nil {
		return nil, err
	}
	return &cwNoOutput{}, nil
}

func (s *Server) enableAlarmActions(c *call, in *alarmNamesInput) (*cwNoOutput, error) {
	return s.setActions(c, in, true)
}

func (s *Server) disableAlarmActions(c *call, in *alarmNamesInput) (*cwNoOutput, error) {
	return s.setActions(c, in, false)
}

func (s *Server) setActions(c *call, in *alarmNamesInput, enabled bool) (*cwNoOutput, error) {
	if err := in.validate(); err != nil {
		return nil, err
	}
	if err := s.cfg.Metrics.SetActionsEnabled(c.r.Context(), c.principal.AccountID, c.auth.Region, in.AlarmNames, enabled); err != nil {
		return nil, err
	}
	return &cwNoOutput{}, nil
}

type setAlarmStateInput struct {
	AlarmName       string
	StateValue      string
	StateReason     string
	StateReasonData string
}

func (s *Server) setAlarmState(c *call, in *setAlarmStateInput) (*cwNoOutput, error) {
	switch {
	case in.AlarmName == "":
		return nil, cwMissing("AlarmName")
	case in.StateValue == "":
		return nil, cwMissing("StateValue")
	case in.StateReason == "":
		return nil, cwMissing("StateReason")
	}
	if err := s.cfg.Metrics.SetAlarmState(c.r.Context(), c.principal.AccountID, c.auth.Region, in.AlarmName, in.StateValue, in.StateReason, in.StateReasonData); err != nil {
		return nil, err
	}
	return &cwNoOutput{}, nil
}

type describeAlarmHistoryInput struct {
	AlarmName       string
	AlarmTypes      []string
	HistoryItemType string
	StartDate       *awsproto.Timestamp
	EndDate         *awsproto.Timestamp
	MaxRecords      *int
	NextToken       string
	ScanBy          string
}

type cwHistoryItem struct {
	AlarmName       string
	AlarmType       string
	Timestamp       awsproto.Timestamp
	HistoryItemType string
	HistorySummary  string
	HistoryData     string
}

type describeAlarmHistoryOutput struct {
	AlarmHistoryItems []cwHistoryItem `xml:"AlarmHistoryItems>member"`
	NextToken         string          `json:",omitempty" xml:",omitempty"`
}

func (s *Server) describeAlarmHistory(c *call, in *describeAlarmHistoryInput) (*describeAlarmHistoryOutput, error) {
	limit, err := maxRecords(in.MaxRecords, 100, 100)
	if err != nil {
		return nil, err
	}
	switch in.HistoryItemType {
	case "", "ConfigurationUpdate", "StateUpdate", "Action", "AlarmContributorStateUpdate", "AlarmContributorAction":
	default:
		return nil, cwInvalid("The value %s for parameter HistoryItemType is not one of ConfigurationUpdate, StateUpdate, Action, AlarmContributorStateUpdate, AlarmContributorAction.", in.HistoryItemType)
	}
	if in.ScanBy != "" && in.ScanBy != "TimestampDescending" && in.ScanBy != "TimestampAscending" {
		return nil, cwInvalid("The value %s for parameter ScanBy is not one of TimestampDescending, TimestampAscending.", in.ScanBy)
	}
	wantMetric, err := validAlarmTypes(in.AlarmTypes)
	if err != nil {
		return nil, err
	}
	out := &describeAlarmHistoryOutput{AlarmHistoryItems: []cwHistoryItem{}}
	if !wantMetric {
		return out, nil
	}
	q := cw.HistoryQuery{Account: c.principal.AccountID, Region: c.auth.Region, AlarmName: in.AlarmName, Type: in.HistoryItemType,
		Ascending: in.ScanBy == "TimestampAscending", Limit: limit}
	if in.StartDate != nil {
		q.Start = in.StartDate.Time
	}
	if in.EndDate != nil {
		q.End = in.EndDate.Time
	}
	if in.NextToken != "" {
		tok, err := decodeToken(in.NextToken)
		if err != nil {
			return nil, err
		}
		n, perr := strconv.Atoi(tok)
		if perr != nil || n < 0 {
			return nil, awsproto.Errorf("InvalidNextToken", "The NextToken %q is not valid.", in.NextToken)
		}
		q.Offset = n
	}
	items, next, herr := s.cfg.Metrics.History(c.r.Context(), q)
	if herr != nil {
		return nil, herr
	}
	for _, h := range items {
		out.AlarmHistoryItems = append(out.AlarmHistoryItems, cwHistoryItem{AlarmName: h.AlarmName, AlarmType: "MetricAlarm",
			Timestamp: awsproto.Timestamp{Time: h.Time}, HistoryItemType: h.Type, HistorySummary: h.Summary, HistoryData: h.Data})
	}
	if next > 0 {
		out.NextToken = encodeToken(strconv.Itoa(next))
	}
	return out, nil
}

// ---- tags ----

type tagResourceInput struct {
	ResourceARN string
	Tags        []cwTag
}

type untagResourceInput struct {
	ResourceARN string
	TagKeys     []string
}

type listTagsForResourceInput struct {
	ResourceARN string
}

type listTagsForResourceOutput struct {
	Tags []cwTag `xml:"Tags>member"`
}

type cwEmpty struct{}

// alarmFromARN resolves an alarm ARN of the caller's account and region.
func (s *Server) alarmFromARN(c *call, arn string) (string, *awsproto.Error) {
	if arn == "" {
		return "", cwMissing("ResourceARN")
	}
	prefix := "arn:aws:cloudwatch:" + c.auth.Region + ":" + c.principal.AccountID + ":alarm:"
	name, ok := strings.CutPrefix(arn, prefix)
	if !ok || name == "" {
		return "", cwInvalid("The value %s for parameter ResourceARN is not an alarm ARN of this account and region (%s<name>).", arn, prefix)
	}
	if _, ok := s.cfg.Metrics.Alarm(c.principal.AccountID, c.auth.Region, name); !ok {
		return "", &awsproto.Error{Code: "ResourceNotFoundException", Message: "Alarm " + name + " does not exist.", Status: 404}
	}
	return name, nil
}

func (s *Server) tagResource(c *call, in *tagResourceInput) (*cwEmpty, error) {
	name, err := s.alarmFromARN(c, in.ResourceARN)
	if err != nil {
		return nil, err
	}
	if len(in.Tags) == 0 {
		return nil, cwMissing("Tags")
	}
	var tags []cw.Tag
	for i, t := range in.Tags {
		if t.Key == "" || len(t.Key) > 128 || len(t.Value) > 256 {
			return nil, cwInvalid("The tag Tags.member.%d must have a key of 1 to 128 characters and a value of at most 256.", i+1)
		}
		tags = append(tags, cw.Tag{Key: t.Key, Value: t.Value})
	}
	if err := s.cfg.Metrics.SetTags(c.r.Context(), c.principal.AccountID, c.auth.Region, name, tags, nil); err != nil {
		return nil, err
	}
	return &cwEmpty{}, nil
}

func (s *Server) untagResource(c *call, in *untagResourceInput) (*cwEmpty, error) {
	name, err := s.alarmFromARN(c, in.ResourceARN)
	if err != nil {
		return nil, err
	}
	if len(in.TagKeys) == 0 {
		return nil, cwMissing("TagKeys")
	}
	if err := s.cfg.Metrics.SetTags(c.r.Context(), c.principal.AccountID, c.auth.Region, name, nil, in.TagKeys); err != nil {
		return nil, err
	}
	return &cwEmpty{}, nil
}

func (s *Server) listTagsForResource(c *call, in *listTagsForResourceInput) (*listTagsForResourceOutput, error) {
	name, err := s.alarmFromARN(c, in.ResourceARN)
	if err != nil {
		return nil, err
	}
	a, _ := s.cfg.Metrics.Alarm(c.principal.AccountID, c.auth.Region, name)
	out := &listTagsForResourceOutput{Tags: []cwTag{}}
	for _, t := range a.Tags {
		out.Tags = append(out.Tags, cwTag{t.Key, t.Value})
	}
	return out, nil
}

// ---- metrics ----

type cwStatisticSet struct {
	SampleCount *float64
	Sum         *float64
	Minimum     *float64
	Maximum     *float64
}

type metricDatum struct {
	MetricName        string
	Dimensions        []cwDimension
	Timestamp         *awsproto.Timestamp
	Value             *float64
	StatisticValues   *cwStatisticSet
	Values            []float64
	Counts            []float64
	Unit              string
	StorageResolution *int
}

type putMetricDataInput struct {
	Namespace        string
	MetricData       []metricDatum
	EntityMetricData []struct{}
}

// CloudWatch rejects values too large or too small in magnitude for its storage.
func validValue(v float64) bool {
	a := math.Abs(v)
	return !math.IsNaN(v) && !math.IsInf(v, 0) && (a == 0 || a >= 8.515920e-109 && a <= 1.174271e+108)
}

func (s *Server) putMetricData(c *call, in *putMetricDataInput) (*cwNoOutput, error) {
	if err := validNamespace(in.Namespace, "Namespace"); err != nil {
		return nil, err
	}
	if strings.HasPrefix(in.Namespace, "AWS/") {
		return nil, cwInvalid("The value %s for parameter Namespace is invalid: namespaces starting with AWS/ are reserved for AWS services.", in.Namespace)
	}
	switch {
	case len(in.EntityMetricData) > 0:
		return nil, cwInvalid("The parameter EntityMetricData is not supported by cairn; send MetricData.")
	case len(in.MetricData) == 0:
		return nil, cwMissing("MetricData")
	case len(in.MetricData) > 1000:
		return nil, cwInvalid("The collection MetricData must not have more than 1000 members.")
	}
	now := s.cfg.Now()
	data := make([]cw.Datum, 0, len(in.MetricData))
	for i, m := range in.MetricData {
		member := "MetricData.member." + strconv.Itoa(i+1)
		if m.MetricName == "" {
			return nil, cwMissing(member + ".MetricName")
		}
		if len(m.MetricName) > 255 {
			return nil, cwInvalid("The parameter %s.MetricName must be at most 255 characters long.", member)
		}
		dims, derr := toDims(m.Dimensions, member+".Dimensions")
		if derr != nil {
			return nil, derr
		}
		if !cw.ValidUnit(m.Unit) {
			return nil, cwInvalid("The value %s for parameter %s.Unit is not a CloudWatch standard unit.", m.Unit, member)
		}
		if m.StorageResolution != nil && *m.StorageResolution != 1 && *m.StorageResolution != 60 {
			return nil, cwInvalid("The parameter %s.StorageResolution must be 1 or 60, got %d.", member, *m.StorageResolution)
		}
		t := now
		if m.Timestamp != nil {
			t = m.Timestamp.Time
			if t.Before(now.Add(-14*24*time.Hour)) || t.After(now.Add(2*time.Hour)) {
				return nil, cwInvalid("The parameter %s.Timestamp must specify a time no more than two weeks in the past and no more than two hours in the future.", member)
			}
		}
		d := cw.Datum{Account: c.principal.AccountID, Region: c.auth.Region, Namespace: in.Namespace, Name: m.MetricName, Dimensions: dims, Time: t, Unit: m.Unit}
		given := 0
		for _, b := range []bool{m.Value != nil, m.StatisticValues != nil, len(m.Values) > 0} {
			if b {
				given++
			}
		}
		switch {
		case given > 1:
			return nil, awsproto.Errorf("InvalidParameterCombinationException", "The parameters %[1]s.Value, %[1]s.StatisticValues and %[1]s.Values are mutually exclusive and you have specified more than one.", member)
		case given == 0:
			return nil, awsproto.Errorf("MissingRequiredParameterException", "One of the parameters %[1]s.Value, %[1]s.StatisticValues or %[1]s.Values is required.", member)
		case m.Value != nil:
			if !validValue(*m.Value) {
				return nil, cwInvalid("The value %v for parameter %s.Value is out of CloudWatch's range (magnitude 8.515920e-109 to 1.174271e+108, or 0).", *m.Value, member)
			}
			d.Value = *m.Value
			data = append(data, d)
		case m.StatisticValues != nil:
			sv := m.StatisticValues
			for _, f := range []struct {
				name string
				v    *float64
			}{{"SampleCount", sv.SampleCount}, {"Sum", sv.Sum}, {"Minimum", sv.Minimum}, {"Maximum", sv.Maximum}} {
				if f.v == nil {
					return nil, cwMissing(member + ".StatisticValues." + f.name)
				}
				if !validValue(*f.v) {
					return nil, cwInvalid("The value %v for parameter %s.StatisticValues.%s is out of CloudWatch's range.", *f.v, member, f.name)
				}
			}
			if *sv.SampleCount <= 0 || *sv.Minimum > *sv.Maximum {
				return nil, cwInvalid("The parameter %s.StatisticValues is inconsistent: SampleCount must be positive and Minimum at most Maximum.", member)
			}
			d.Set = &cw.StatisticSet{SampleCount: *sv.SampleCount, Sum: *sv.Sum, Minimum: *sv.Minimum, Maximum: *sv.Maximum}
			data = append(data, d)
		default:
			if len(m.Values) > 150 {
				return nil, cwInvalid("The collection %s.Values must not have more than 150 members.", member)
			}
			if len(m.Counts) > 0 && len(m.Counts) != len(m.Values) {
				return nil, awsproto.Errorf("InvalidParameterCombinationException", "The collections %[1]s.Values and %[1]s.Counts must have the same number of members.", member)
			}
			for j, v := range m.Values {
				if !validValue(v) {
					return nil, cwInvalid("The value %v for parameter %s.Values.member.%d is out of CloudWatch's range.", v, member, j+1)
				}
				e := d
				e.Value, e.Count = v, 1
				if len(m.Counts) > 0 {
					if m.Counts[j] <= 0 {
						continue
					}
					e.Count = m.Counts[j]
				}
				data = append(data, e)
			}
		}
	}
	if err := s.cfg.Metrics.Put(c.r.Context(), data); err != nil {
		return nil, err
	}
	return &cwNoOutput{}, nil
}

type getMetricStatisticsInput struct {
	Namespace          string
	MetricName         string
	Dimensions         []cwDimension
	StartTime          *awsproto.Timestamp
	EndTime            *awsproto.Timestamp
	Period             *int
	Statistics         []string
	ExtendedStatistics []string
	Unit               string
}

// statMap is Datapoint.ExtendedStatistics: a JSON/CBOR map, an awsQuery <entry> list.
type statMap map[string]float64

func (m statMap) MarshalXML(e *xml.Encoder, start xml.StartElement) error {
	type entry struct {
		Key   string  `xml:"key"`
		Value float64 `xml:"value"`
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	entries := make([]entry, 0, len(m))
	for _, k := range keys {
		entries = append(entries, entry{k, m[k]})
	}
	return e.EncodeElement(struct {
		Entries []entry `xml:"entry"`
	}{entries}, start)
}

type cwDatapoint struct {
	Timestamp          awsproto.Timestamp
	SampleCount        *float64 `json:",omitempty" xml:",omitempty"`
	Average            *float64 `json:",omitempty" xml:",omitempty"`
	Sum                *float64 `json:",omitempty" xml:",omitempty"`
	Minimum            *float64 `json:",omitempty" xml:",omitempty"`
	Maximum            *float64 `json:",omitempty" xml:",omitempty"`
	Unit               string
	ExtendedStatistics statMap `json:",omitempty" xml:",omitempty"`
}

type getMetricStatisticsOutput struct {
	Label      string
	Datapoints []cwDatapoint `xml:"Datapoints>member"`
}

// validPeriod checks a Period: cairn keeps one-minute resolution, so any multiple of 60.
func validPeriod(p *int, member string) (time.Duration, *awsproto.Error) {
	switch {
	case p == nil:
		return 0, cwMissing(member)
	case *p < 60 || *p%60 != 0:
		return 0, cwInvalid("The parameter %s must be a multiple of 60 (cairn keeps 1-minute resolution), got %d.", member, *p)
	}
	return time.Duration(*p) * time.Second, nil
}

func timeRange(start, end *awsproto.Timestamp) (time.Time, time.Time, *awsproto.Error) {
	switch {
	case start == nil:
		return time.Time{}, time.Time{}, cwMissing("StartTime")
	case end == nil:
		return time.Time{}, time.Time{}, cwMissing("EndTime")
	case !start.Before(end.Time):
		return time.Time{}, time.Time{}, cwInvalid("The parameter StartTime must be less than the parameter EndTime.")
	}
	return start.Time, end.Time, nil
}

func (s *Server) getMetricStatistics(c *call, in *getMetricStatisticsInput) (*getMetricStatisticsOutput, error) {
	if err := validNamespace(in.Namespace, "Namespace"); err != nil {
		return nil, err
	}
	if in.MetricName == "" {
		return nil, cwMissing("MetricName")
	}
	start, end, err := timeRange(in.StartTime, in.EndTime)
	if err != nil {
		return nil, err
	}
	period, err := validPeriod(in.Period, "Period")
	if err != nil {
		return nil, err
	}
	switch {
	case len(in.Statistics) == 0 && len(in.ExtendedStatistics) == 0:
		return nil, cwMissing("Statistics or ExtendedStatistics")
	case len(in.Statistics)+len(in.ExtendedStatistics) > 10:
		return nil, awsproto.Errorf("InvalidParameterCombinationException", "At most 10 statistics may be requested in Statistics and ExtendedStatistics together.")
	case int64(end.Sub(start)/period) > 1440:
		return nil, awsproto.Errorf("InvalidParameterCombinationException", "You have requested up to %d datapoints, which exceeds the limit of 1,440. You may reduce the datapoints requested by increasing Period, or decreasing the time range.", int64(end.Sub(start)/period))
	case !cw.ValidUnit(in.Unit):
		return nil, cwInvalid("The value %s for parameter Unit is not a CloudWatch standard unit.", in.Unit)
	}
	for i, st := range in.Statistics {
		if !cw.ValidStatistic(st) {
			return nil, cwInvalid("The value %s for parameter Statistics.member.%d is not one of SampleCount, Average, Sum, Minimum, Maximum.", st, i+1)
		}
	}
	for i, st := range in.ExtendedStatistics {
		if _, ok := cw.ParsePercentile(st); !ok {
			return nil, cwInvalid("The value %s for parameter ExtendedStatistics.member.%d is not supported: cairn computes percentiles pNN and pNN.NN.", st, i+1)
		}
	}
	dims, derr := toDims(in.Dimensions, "Dimensions")
	if derr != nil {
		return nil, derr
	}
	dps, qerr := s.cfg.Metrics.Statistics(c.r.Context(), cw.Query{
		Metric: cw.Metric{Account: c.principal.AccountID, Region: c.auth.Region, Namespace: in.Namespace, Name: in.MetricName, Dimensions: dims},
		Start:  start, End: end, Period: period, Unit: in.Unit})
	if qerr != nil {
		return nil, qerr
	}
	out := &getMetricStatisticsOutput{Label: in.MetricName, Datapoints: []cwDatapoint{}}
	for _, d := range dps {
		p := cwDatapoint{Timestamp: awsproto.Timestamp{Time: d.Timestamp}, Unit: d.Unit}
		if p.Unit == "" {
			p.Unit = "None"
		}
		for _, st := range in.Statistics {
			v, _ := d.Statistic(st)
			f := &v
			switch st {
			case "SampleCount":
				p.SampleCount = f
			case "Average":
				p.Average = f
			case "Sum":
				p.Sum = f
			case "Minimum":
				p.Minimum = f
			case "Maximum":
				p.Maximum = f
			}
		}
		if len(in.ExtendedStatistics) > 0 {
			p.ExtendedStatistics = statMap{}
			for _, st := range in.ExtendedStatistics {
				p.ExtendedStatistics[st], _ = d.Statistic(st)
			}
		}
		out.Datapoints = append(out.Datapoints, p)
	}
	return out, nil
}

type cwMetric struct {
	Namespace  string
	MetricName string
	Dimensions []cwDimension `xml:"Dimensions>member"`
}

type metricStat struct {
	Metric *cwMetric
	Period *int
	Stat   string
	Unit   string
}

type metricDataQuery struct {
	ID         string `json:"Id"`
	MetricStat *metricStat
	Expression string
	Label      string
	ReturnData *bool
	Period     *int
	AccountID  string `json:"AccountId"`
}

type getMetricDataInput struct {
	MetricDataQueries []metricDataQuery
	StartTime         *awsproto.Timestamp
	EndTime           *awsproto.Timestamp
	NextToken         string
	ScanBy            string
	MaxDatapoints     *int
	LabelOptions      *struct{ Timezone string }
}

type metricDataResult struct {
	ID         string               `json:"Id" xml:"Id"`
	Label      string               `xml:"Label"`
	Timestamps []awsproto.Timestamp `xml:"Timestamps>member"`
	Values     []float64            `xml:"Values>member"`
	StatusCode string               `xml:"StatusCode"`
	Messages   []struct{}           `xml:"Messages>member"`
}

type getMetricDataOutput struct {
	MetricDataResults []metricDataResult `xml:"MetricDataResults>member"`
	Messages          []struct{}         `xml:"Messages>member"`
}

var metricIDRe = regexp.MustCompile(`^[a-z][a-zA-Z0-9_]*$`)

func (s *Server) getMetricData(c *call, in *getMetricDataInput) (*getMetricDataOutput, error) {
	start, end, err := timeRange(in.StartTime, in.EndTime)
	if err != nil {
		return nil, err
	}
	switch {
	case len(in.MetricDataQueries) == 0:
		return nil, cwMissing("MetricDataQueries")
	case len(in.MetricDataQueries) > 500:
		return nil, cwInvalid("The collection MetricDataQueries must not have more than 500 members.")
	case in.NextToken != "":
		return nil, awsproto.Errorf("InvalidNextToken", "The NextToken %q is not valid: cairn returns every datapoint in one page.", in.NextToken)
	case in.ScanBy != "" && in.ScanBy != "TimestampDescending" && in.ScanBy != "TimestampAscending":
		return nil, cwInvalid("The value %s for parameter ScanBy is not one of TimestampDescending, TimestampAscending.", in.ScanBy)
	}
	out := &getMetricDataOutput{MetricDataResults: []metricDataResult{}, Messages: []struct{}{}}
	seen := map[string]bool{}
	for i, q := range in.MetricDataQueries {
		member := "MetricDataQueries.member." + strconv.Itoa(i+1)
		switch {
		case q.ID == "":
			return nil, cwMissing(member + ".Id")
		case !metricIDRe.MatchString(q.ID) || len(q.ID) > 255:
			return nil, cwInvalid("The value %s for parameter %s.Id must start with a lowercase letter and contain only letters, digits and underscores.", q.ID, member)
		case seen[q.ID]:
			return nil, cwInvalid("The Id %s of %s is used by another query.", q.ID, member)
		case q.Expression != "" && q.MetricStat != nil:
			return nil, awsproto.Errorf("InvalidParameterCombinationException", "The parameters %[1]s.MetricStat and %[1]s.Expression are mutually exclusive.", member)
		case q.Expression != "":
			return nil, cwInvalid("The expression %q of %s is metric math, which cairn does not evaluate; use MetricStat queries.", q.Expression, member)
		case q.MetricStat == nil:
			return nil, cwMissing(member + ".MetricStat")
		case q.MetricStat.Metric == nil:
			return nil, cwMissing(member + ".MetricStat.Metric")
		case q.MetricStat.Metric.MetricName == "":
			return nil, cwMissing(member + ".MetricStat.Metric.MetricName")
		case q.MetricStat.Stat == "":
			return nil, cwMissing(member + ".MetricStat.Stat")
		}
		seen[q.ID] = true
		if err := validNamespace(q.MetricStat.Metric.Namespace, member+".MetricStat.Metric.Namespace"); err != nil {
			return nil, err
		}
		if _, ok := cw.ParsePercentile(q.MetricStat.Stat); !ok && !cw.ValidStatistic(q.MetricStat.Stat) {
			return nil, cwInvalid("The value %s for parameter %s.MetricStat.Stat is not supported: SampleCount, Average, Sum, Minimum, Maximum or pNN.", q.MetricStat.Stat, member)
		}
		period, err := validPeriod(q.MetricStat.Period, member+".MetricStat.Period")
		if err != nil {
			return nil, err
		}
		dims, derr := toDims(q.MetricStat.Metric.Dimensions, member+".MetricStat.Metric.Dimensions")
		if derr != nil {
			return nil, derr
		}
		if q.ReturnData != nil && !*q.ReturnData {
			continue
		}
		dps, qerr := s.cfg.Metrics.Statistics(c.r.Context(), cw.Query{
			Metric: cw.Metric{Account: c.principal.AccountID, Region: c.auth.Region, Namespace: q.MetricStat.Metric.Namespace, Name: q.MetricStat.Metric.MetricName, Dimensions: dims},
			Start:  start, End: end, Period: period, Unit: q.MetricStat.Unit})
		if qerr != nil {
			return nil, qerr
		}
		r := metricDataResult{ID: q.ID, Label: q.Label, Timestamps: []awsproto.Timestamp{}, Values: []float64{}, StatusCode: "Complete", Messages: []struct{}{}}
		if r.Label == "" {
			r.Label = q.MetricStat.Metric.MetricName
		}
		if in.ScanBy != "TimestampAscending" {
			for i, j := 0, len(dps)-1; i < j; i, j = i+1, j-1 {
				dps[i], dps[j] = dps[j], dps[i]
			}
		}
		for _, d := range dps {
			v, _ := d.Statistic(q.MetricStat.Stat)
			r.Timestamps = append(r.Timestamps, awsproto.Timestamp{Time: d.Timestamp})
			r.Values = append(r.Values, v)
		}
		out.MetricDataResults = append(out.MetricDataResults, r)
	}
	return out, nil
}

type listMetricsInput struct {
	Namespace  string
	MetricName string
	Dimensions []struct {
		Name  string
		Value *string
	}
	NextToken             string
	RecentlyActive        string
	IncludeLinkedAccounts *bool
	OwningAccount         string
}

type listMetricsOutput struct {
	Metrics   []cwMetric `xml:"Metrics>member"`
	NextToken string     `json:",omitempty" xml:",omitempty"`
}

func (s *Server) listMetrics(c *call, in *listMetricsInput) (*listMetricsOutput, error) {
	q := cw.ListQuery{Account: c.principal.AccountID, Region: c.auth.Region, Namespace: in.Namespace, Name: in.MetricName}
	switch in.RecentlyActive {
	case "":
	case "PT3H":
		q.ActiveSince = s.cfg.Now().Add(-3 * time.Hour)
	default:
		return nil, cwInvalid("The value %s for parameter RecentlyActive is not PT3H.", in.RecentlyActive)
	}
	if len(in.Dimensions) > 10 {
		return nil, cwInvalid("The collection Dimensions must not have more than 10 members.")
	}
	for i, d := range in.Dimensions {
		if d.Name == "" {
			return nil, cwMissing("Dimensions.member." + strconv.Itoa(i+1) + ".Name")
		}
		q.Dimensions = append(q.Dimensions, cw.DimensionFilter{Name: d.Name, Value: d.Value})
	}
	if in.NextToken != "" {
		tok, err := decodeToken(in.NextToken)
		if err != nil {
			return nil, err
		}
		n, perr := strconv.ParseInt(tok, 10, 64)
		if perr != nil || n < 0 {
			return nil, awsproto.Errorf("InvalidNextToken", "The NextToken %q is not valid.", in.NextToken)
		}
		q.After = n
	}
	list, next, err := s.cfg.Metrics.ListMetrics(c.r.Context(), q)
	if err != nil {
		return nil, err
	}
	out := &listMetricsOutput{Metrics: []cwMetric{}}
	for _, m := range list {
		out.Metrics = append(out.Metrics, cwMetric{Namespace: m.Namespace, MetricName: m.Name, Dimensions: fromDims(m.Dimensions)})
	}
	if next > 0 {
		out.NextToken = encodeToken(strconv.FormatInt(next, 10))
	}
	return out, nil
}
