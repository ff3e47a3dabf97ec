package console

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/cairn-dev/cairn/internal/metrics"
	"github.com/cairn-dev/cairn/internal/notify"
)

// Alarm pages: PutMetricAlarm, DeleteAlarms, EnableAlarmActions and DisableAlarmActions through
// metrics.Store, as the API runs them; the alarm's page charts its metric against the threshold.

var (
	alarmStates = []string{metrics.StateAlarm, metrics.StateOK, metrics.StateInsufficientData}
	statistics  = []string{"Sum", "Average", "Minimum", "Maximum", "SampleCount"}
	comparisons = []struct{ Value, Symbol string }{
		{"GreaterThanOrEqualToThreshold", "≥"}, {"GreaterThanThreshold", ">"}, {"LessThanThreshold", "<"}, {"LessThanOrEqualToThreshold", "≤"},
	}
	treatments = []struct{ Value, Label string }{
		{"missing", "Missing"}, {"notBreaching", "Not breaching (good)"}, {"breaching", "Breaching (bad)"}, {"ignore", "Ignore (keep the state)"},
	}
	periods = []periodChoice{{60, "1 minute"}, {300, "5 minutes"}, {900, "15 minutes"}, {3600, "1 hour"}, {21600, "6 hours"}, {86400, "1 day"}}
	// chartRanges are the windows an alarm's chart can show.
	chartRanges = []struct{ Value, Label string }{
		{"1h", "1 hour"}, {"3h", "3 hours"}, {"12h", "12 hours"}, {"24h", "1 day"}, {"72h", "3 days"}, {"168h", "1 week"},
	}
)

// maxChartPeriods bounds a chart's columns.
const maxChartPeriods = 720

func symbol(op string) string {
	for _, c := range comparisons {
		if c.Value == op {
			return c.Symbol
		}
	}
	return op
}

func periodLabel(seconds int) string {
	d := time.Duration(seconds) * time.Second
	switch {
	case d%(24*time.Hour) == 0:
		return plural(int(d/(24*time.Hour)), "day")
	case d%time.Hour == 0:
		return plural(int(d/time.Hour), "hour")
	case d%time.Minute == 0:
		return plural(int(d/time.Minute), "minute")
	}
	return plural(seconds, "second")
}

func plural(n int, unit string) string {
	if n == 1 {
		return "1 " + unit
	}
	return fmt.Sprintf("%d %ss", n, unit)
}

// condition says when an alarm fires, as CloudWatch's console words it.
func condition(a *metrics.AlarmConfig) string {
	return fmt.Sprintf("%s %s %s for %d of %d datapoints within %s", a.StatName(), symbol(a.ComparisonOperator), formatNumber(a.Threshold),
		a.M(), a.EvaluationPeriods, periodLabel(a.Period*a.EvaluationPeriods))
}

type alarmRow struct {
	A         metrics.Alarm
	URL       string
	Condition string
}

type alarmsData struct {
	Rows    []alarmRow
	State   string
	States  []string
	NextURL string
}

func (c *Console) alarmQuery(r *http.Request) metrics.AlarmQuery {
	s := sessionFrom(r)
	return metrics.AlarmQuery{Account: s.Principal.AccountID, Region: s.Region}
}

func alarmURL(name string) string { return Prefix + "alarms/show?name=" + urlQueryEscape(name) }

func (c *Console) alarms(w http.ResponseWriter, r *http.Request) {
	q := c.alarmQuery(r)
	d := alarmsData{State: r.URL.Query().Get("state"), States: alarmStates}
	if d.State != "" && !slices.Contains(alarmStates, d.State) {
		c.fail(w, r, http.StatusBadRequest, "State "+d.State+" is not one of OK, ALARM, INSUFFICIENT_DATA.")
		return
	}
	q.State, q.After, q.Limit = d.State, r.URL.Query().Get("after"), 100
	alarms, next := c.cfg.Metrics.Alarms(q)
	for _, a := range alarms {
		d.Rows = append(d.Rows, alarmRow{A: a, URL: alarmURL(a.Name), Condition: condition(&a.AlarmConfig)})
	}
	if next != "" {
		d.NextURL = Prefix + "alarms?state=" + urlQueryEscape(d.State) + "&after=" + urlQueryEscape(next)
	}
	c.render(w, r, http.StatusOK, "alarms", "Alarms", page{Flash: r.URL.Query().Get("done"), Data: d})
}

