package metrics

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"
)

// action is one alarm action to run: a notification to publish to a topic.
type action struct {
	alarm            Alarm
	arn              string
	subject, message string
	at               time.Time
}

// actionQueue runs alarm actions in order, outside the store's lock: publishing may wait on the
// network, and evaluation must not.
type actionQueue struct {
	s    *Store
	mu   sync.Mutex
	cond *sync.Cond
	q    []action
	busy bool
}

func newActionQueue(s *Store) *actionQueue {
	a := &actionQueue{s: s}
	a.cond = sync.NewCond(&a.mu)
	return a
}

func (q *actionQueue) push(a action) {
	q.mu.Lock()
	q.q = append(q.q, a)
	q.mu.Unlock()
	q.cond.Broadcast()
}

func (q *actionQueue) run(ctx context.Context) {
	stop := context.AfterFunc(ctx, func() { q.mu.Lock(); q.cond.Broadcast(); q.mu.Unlock() })
	defer stop()
	for {
		q.mu.Lock()
		for len(q.q) == 0 && ctx.Err() == nil {
			q.busy = false
			q.cond.Broadcast()
			q.cond.Wait()
		}
		if ctx.Err() != nil {
			q.mu.Unlock()
			return
		}
		a := q.q[0]
		q.q = q.q[1:]
		q.busy = true
		q.mu.Unlock()
		q.s.runAction(ctx, a)
	}
}

// Idle waits until every queued action has run (tests, benchmarks).
func (s *Store) Idle() {
	q := s.actions
	q.mu.Lock()
	defer q.mu.Unlock()
	for len(q.q) > 0 || q.busy {
		q.cond.Wait()
	}
}

// runAction publishes a notification and records the outcome in the alarm's history.
func (s *Store) runAction(ctx context.Context, a action) {
	var err error
	var id string
	switch {
	case !strings.HasPrefix(a.arn, "arn:aws:sns:"):
		err = fmt.Errorf("cairn runs SNS topic actions only")
	case s.opt.Publisher == nil:
		err = fmt.Errorf("no notification publisher is configured")
	default:
		id, err = s.opt.Publisher.Publish(ctx, a.arn, a.subject, a.message)
	}
	data := struct {
		ActionState          string `json:"actionState"`
		StateUpdateTimestamp int64  `json:"stateUpdateTimestamp"`
		NotificationResource string `json:"notificationResource"`
		PublishedMessage     string `json:"publishedMessage,omitempty"`
		Error                string `json:"error,omitempty"`
	}{"Succeeded", a.at.UnixMilli(), a.arn, a.message, ""}
	summary := "Successfully executed action " + a.arn
	if err != nil {
		s.opt.Logger.Warn("alarm action failed", "alarm", a.alarm.Name, "action", a.arn, "err", err)
		data.ActionState, data.PublishedMessage, data.Error = "Failed", "", err.Error()
		summary = "Failed to execute action " + a.arn
	} else {
		s.opt.Logger.Debug("alarm notification published", "alarm", a.alarm.Name, "topic", a.arn, "message", id)
	}
	if herr := s.addHistory(context.WithoutCancel(ctx), &a.alarm, s.opt.Now().UTC().Truncate(time.Millisecond), "Action", summary, data); herr != nil {
		s.opt.Logger.Warn("record alarm action", "alarm", a.alarm.Name, "err", herr)
	}
}

