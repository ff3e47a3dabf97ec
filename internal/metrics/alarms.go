package metrics

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"time"
)

// Publisher sends an alarm notification to a topic (notify.Service implements it).
type Publisher interface {
	Publish(ctx context.Context, topicARN, subject, message string) (messageID string, err error)
}

type alarmKey struct{ account, region, name string }

func (a *Alarm) key() alarmKey { return alarmKey{a.Account, a.Region, a.Name} }

func (a *Alarm) metricKey() string {
	return metricKey(a.Account, a.Region, a.Namespace, a.MetricName, a.Dimensions)
}

func (s *Store) loadAlarms(ctx context.Context) error {
	rows, err := s.db.QueryContext(ctx, `SELECT account, region, config, state, state_reason, state_reason_data, state_updated, state_transitioned, config_updated FROM alarms`)
	if err != nil {
		return fmt.Errorf("load alarms: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		a := &Alarm{}
		var cfg string
		var su, st, cu int64
		if err := rows.Scan(&a.Account, &a.Region, &cfg, &a.State, &a.StateReason, &a.StateReasonData, &su, &st, &cu); err != nil {
			return fmt.Errorf("load alarms: %w", err)
		}
		if err := json.Unmarshal([]byte(cfg), &a.AlarmConfig); err != nil {
			return fmt.Errorf("load alarm configuration: %w", err)
		}
		a.StateUpdated, a.StateTransitioned, a.ConfigUpdated = time.UnixMilli(su).UTC(), time.UnixMilli(st).UTC(), time.UnixMilli(cu).UTC()
		s.index(a)
	}
	return rows.Err()
}

func (s *Store) index(a *Alarm) {
	s.alarms[a.key()] = a
	mk := a.metricKey()
	if s.watched[mk] == nil {
		s.watched[mk] = map[alarmKey]bool{}
	}
	s.watched[mk][a.key()] = true
}

func (s *Store) unindex(a *Alarm) {
	delete(s.alarms, a.key())
	delete(s.watched[a.metricKey()], a.key())
	if len(s.watched[a.metricKey()]) == 0 {
		delete(s.watched, a.metricKey())
	}
}

func (s *Store) saveAlarm(ctx context.Context, a *Alarm) error {
	cfg, err := json.Marshal(a.AlarmConfig)
	if err != nil {
		return err
	}
	_, err = s.db.ExecContext(ctx, `INSERT OR REPLACE INTO alarms (account, region, name, config, state, state_reason, state_reason_data, state_updated, state_transitioned, config_updated)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`, a.Account, a.Region, a.Name, string(cfg), a.State, a.StateReason, a.StateReasonData,
		a.StateUpdated.UnixMilli(), a.StateTransitioned.UnixMilli(), a.ConfigUpdated.UnixMilli())
	if err != nil {
		return fmt.Errorf("save alarm %s: %w", a.Name, err)
	}
	return nil
}

// MaxAlarms is how many metric alarms one account and region may have (CloudWatch's quota).
const MaxAlarms = 10000

// PutAlarm creates or replaces an alarm's configuration. A new alarm starts in
// INSUFFICIENT_DATA and is evaluated at once; an updated one keeps its state until then.
func (s *Store) PutAlarm(ctx context.Context, account, region string, cfg AlarmConfig) error {
	if err := cfg.Validate(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.opt.Now().UTC().Truncate(time.Millisecond)
	old := s.alarms[alarmKey{account, region, cfg.Name}]
	a := &Alarm{AlarmConfig: cfg, Account: account, Region: region, ConfigUpdated: now}
	kind, summary := "Create", fmt.Sprintf("Alarm %q created", cfg.Name)
	if old != nil {
		kind, summary = "Update", fmt.Sprintf("Alarm %q updated", cfg.Name)
		a.State, a.StateReason, a.StateReasonData = old.State, old.StateReason, old.StateReasonData
		a.StateUpdated, a.StateTransitioned = old.StateUpdated, old.StateTransitioned
	} else {
		n := 0
		for k := range s.alarms {
			if k.account == account && k.region == region {
				n++
			}
		}
		if n >= MaxAlarms {
			return &Error{Kind: ErrLimitExceeded, Message: fmt.Sprintf("The maximum number of alarms (%d) has been reached.", MaxAlarms)}
		}
		a.State, a.StateReason = StateInsufficientData, "Unchecked: Initial alarm creation"
		a.StateUpdated, a.StateTransitioned = now, now
	}
	if err := s.saveAlarm(ctx, a); err != nil {
		return err
	}
	data := map[string]any{"type": kind, "version": "1.0"}
	if old != nil {
		data["originalAlarm"], data["updatedAlarm"] = historyAlarm(old), historyAlarm(a)
		s.unindex(old)
	} else {
		data["createdAlarm"] = historyAlarm(a)
	}
	s.index(a)
	if err := s.addHistory(ctx, a, now, "ConfigurationUpdate", summary, data); err != nil {
		return err
	}
	return s.evaluate(ctx, a, now)
}

// historyAlarm is an alarm as configuration history items show it.
func historyAlarm(a *Alarm) map[string]any {
	dims := []map[string]string{}
	for _, d := range a.Dimensions {
		dims = append(dims, map[string]string{"name": d.Name, "value": d.Value})
	}
	m := map[string]any{
		"alarmName": a.Name, "alarmArn": a.ARN(), "namespace": a.Namespace, "metricName": a.MetricName,
		"dimensions": dims, "period": a.Period, "evaluationPeriods": a.EvaluationPeriods,
		"datapointsToAlarm": a.M(), "threshold": javaDouble(a.Threshold), "comparisonOperator": a.ComparisonOperator,
		"treatMissingData": a.Treatment(), "actionsEnabled": a.ActionsEnabled,
		"okactions": nonNil(a.OKActions), "alarmActions": nonNil(a.AlarmActions), "insufficientDataActions": nonNil(a.InsufficientDataActions),
		"stateValue": a.State, "stateReason": a.StateReason,
		"alarmConfigurationUpdatedTimestamp": formatTime(a.ConfigUpdated),
	}
	if a.Description != nil {
		m["alarmDescription"] = *a.Description
	}
	if a.Statistic != "" {
		m["statistic"] = a.Statistic
	} else {
		m["extendedStatistic"] = a.ExtendedStatistic
	}
	if a.Unit != "" {
		m["unit"] = a.Unit
	}
	return m
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// AlarmQuery filters DescribeAlarms.
type AlarmQuery struct {
	Account, Region string
	Names           []string // exact names; empty = all
	Prefix          string
	State           string
	ActionPrefix    string
	After           string // names after this one (NextToken)
	Limit           int
}

// Alarms returns alarms matching q sorted by name, and the name to continue after ("" = done).
func (s *Store) Alarms(q AlarmQuery) ([]Alarm, string) {
	return s.filterAlarms(q, func(*Alarm) bool { return true })
}

// AlarmsForMetric returns the alarms on a metric, optionally narrowed by statistic, period and unit.
func (s *Store) AlarmsForMetric(m Metric, statistic, extended string, period int, unit string) []Alarm {
	mk := metricKey(m.Account, m.Region, m.Namespace, m.Name, m.Dimensions)
	out, _ := s.filterAlarms(AlarmQuery{Account: m.Account, Region: m.Region}, func(a *Alarm) bool {
		return a.metricKey() == mk && (statistic == "" || a.Statistic == statistic) && (extended == "" || a.ExtendedStatistic == extended) &&
			(period == 0 || a.Period == period) && (unit == "" || a.Unit == unit)
	})
	return out
}

func (s *Store) filterAlarms(q AlarmQuery, keep func(*Alarm) bool) ([]Alarm, string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Alarm
	for k, a := range s.alarms {
		if k.account != q.Account || k.region != q.Region || !keep(a) || k.name <= q.After && q.After != "" {
			continue
		}
		if len(q.Names) > 0 && !contains(q.Names, k.name) || !strings.HasPrefix(k.name, q.Prefix) || q.State != "" && a.State != q.State {
			continue
		}
		if q.ActionPrefix != "" && !anyPrefix(q.ActionPrefix, a.OKActions, a.AlarmActions, a.InsufficientDataActions) {
			continue
		}
		c := *a
		out = append(out, c)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	if q.Limit > 0 && len(out) > q.Limit {
		return out[:q.Limit], out[q.Limit-1].Name
	}
	return out, ""
}

func anyPrefix(prefix string, lists ...[]string) bool {
	for _, l := range lists {
		for _, v := range l {
			if strings.HasPrefix(v, prefix) {
				return true
			}
		}
	}
	return false
}

// DeleteAlarms deletes the named alarms; if any does not exist, none is deleted.
func (s *Store) DeleteAlarms(ctx context.Context, account, region string, names []string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, n := range names {
		if s.alarms[alarmKey{account, region, n}] == nil {
			return &Error{Kind: ErrNotFound, Message: fmt.Sprintf("Alarm %s does not exist.", n)}
		}
	}
	now := s.opt.Now().UTC().Truncate(time.Millisecond)
	for _, n := range names {
		a := s.alarms[alarmKey{account, region, n}]
		if _, err := s.db.ExecContext(ctx, `DELETE FROM alarms WHERE account = ? AND region = ? AND name = ?`, account, region, n); err != nil {
			return fmt.Errorf("delete alarm %s: %w", n, err)
		}
		s.unindex(a)
		if err := s.addHistory(ctx, a, now, "ConfigurationUpdate", fmt.Sprintf("Alarm %q deleted", n),
			map[string]any{"type": "Delete", "version": "1.0", "deletedAlarm": historyAlarm(a)}); err != nil {
			return err
		}
	}
	return nil
}

// SetAlarmState sets an alarm's state as SetAlarmState does: actions run if the state changed;
// the next evaluation restores the computed state.
func (s *Store) SetAlarmState(ctx context.Context, account, region, name, state, reason, reasonData string) error {
	switch {
	case state != StateOK && state != StateAlarm && state != StateInsufficientData:
		return invalid("The value %s for parameter StateValue is not one of OK, ALARM, INSUFFICIENT_DATA.", state)
	case reason == "":
		return missing("StateReason")
	case len(reason) > 1023:
		return invalid("The parameter StateReason must be at most 1023 characters long.")
	case len(reasonData) > 4000:
		return invalid("The parameter StateReasonData must be at most 4000 characters long.")
	case reasonData != "" && !json.Valid([]byte(reasonData)):
		return &Error{Kind: ErrInvalidFormat, Message: "The parameter StateReasonData is not valid JSON."}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	a := s.alarms[alarmKey{account, region, name}]
	if a == nil {
		return &Error{Kind: ErrNotFound, Message: fmt.Sprintf("Alarm %s does not exist.", name)}
	}
	return s.transition(ctx, a, outcome{State: state, Reason: reason, ReasonData: reasonData}, s.opt.Now().UTC().Truncate(time.Millisecond))
}

// SetActionsEnabled enables or disables the actions of the named alarms; unknown names are ignored,
// as CloudWatch ignores them.
func (s *Store) SetActionsEnabled(ctx context.Context, account, region string, names []string, enabled bool) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.opt.Now().UTC().Truncate(time.Millisecond)
	for _, n := range names {
		a := s.alarms[alarmKey{account, region, n}]
		if a == nil || a.ActionsEnabled == enabled {
			continue
		}
		old := *a
		a.ActionsEnabled = enabled
		a.ConfigUpdated = now
		if err := s.saveAlarm(ctx, a); err != nil {
			return err
		}
		if err := s.addHistory(ctx, a, now, "ConfigurationUpdate", fmt.Sprintf("Alarm %q updated", n),
			map[string]any{"type": "Update", "version": "1.0", "originalAlarm": historyAlarm(&old), "updatedAlarm": historyAlarm(a)}); err != nil {
			return err
		}
	}
	return nil
}

// SetTags adds (or, with remove, removes by key) tags on an alarm.
func (s *Store) SetTags(ctx context.Context, account, region, name string, add []Tag, remove []string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	a := s.alarms[alarmKey{account, region, name}]
	if a == nil {
		return &Error{Kind: ErrNotFound, Message: fmt.Sprintf("Alarm %s does not exist.", name)}
	}
	tags := map[string]string{}
	for _, t := range a.Tags {
		tags[t.Key] = t.Value
	}
	for _, t := range add {
		tags[t.Key] = t.Value
	}
	for _, k := range remove {
		delete(tags, k)
	}
	if len(tags) > 50 {
		return &Error{Kind: ErrLimitExceeded, Message: "An alarm can have at most 50 tags."}
	}
	a.Tags = a.Tags[:0]
	for k, v := range tags {
		a.Tags = append(a.Tags, Tag{k, v})
	}
	sort.Slice(a.Tags, func(i, j int) bool { return a.Tags[i].Key < a.Tags[j].Key })
	return s.saveAlarm(ctx, a)
}

// Alarm returns one alarm.
func (s *Store) Alarm(account, region, name string) (Alarm, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	a := s.alarms[alarmKey{account, region, name}]
	if a == nil {
		return Alarm{}, false
	}
	return *a, true
}

// EvaluateAll evaluates every alarm: missing data changes state without any datapoint arriving.
func (s *Store) EvaluateAll(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.opt.Now().UTC().Truncate(time.Millisecond)
	var first error
	for _, a := range s.alarms {
		if err := s.evaluate(ctx, a, now); err != nil {
			s.opt.Logger.Warn("evaluate alarm", "alarm", a.Name, "err", err)
			first = cmp.Or(first, err)
		}
	}
	return first
}

// evaluate reads the alarm's evaluation range and moves it to the state it computes. The
// newest period ends with the current minute, so a datapoint counts the moment it arrives.
// The caller holds s.mu.
func (s *Store) evaluate(ctx context.Context, a *Alarm, now time.Time) error {
	pts, err := s.window(ctx, a, now)
	if err != nil {
		return err
	}
	o := evaluate(&a.AlarmConfig, a.State, pts, now)
	if o.Retain || o.State == a.State {
		return nil
	}
	return s.transition(ctx, a, o, now)
}

func (s *Store) window(ctx context.Context, a *Alarm, now time.Time) ([]period, error) {
	p := time.Duration(a.Period) * time.Second
	r := rangeLength(a.EvaluationPeriods)
	end := now.Truncate(time.Minute).Add(time.Minute)
	start := end.Add(-time.Duration(r) * p)
	dps, err := s.Statistics(ctx, Query{Metric: Metric{Account: a.Account, Region: a.Region, Namespace: a.Namespace, Name: a.MetricName, Dimensions: a.Dimensions},
		Start: start, End: end, Period: p, Unit: a.Unit})
	if err != nil {
		return nil, fmt.Errorf("read datapoints of alarm %s: %w", a.Name, err)
	}
	pts := make([]period, r)
	for i := range pts {
		pts[i].Start = start.Add(time.Duration(i) * p).UTC()
	}
	for _, d := range dps {
		i := int(d.Timestamp.Sub(start) / p)
		if i < 0 || i >= r {
			continue
		}
		v, _ := d.Statistic(a.StatName())
		pts[i] = period{Start: pts[i].Start, Present: true, Value: v, SampleCount: d.SampleCount}
	}
	return pts, nil
}

// transition moves a to o.State: saves it, records a StateUpdate history item and queues the
// new state's actions. The caller holds s.mu.
func (s *Store) transition(ctx context.Context, a *Alarm, o outcome, now time.Time) error {
	oldState, oldReason, oldData := a.State, a.StateReason, a.StateReasonData
	a.State, a.StateReason, a.StateReasonData, a.StateUpdated = o.State, o.Reason, o.ReasonData, now
	changed := oldState != o.State
	if changed {
		a.StateTransitioned = now
	}
	if err := s.saveAlarm(ctx, a); err != nil {
		return err
	}
	type stateJSON struct {
		StateValue      string          `json:"stateValue"`
		StateReason     string          `json:"stateReason"`
		StateReasonData json.RawMessage `json:"stateReasonData,omitempty"`
	}
	state := func(v, reason, data string) stateJSON {
		st := stateJSON{StateValue: v, StateReason: reason}
		if data != "" && json.Valid([]byte(data)) {
			st.StateReasonData = json.RawMessage(data)
		}
		return st
	}
	data := struct {
		Version  string    `json:"version"`
		OldState stateJSON `json:"oldState"`
		NewState stateJSON `json:"newState"`
	}{"1.0", state(oldState, oldReason, oldData), state(o.State, o.Reason, o.ReasonData)}
	if err := s.addHistory(ctx, a, now, "StateUpdate", fmt.Sprintf("Alarm updated from %s to %s", oldState, o.State), data); err != nil {
		return err
	}
	if !changed || !a.ActionsEnabled {
		return nil
	}
	arns := map[string][]string{StateOK: a.OKActions, StateAlarm: a.AlarmActions, StateInsufficientData: a.InsufficientDataActions}[o.State]
	if len(arns) == 0 {
		return nil
	}
	subject, message := notification(a, oldState, now)
	for _, arn := range arns {
		s.actions.push(action{alarm: *a, arn: arn, subject: subject, message: message, at: now})
	}
	return nil
}

// HistoryItem is one entry of an alarm's history.
type HistoryItem struct {
	AlarmName string
	Time      time.Time
	Type      string // ConfigurationUpdate, StateUpdate, Action
	Summary   string
	Data      string // JSON
}

// HistoryQuery filters DescribeAlarmHistory.
type HistoryQuery struct {
	Account, Region string
	AlarmName       string // "" = all alarms
	Type            string // "" = all types
	Start, End      time.Time
	Ascending       bool
	Offset, Limit   int
}

// History returns history items matching q, and the offset of the next page (0 = done).
func (s *Store) History(ctx context.Context, q HistoryQuery) ([]HistoryItem, int, error) {
	if q.Limit <= 0 {
		q.Limit = 100
	}
	conds := []string{"account = ?", "region = ?"}
	args := []any{q.Account, q.Region}
	if q.AlarmName != "" {
		conds, args = append(conds, "alarm = ?"), append(args, q.AlarmName)
	}
	if q.Type != "" {
		conds, args = append(conds, "type = ?"), append(args, q.Type)
	}
	if !q.Start.IsZero() {
		conds, args = append(conds, "time >= ?"), append(args, q.Start.UnixMilli())
	}
	if !q.End.IsZero() {
		conds, args = append(conds, "time <= ?"), append(args, q.End.UnixMilli())
	}
	order := "DESC"
	if q.Ascending {
		order = "ASC"
	}
	args = append(args, q.Limit+1, q.Offset)
	rows, err := s.db.QueryContext(ctx, `SELECT alarm, time, type, summary, data FROM alarm_history WHERE `+strings.Join(conds, " AND ")+
		` ORDER BY time `+order+`, id `+order+` LIMIT ? OFFSET ?`, args...)
	if err != nil {
		return nil, 0, fmt.Errorf("read alarm history: %w", err)
	}
	defer rows.Close()
	var out []HistoryItem
	for rows.Next() {
		var h HistoryItem
		var ms int64
		if err := rows.Scan(&h.AlarmName, &ms, &h.Type, &h.Summary, &h.Data); err != nil {
			return nil, 0, fmt.Errorf("read alarm history: %w", err)
		}
		h.Time = time.UnixMilli(ms).UTC()
		out = append(out, h)
	}
	if err := rows.Err(); err != nil {
		return nil, 0, err
	}
	if len(out) > q.Limit {
		return out[:q.Limit], q.Offset + q.Limit, nil
	}
	return out, 0, nil
}

func (s *Store) addHistory(ctx context.Context, a *Alarm, at time.Time, typ, summary string, data any) error {
	b := marshal(data)
	if _, err := s.db.ExecContext(ctx, `INSERT INTO alarm_history (account, region, alarm, time, type, summary, data) VALUES (?, ?, ?, ?, ?, ?, ?)`,
		a.Account, a.Region, a.Name, at.UnixMilli(), typ, summary, string(b)); err != nil {
		return fmt.Errorf("record alarm history of %s: %w", a.Name, err)
	}
	return nil
}