// alarmFormData is the create/edit form, as submitted (a rejected form keeps what was typed).
type alarmFormData struct {
	New                                       bool
	Name, Description, Namespace, Metric      string
	Dimensions, Statistic                     string
	Period, Evaluation, Datapoints, Threshold string
	Comparison, Treatment                     string
	ActionsEnabled                            bool
	Actions                                   []actionChoice
	OtherAction                               string

	Statistics  []string
	Comparisons []struct{ Value, Symbol string }
	Treatments  []struct{ Value, Label string }
	Periods     []periodChoice
}

type periodChoice struct {
	Seconds int
	Label   string
}

type actionChoice struct {
	ARN, Label string
	Checked    bool
}

func formOfAlarm(a *metrics.AlarmConfig) alarmFormData {
	f := alarmFormData{Name: a.Name, Namespace: a.Namespace, Metric: a.MetricName, Statistic: a.StatName(),
		Period: strconv.Itoa(a.Period), Evaluation: strconv.Itoa(a.EvaluationPeriods), Datapoints: strconv.Itoa(a.M()),
		Threshold: formatNumber(a.Threshold), Comparison: a.ComparisonOperator, Treatment: a.Treatment(), ActionsEnabled: a.ActionsEnabled}
	if a.Description != nil {
		f.Description = *a.Description
	}
	var dims []string
	for _, d := range a.Dimensions {
		dims = append(dims, d.Name+"="+d.Value)
	}
	f.Dimensions = strings.Join(dims, "\n")
	for _, arn := range a.AlarmActions {
		f.Actions = append(f.Actions, actionChoice{ARN: arn, Checked: true})
	}
	return f
}

func (c *Console) alarmForm(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	if r.URL.Path == Prefix+"alarms/new" {
		f := alarmFormData{New: true, Namespace: q.Get("namespace"), Metric: q.Get("metric"), Statistic: "Sum", Period: "300",
			Evaluation: "1", Datapoints: "1", Comparison: "GreaterThanOrEqualToThreshold", Treatment: "missing", ActionsEnabled: true}
		c.renderAlarmForm(w, r, http.StatusOK, f, "")
		return
	}
	aq := c.alarmQuery(r)
	a, ok := c.cfg.Metrics.Alarm(aq.Account, aq.Region, q.Get("name"))
	if !ok {
		c.fail(w, r, http.StatusNotFound, "Alarm "+q.Get("name")+" does not exist.")
		return
	}
	c.renderAlarmForm(w, r, http.StatusOK, formOfAlarm(&a.AlarmConfig), "")
}

// renderAlarmForm shows the form, offering the region's topics as alarm actions.
func (c *Console) renderAlarmForm(w http.ResponseWriter, r *http.Request, status int, f alarmFormData, msg string) {
	f.Statistics, f.Comparisons, f.Treatments, f.Periods = statistics, comparisons, treatments, periods
	if p, err := strconv.Atoi(f.Period); err == nil && !slices.ContainsFunc(periods, func(o periodChoice) bool { return o.Seconds == p }) {
		// A period set through the API that the menu lacks stays selectable, so saving keeps it.
		f.Periods = append([]periodChoice{{p, periodLabel(p)}}, periods...)
	}
	if c.cfg.Notify != nil {
		arns, _, err := c.cfg.Notify.ListTopics(r.Context(), c.caller(r), "")
		if err != nil {
			c.internal(w, r, "list topics", err)
			return
		}
		checked := map[string]bool{}
		for _, a := range f.Actions {
			checked[a.ARN] = true
		}
		var choices []actionChoice
		for _, arn := range arns {
			choices = append(choices, actionChoice{ARN: arn, Checked: checked[arn]})
			delete(checked, arn)
		}
		for _, a := range f.Actions { // actions that are not one of the region's topics stay listed
			if checked[a.ARN] {
				choices = append(choices, a)
			}
		}
		f.Actions = choices
	}
	for i := range f.Actions {
		f.Actions[i].Label = f.Actions[i].ARN
		if t, ok := notify.ParseTopicARN(f.Actions[i].ARN); ok {
			f.Actions[i].Label = t.Name
		}
	}
	title := "Create alarm"
	if !f.New {
		title = "Alarm " + f.Name
	}
	c.render(w, r, status, "alarmform", title, page{Error: msg, Data: f})
}

