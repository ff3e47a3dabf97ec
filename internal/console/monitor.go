package console

import (
	"errors"
	"net/http"
	"net/url"
	"strings"

	"github.com/cairn-dev/cairn/internal/logs"
	"github.com/cairn-dev/cairn/internal/metrics"
	"github.com/cairn-dev/cairn/internal/notify"
)

// The monitoring pages (loggroups.go, alarms.go, topics.go) change log groups, alarms and topics
// through the domain functions the API calls, so validation and its messages are the API's;
// every change is recorded as the API call it stands for.

func (c *Console) monitorNav() []navItem {
	var items []navItem
	if c.cfg.LogGroups != nil {
		items = append(items, navItem{"loggroups", "Log groups", Prefix + "loggroups"})
	}
	if c.cfg.Metrics != nil {
		items = append(items, navItem{"alarms", "Alarms", Prefix + "alarms"})
	}
	if c.cfg.Notify != nil {
		items = append(items, navItem{"topics", "Topics", Prefix + "topics"})
	}
	return items
}

func (c *Console) monitorRoutes() {
	// A page that shows what a read-only call answers is refused as that call would be.
	if c.cfg.LogGroups != nil {
		group := func(r *http.Request) string { return logGroupARN(r, r.PathValue("name")) }
		c.mux.HandleFunc("GET "+Prefix+"loggroups", c.view(logsSource, "DescribeLogGroups", nil, c.logGroups))
		c.mux.HandleFunc("POST "+Prefix+"loggroups", c.auth(c.createLogGroup))
		c.mux.HandleFunc("GET "+Prefix+"loggroups/{name...}", c.view(logsSource, "DescribeMetricFilters", group, c.logGroup))
		c.mux.HandleFunc("POST "+Prefix+"loggroups/{name...}", c.auth(c.changeLogGroup))
	}
	if c.cfg.Metrics != nil {
		alarm := func(r *http.Request) string { return alarmARN(r, r.URL.Query().Get("name")) }
		c.mux.HandleFunc("GET "+Prefix+"alarms", c.view(monitoringSource, "DescribeAlarms", nil, c.alarms))
		c.mux.HandleFunc("GET "+Prefix+"alarms/new", c.auth(c.alarmForm))
		c.mux.HandleFunc("GET "+Prefix+"alarms/edit", c.view(monitoringSource, "DescribeAlarms", alarm, c.alarmForm))
		c.mux.HandleFunc("POST "+Prefix+"alarms/save", c.auth(c.saveAlarm))
		c.mux.HandleFunc("GET "+Prefix+"alarms/show", c.view(monitoringSource, "DescribeAlarms", alarm, c.alarm))
		c.mux.HandleFunc("POST "+Prefix+"alarms/delete", c.auth(c.deleteAlarm))
		c.mux.HandleFunc("POST "+Prefix+"alarms/actions", c.auth(c.setAlarmActions))
	}
	if c.cfg.Notify != nil {
		topic := func(r *http.Request) string { return topicARN(r, r.PathValue("name")) }
		c.mux.HandleFunc("GET "+Prefix+"topics", c.view(snsSource, "ListTopics", nil, c.topics))
		c.mux.HandleFunc("POST "+Prefix+"topics", c.auth(c.createTopic))
		c.mux.HandleFunc("GET "+Prefix+"topics/{name}", c.view(snsSource, "GetTopicAttributes", topic, c.topic))
		c.mux.HandleFunc("POST "+Prefix+"topics/{name}", c.auth(c.changeTopic))
	}
}

// userError is the message and status of an error the user can fix (logs, metrics and notify
// word them as the API does); ok is false when cairn failed instead.
func userError(err error) (msg string, status int, ok bool) {
	var le *logs.Error
	var me *metrics.Error
	var ne *notify.Error
	switch {
	case errors.As(err, &le):
		return le.Message, statusOf(errors.Is(err, logs.ErrNotFound)), true
	case errors.As(err, &me):
		return me.Message, statusOf(errors.Is(err, metrics.ErrNotFound)), true
	case errors.As(err, &ne):
		return ne.Message, statusOf(ne.Kind == notify.NotFound || ne.Kind == notify.ResourceNotFound), true
	}
	return "", 0, false
}

func statusOf(notFound bool) int {
	if notFound {
		return http.StatusNotFound
	}
	return http.StatusBadRequest
}

// Event sources of the monitoring services, as CloudTrail names them.
const (
	logsSource       = "logs.amazonaws.com"
	monitoringSource = "monitoring.amazonaws.com"
	snsSource        = "sns.amazonaws.com"
)

// failWith shows err: the domain's message for a user error, cairn's failure otherwise.
func (c *Console) failWith(w http.ResponseWriter, r *http.Request, what string, err error) {
	if msg, status, ok := userError(err); ok {
		c.fail(w, r, status, msg)
		return
	}
	c.internal(w, r, what, err)
}

// done redirects to path with a message for the flash banner.
func done(w http.ResponseWriter, r *http.Request, path, msg string) {
	sep := "?"
	if strings.Contains(path, "?") {
		sep = "&"
	}
	http.Redirect(w, r, path+sep+"done="+url.QueryEscape(msg), http.StatusSeeOther)
}

// escapePath escapes each segment of a name that may contain slashes (log group names).
func escapePath(name string) string {
	parts := strings.Split(name, "/")
	for i, p := range parts {
		parts[i] = url.PathEscape(p)
	}
	return strings.Join(parts, "/")
}

// lines splits a textarea into its non-blank lines, trimmed.
func lines(s string) []string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if l = strings.TrimSpace(l); l != "" {
			out = append(out, l)
		}
	}
	return out
}