// notification is the SNS message CloudWatch publishes for a state change (monitoring.md §3.4),
// field for field and in AWS's key order.
func notification(a *Alarm, oldState string, at time.Time) (subject, message string) {
	region := RegionName(a.Region)
	type dim struct {
		Value string `json:"value"`
		Name  string `json:"name"`
	}
	type trigger struct {
		MetricName                       string
		Namespace                        string
		StatisticType                    string
		Statistic                        string `json:",omitempty"`
		ExtendedStatistic                string `json:",omitempty"`
		Unit                             *string
		Dimensions                       []dim
		Period                           int
		EvaluationPeriods                int
		DatapointsToAlarm                int
		ComparisonOperator               string
		Threshold                        javaDouble
		TreatMissingData                 string
		EvaluateLowSampleCountPercentile string
	}
	t := trigger{MetricName: a.MetricName, Namespace: a.Namespace, StatisticType: "Statistic", Statistic: strings.ToUpper(a.Statistic),
		Dimensions: []dim{}, Period: a.Period, EvaluationPeriods: a.EvaluationPeriods, DatapointsToAlarm: a.M(),
		ComparisonOperator: a.ComparisonOperator, Threshold: javaDouble(a.Threshold), TreatMissingData: a.Treatment(),
		EvaluateLowSampleCountPercentile: a.EvaluateLowSampleCountPercentile}
	if a.ExtendedStatistic != "" {
		t.StatisticType, t.Statistic, t.ExtendedStatistic = "ExtendedStatistic", "", a.ExtendedStatistic
	}
	if a.Unit != "" {
		u := a.Unit
		t.Unit = &u
	}
	for _, d := range a.Dimensions {
		t.Dimensions = append(t.Dimensions, dim{d.Value, d.Name})
	}
	m := struct {
		AlarmName                          string
		AlarmDescription                   *string
		AWSAccountId                       string
		AlarmConfigurationUpdatedTimestamp string
		NewStateValue                      string
		NewStateReason                     string
		StateChangeTime                    string
		Region                             string
		AlarmArn                           string
		OldStateValue                      string
		OKActions                          []string
		AlarmActions                       []string
		InsufficientDataActions            []string
		Trigger                            trigger
	}{a.Name, a.Description, a.Account, formatTime(a.ConfigUpdated), a.State, a.StateReason, formatTime(at), region, a.ARN(), oldState,
		nonNil(a.OKActions), nonNil(a.AlarmActions), nonNil(a.InsufficientDataActions), t}
	b := marshal(m)
	return a.State + ": \"" + a.Name + "\" in " + region, b
}

// RegionName is a region's display name as CloudWatch writes it in notifications.
func RegionName(region string) string {
	if n, ok := regionNames[region]; ok {
		return n
	}
	return region
}

var regionNames = map[string]string{
	"us-east-1": "US East (N. Virginia)", "us-east-2": "US East (Ohio)", "us-west-1": "US West (N. California)", "us-west-2": "US West (Oregon)",
	"af-south-1": "Africa (Cape Town)", "ap-east-1": "Asia Pacific (Hong Kong)", "ap-south-1": "Asia Pacific (Mumbai)", "ap-south-2": "Asia Pacific (Hyderabad)",
	"ap-northeast-1": "Asia Pacific (Tokyo)", "ap-northeast-2": "Asia Pacific (Seoul)", "ap-northeast-3": "Asia Pacific (Osaka)",
	"ap-southeast-1": "Asia Pacific (Singapore)", "ap-southeast-2": "Asia Pacific (Sydney)", "ap-southeast-3": "Asia Pacific (Jakarta)", "ap-southeast-4": "Asia Pacific (Melbourne)",
	"ca-central-1": "Canada (Central)", "ca-west-1": "Canada West (Calgary)",
	"eu-central-1": "EU (Frankfurt)", "eu-central-2": "EU (Zurich)", "eu-west-1": "EU (Ireland)", "eu-west-2": "EU (London)", "eu-west-3": "EU (Paris)",
	"eu-north-1": "EU (Stockholm)", "eu-south-1": "EU (Milan)", "eu-south-2": "EU (Spain)",
	"il-central-1": "Israel (Tel Aviv)", "me-south-1": "Middle East (Bahrain)", "me-central-1": "Middle East (UAE)",
	"sa-east-1": "South America (Sao Paulo)", "us-gov-east-1": "AWS GovCloud (US-East)", "us-gov-west-1": "AWS GovCloud (US-West)",
}