// parseAlarmForm reads the form into the configuration PutMetricAlarm would get; the numbers
// must parse before the domain can judge them.
func parseAlarmForm(r *http.Request) (alarmFormData, metrics.AlarmConfig, error) {
	v := func(k string) string { return strings.TrimSpace(r.PostFormValue(k)) }
	f := alarmFormData{New: v("new") == "1", Name: v("name"), Description: v("description"), Namespace: v("namespace"), Metric: v("metric"),
		Dimensions: r.PostFormValue("dimensions"), Statistic: v("statistic"), Period: v("period"), Evaluation: v("evaluation"),
		Datapoints: v("datapoints"), Threshold: v("threshold"), Comparison: v("comparison"), Treatment: v("treatment"),
		ActionsEnabled: v("actionsenabled") == "on", OtherAction: v("otheraction")}
	for _, arn := range r.PostForm["action"] {
		f.Actions = append(f.Actions, actionChoice{ARN: arn, Checked: true})
	}
	cfg := metrics.AlarmConfig{Name: f.Name, ActionsEnabled: f.ActionsEnabled, Namespace: f.Namespace, MetricName: f.Metric,
		ComparisonOperator: f.Comparison, TreatMissingData: f.Treatment}
	if f.Description != "" {
		cfg.Description = &f.Description
	}
	if _, ok := metrics.ParsePercentile(f.Statistic); ok {
		cfg.ExtendedStatistic = f.Statistic
	} else {
		cfg.Statistic = f.Statistic
	}
	for _, a := range f.Actions {
		cfg.AlarmActions = append(cfg.AlarmActions, a.ARN)
	}
	if f.OtherAction != "" {
		cfg.AlarmActions = append(cfg.AlarmActions, f.OtherAction)
	}
	for _, l := range lines(f.Dimensions) {
		name, value, ok := strings.Cut(l, "=")
		if !ok {
			return f, cfg, fmt.Errorf("Dimension %q: write one Name=Value per line.", l)
		}
		cfg.Dimensions = append(cfg.Dimensions, metrics.Dimension{Name: strings.TrimSpace(name), Value: strings.TrimSpace(value)})
	}
	for _, n := range []struct {
		label, text string
		dst         *int
	}{{"Period", f.Period, &cfg.Period}, {"Evaluation periods", f.Evaluation, &cfg.EvaluationPeriods}, {"Datapoints to alarm", f.Datapoints, &cfg.DatapointsToAlarm}} {
		i, err := strconv.Atoi(n.text)
		if err != nil {
			return f, cfg, fmt.Errorf("%s %q is not a whole number.", n.label, n.text)
		}
		*n.dst = i
	}
	if cfg.DatapointsToAlarm < 1 { // as the API: DatapointsToAlarm, when given, is at least 1
		return f, cfg, fmt.Errorf("The parameter DatapointsToAlarm must be at least 1.")
	}
	t, err := strconv.ParseFloat(f.Threshold, 64)
	if err != nil {
		return f, cfg, fmt.Errorf("Threshold %q is not a number.", f.Threshold)
	}
	cfg.Threshold = t
	return f, cfg, nil
}

func (c *Console) saveAlarm(w http.ResponseWriter, r *http.Request) {
	q := c.alarmQuery(r)
	f, cfg, err := parseAlarmForm(r)
	if err != nil {
		c.renderAlarmForm(w, r, http.StatusBadRequest, f, err.Error())
		return
	}
	old, exists := c.cfg.Metrics.Alarm(q.Account, q.Region, f.Name)
	switch {
	case !f.New && !exists:
		c.fail(w, r, http.StatusNotFound, "Alarm "+f.Name+" does not exist.")
		return
	case f.New && exists:
		// The API would replace it; the console's create form must not, unseen.
		c.renderAlarmForm(w, r, http.StatusBadRequest, f, "An alarm named "+f.Name+" already exists: change it from its page.")
		return
	case exists:
		// PutMetricAlarm replaces the whole configuration: keep what the form does not show.
		cfg.Unit, cfg.OKActions, cfg.InsufficientDataActions = old.Unit, old.OKActions, old.InsufficientDataActions
		cfg.EvaluateLowSampleCountPercentile, cfg.Tags = old.EvaluateLowSampleCountPercentile, old.Tags
	}
	err = c.change(r, monitoringSource, "PutMetricAlarm", alarmARN(r, cfg.Name), putAlarmParams(&cfg), func() (any, error) {
		return nil, c.cfg.Metrics.PutAlarm(r.Context(), q.Account, q.Region, cfg)
	})
	if err != nil {
		if msg, _, ok := userError(err); ok {
			c.renderAlarmForm(w, r, http.StatusBadRequest, f, msg)
			return
		}
		c.internal(w, r, "save the alarm", err)
		return
	}
	done(w, r, alarmURL(cfg.Name), "Saved alarm "+cfg.Name+".")
}

// alarmARN is the ARN of the alarm the console names, in the user's account and region.
func alarmARN(r *http.Request, name string) string {
	return arn(r, "cloudwatch", "alarm:"+name)
}

// putAlarmParams is PutMetricAlarm's request as the API records it.
func putAlarmParams(a *metrics.AlarmConfig) any {
	type dim struct {
		Name  string `json:"name"`
		Value string `json:"value"`
	}
	p := struct {
		AlarmName          string   `json:"alarmName"`
		AlarmDescription   *string  `json:"alarmDescription,omitempty"`
		ActionsEnabled     bool     `json:"actionsEnabled"`
		AlarmActions       []string `json:"alarmActions,omitempty"`
		MetricName         string   `json:"metricName"`
		Namespace          string   `json:"namespace"`
		Statistic          string   `json:"statistic,omitempty"`
		ExtendedStatistic  string   `json:"extendedStatistic,omitempty"`
		Dimensions         []dim    `json:"dimensions,omitempty"`
		Period             int      `json:"period"`
		EvaluationPeriods  int      `json:"evaluationPeriods"`
		DatapointsToAlarm  int      `json:"datapointsToAlarm"`
		Threshold          float64  `json:"threshold"`
		ComparisonOperator string   `json:"comparisonOperator"`
		TreatMissingData   string   `json:"treatMissingData,omitempty"`
	}{a.Name, a.Description, a.ActionsEnabled, a.AlarmActions, a.MetricName, a.Namespace, a.Statistic, a.ExtendedStatistic, nil,
		a.Period, a.EvaluationPeriods, a.DatapointsToAlarm, a.Threshold, a.ComparisonOperator, a.TreatMissingData}
	for _, d := range a.Dimensions {
		p.Dimensions = append(p.Dimensions, dim{d.Name, d.Value})
	}
	return p
}

func (c *Console) deleteAlarm(w http.ResponseWriter, r *http.Request) {
	q := c.alarmQuery(r)
	name := r.PostFormValue("name")
	err := c.change(r, monitoringSource, "DeleteAlarms", alarmARN(r, name), map[string][]string{"alarmNames": {name}}, func() (any, error) {
		return nil, c.cfg.Metrics.DeleteAlarms(r.Context(), q.Account, q.Region, []string{name})
	})
	if err != nil {
		c.failWith(w, r, "delete the alarm", err)
		return
	}
	done(w, r, Prefix+"alarms", "Deleted alarm "+name+".")
}

func (c *Console) setAlarmActions(w http.ResponseWriter, r *http.Request) {
	q := c.alarmQuery(r)
	name, on := r.PostFormValue("name"), r.PostFormValue("enabled") == "on"
	if _, ok := c.cfg.Metrics.Alarm(q.Account, q.Region, name); !ok {
		// SetActionsEnabled ignores unknown names, as CloudWatch does; the console says so.
		c.fail(w, r, http.StatusNotFound, "Alarm "+name+" does not exist.")
		return
	}
	op := map[bool]string{true: "EnableAlarmActions", false: "DisableAlarmActions"}[on]
	err := c.change(r, monitoringSource, op, alarmARN(r, name), map[string][]string{"alarmNames": {name}}, func() (any, error) {
		return nil, c.cfg.Metrics.SetActionsEnabled(r.Context(), q.Account, q.Region, []string{name}, on)
	})
	if err != nil {
		c.failWith(w, r, "change the alarm's actions", err)
		return
	}
	verb := map[bool]string{true: "Enabled", false: "Disabled"}[on]
	done(w, r, safeNext(r.PostFormValue("back")), fmt.Sprintf("%s actions of alarm %s.", verb, name))
}

type alarmData struct {
	A         *metrics.Alarm // a pointer: the template calls its methods
	Condition string
	Period    string
	Chart     timelineChart
	Range     string
	Ranges    []struct{ Value, Label string }
	History   []alarmHistoryRow
	URL       string
}

type alarmHistoryRow struct {
	metrics.HistoryItem
	Data string // indented JSON
}

func (c *Console) alarm(w http.ResponseWriter, r *http.Request) {
	q := c.alarmQuery(r)
	name := r.URL.Query().Get("name")
	a, ok := c.cfg.Metrics.Alarm(q.Account, q.Region, name)
	if !ok {
		c.fail(w, r, http.StatusNotFound, "Alarm "+name+" does not exist.")
		return
	}
	d := alarmData{A: &a, Condition: condition(&a.AlarmConfig), Period: periodLabel(a.Period), URL: alarmURL(a.Name)}
	p := time.Duration(a.Period) * time.Second
	for _, rg := range chartRanges {
		if w, _ := time.ParseDuration(rg.Value); w >= p && w/p <= maxChartPeriods {
			d.Ranges = append(d.Ranges, rg)
		}
	}
	d.Range = r.URL.Query().Get("range")
	if d.Range == "" && len(d.Ranges) > 0 {
		// The first window showing at least 24 periods, else the widest.
		d.Range = d.Ranges[len(d.Ranges)-1].Value
		for _, rg := range d.Ranges {
			if w, _ := time.ParseDuration(rg.Value); w/p >= 24 {
				d.Range = rg.Value
				break
			}
		}
	}
	window, err := time.ParseDuration(d.Range)
	if !slices.ContainsFunc(d.Ranges, func(rg struct{ Value, Label string }) bool { return rg.Value == d.Range }) {
		c.fail(w, r, http.StatusBadRequest, "Chart range "+d.Range+" is not one of the choices for a "+d.Period+" period.")
		return
	}
	if d.Chart, err = c.alarmChart(r, &a, window); err != nil {
		c.internal(w, r, "read the alarm's metric", err)
		return
	}
	items, _, err := c.cfg.Metrics.History(r.Context(), metrics.HistoryQuery{Account: q.Account, Region: q.Region, AlarmName: a.Name, Limit: 50})
	if err != nil {
		c.internal(w, r, "read the alarm's history", err)
		return
	}
	for _, h := range items {
		d.History = append(d.History, alarmHistoryRow{HistoryItem: h, Data: indentJSON(h.Data)})
	}
	c.render(w, r, http.StatusOK, "alarm", "Alarm "+a.Name, page{Flash: r.URL.Query().Get("done"), Data: d})
}

// alarmChart charts the alarm's statistic per period over window, ending with the period the
// alarm evaluates last, with the threshold line; breaching periods are drawn as bad.
func (c *Console) alarmChart(r *http.Request, a *metrics.Alarm, window time.Duration) (timelineChart, error) {
	p := time.Duration(a.Period) * time.Second
	n := int(window / p)
	end := c.cfg.Now().UTC().Truncate(time.Minute).Add(time.Minute)
	start := end.Add(-time.Duration(n) * p)
	dps, err := c.cfg.Metrics.Statistics(r.Context(), metrics.Query{Metric: metrics.Metric{Account: a.Account, Region: a.Region,
		Namespace: a.Namespace, Name: a.MetricName, Dimensions: a.Dimensions}, Start: start, End: end, Period: p, Unit: a.Unit})
	if err != nil {
		return timelineChart{}, err
	}
	span := func(from time.Time) string {
		return from.Format("Jan 2 15:04") + " – " + from.Add(p).Format("15:04") + " UTC"
	}
	cols := make([]column, n)
	for i := range cols {
		from := start.Add(time.Duration(i) * p)
		cols[i] = column{Start: from, Title: span(from) + ": no data"}
	}
	for _, dp := range dps {
		i := int(dp.Timestamp.Sub(start) / p)
		if i < 0 || i >= n {
			continue
		}
		v, _ := dp.Statistic(a.StatName())
		col := &cols[i]
		col.Value, col.Present, col.Bad = v, true, a.Breaches(v)
		col.Title = span(col.Start) + ": " + a.StatName() + " " + formatNumber(v)
	}
	label := fmt.Sprintf("%s of %s/%s per %s, threshold %s", a.StatName(), a.Namespace, a.MetricName, periodLabel(a.Period), formatNumber(a.Threshold))
	return columns(label, cols, p, &a.Threshold), nil
}

func (c *Console) caller(r *http.Request) notify.Caller {
	s := sessionFrom(r)
	return notify.Caller{Account: s.Principal.AccountID, Region: s.Region, ARN: s.Principal.ARN()}
}

// indentJSON indents a history item's data for reading; text that is not JSON stays as it is.
func indentJSON(s string) string {
	var b bytes.Buffer
	if err := json.Indent(&b, []byte(s), "", "  "); err != nil {
		return s
	}
	return b.String()
}
