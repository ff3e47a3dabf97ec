package console

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/cairn-dev/cairn/internal/logs"
)

// Log group pages: CreateLogGroup, PutRetentionPolicy, DeleteRetentionPolicy, DeleteLogGroup,
// PutMetricFilter and DeleteMetricFilter through logs.Store, as the API runs them.

type logGroupsData struct {
	Groups    []groupRow
	NextURL   string
	Retention []int
	Name      string // the create form as typed
	Days      int
}

type groupRow struct {
	G       *logs.Group
	URL     string
	Stored  string
	Created time.Time
}

func (c *Console) logsScope(r *http.Request) logs.Scope {
	s := sessionFrom(r)
	return logs.Scope{Account: s.Principal.AccountID, Region: s.Region}
}

func (c *Console) logGroups(w http.ResponseWriter, r *http.Request) {
	c.renderLogGroups(w, r, http.StatusOK, logGroupsData{}, "")
}

func (c *Console) renderLogGroups(w http.ResponseWriter, r *http.Request, status int, d logGroupsData, msg string) {
	groups, next, err := c.cfg.LogGroups.DescribeGroups(r.Context(), c.logsScope(r), logs.GroupQuery{NextToken: r.URL.Query().Get("after")})
	if msg, status, ok := userError(err); ok {
		c.fail(w, r, status, msg)
		return
	}
	if err != nil {
		c.internal(w, r, "list log groups", err)
		return
	}
	for _, g := range groups {
		d.Groups = append(d.Groups, groupRow{G: g, URL: Prefix + "loggroups/" + escapePath(g.Name), Stored: formatBytes(g.StoredBytes), Created: time.UnixMilli(g.CreationTime)})
	}
	if next != "" {
		d.NextURL = Prefix + "loggroups?after=" + urlQueryEscape(next)
	}
	d.Retention = logs.RetentionDays
	c.render(w, r, status, "loggroups", "Log groups", page{Flash: r.URL.Query().Get("done"), Error: msg, Data: d})
}

// parseRetention reads the retention select: "" is never expire.
func parseRetention(v string) (int, error) {
	if v == "" {
		return 0, nil
	}
	days, err := strconv.Atoi(v)
	if err != nil {
		return 0, fmt.Errorf("Retention %q is not a number of days.", v)
	}
	return days, nil
}

func (c *Console) createLogGroup(w http.ResponseWriter, r *http.Request) {
	d := logGroupsData{Name: strings.TrimSpace(r.PostFormValue("name"))}
	days, err := parseRetention(r.PostFormValue("retention"))
	if err != nil {
		c.renderLogGroups(w, r, http.StatusBadRequest, d, err.Error())
		return
	}
	d.Days = days
	sc := c.logsScope(r)
	err = c.change(r, logsSource, "CreateLogGroup", logGroupARN(r, d.Name), map[string]string{"logGroupName": d.Name}, func() (any, error) {
		return nil, c.cfg.LogGroups.CreateGroup(r.Context(), sc, d.Name, "", nil)
	})
	if err == nil && days > 0 {
		err = c.putRetention(r, sc, d.Name, days)
	}
	if err != nil {
		if msg, _, ok := userError(err); ok {
			c.renderLogGroups(w, r, http.StatusBadRequest, d, msg)
			return
		}
		c.internal(w, r, "create the log group", err)
		return
	}
	done(w, r, Prefix+"loggroups/"+escapePath(d.Name), "Created log group "+d.Name+".")
}

type logGroupData struct {
	G          *logs.Group
	Created    time.Time
	URL        string
	Stored     string
	Retention  []int
	Filters    []filterRow
	Filter     filterForm // the create form as typed
	Units      []string
	CIS        int
	CISNS      string
	AlarmsOn   bool // link a filter's metric to a new alarm
	FormFailed bool // the error is about the filter form
}

type filterRow struct {
	F        logs.MetricFilter
	Default  string
	AlarmURL string
}

type filterForm struct {
	Name, Pattern, Namespace, Metric, Value, Default, Unit string
}

func (c *Console) logGroup(w http.ResponseWriter, r *http.Request) {
	c.renderLogGroup(w, r, http.StatusOK, filterForm{Value: "1"}, "", false)
}

func (c *Console) renderLogGroup(w http.ResponseWriter, r *http.Request, status int, f filterForm, msg string, formFailed bool) {
	ctx, sc, name := r.Context(), c.logsScope(r), r.PathValue("name")
	g, err := c.cfg.LogGroups.Group(ctx, sc, name)
	if err != nil {
		c.failWith(w, r, "read the log group", err)
		return
	}
	d := logGroupData{G: g, Created: time.UnixMilli(g.CreationTime), URL: Prefix + "loggroups/" + escapePath(g.Name), Stored: formatBytes(g.StoredBytes), Retention: logs.RetentionDays,
		Filter: f, Units: logs.StandardUnits, CIS: len(logs.CIS), CISNS: logs.CISNamespace, AlarmsOn: c.cfg.Metrics != nil, FormFailed: formFailed}
	for token := ""; ; {
		fs, next, err := c.cfg.LogGroups.DescribeMetricFilters(ctx, sc, logs.MetricFilterQuery{Group: name, NextToken: token})
		if err != nil {
			c.failWith(w, r, "list metric filters", err)
			return
		}
		for _, mf := range fs {
			row := filterRow{F: mf}
			if v := mf.Transformation.DefaultValue; v != nil {
				row.Default = formatNumber(*v)
			}
			if d.AlarmsOn {
				row.AlarmURL = Prefix + "alarms/new?namespace=" + urlQueryEscape(mf.Transformation.MetricNamespace) + "&metric=" + urlQueryEscape(mf.Transformation.MetricName)
			}
			d.Filters = append(d.Filters, row)
		}
		if token = next; token == "" {
			break
		}
	}
	c.render(w, r, status, "loggroup", "Log group "+g.Name, page{Flash: r.URL.Query().Get("done"), Error: msg, Data: d})
}

// changeLogGroup runs the group page's forms; action says which.
func (c *Console) changeLogGroup(w http.ResponseWriter, r *http.Request) {
	ctx, sc, name := r.Context(), c.logsScope(r), r.PathValue("name")
	here := Prefix + "loggroups/" + escapePath(name)
	switch action := r.PostFormValue("action"); action {
	case "retention":
		days, err := parseRetention(r.PostFormValue("retention"))
		if err != nil {
			c.renderLogGroup(w, r, http.StatusBadRequest, filterForm{Value: "1"}, err.Error(), false)
			return
		}
		if days == 0 {
			err = c.change(r, logsSource, "DeleteRetentionPolicy", logGroupARN(r, name), map[string]string{"logGroupName": name}, func() (any, error) {
				return nil, c.cfg.LogGroups.DeleteRetention(ctx, sc, name)
			})
		} else {
			err = c.putRetention(r, sc, name, days)
		}
		if err != nil {
			c.logGroupError(w, r, filterForm{Value: "1"}, err, false)
			return
		}
		msg := "Events in " + name + " never expire."
		if days > 0 {
			msg = fmt.Sprintf("Events in %s are kept %d days.", name, days)
		}
		done(w, r, here, msg)
	case "delete":
		err := c.change(r, logsSource, "DeleteLogGroup", logGroupARN(r, name), map[string]string{"logGroupName": name}, func() (any, error) {
			return nil, c.cfg.LogGroups.DeleteGroup(ctx, sc, name)
		})
		if err != nil {
			c.failWith(w, r, "delete the log group", err)
			return
		}
		done(w, r, Prefix+"loggroups", "Deleted log group "+name+".")
	case "putfilter":
		f := filterForm{Name: strings.TrimSpace(r.PostFormValue("filter")), Pattern: r.PostFormValue("pattern"),
			Namespace: strings.TrimSpace(r.PostFormValue("namespace")), Metric: strings.TrimSpace(r.PostFormValue("metric")),
			Value: strings.TrimSpace(r.PostFormValue("value")), Default: strings.TrimSpace(r.PostFormValue("default")), Unit: r.PostFormValue("unit")}
		mf := logs.MetricFilter{Group: name, Name: f.Name, Pattern: f.Pattern, Transformation: logs.Transformation{
			MetricName: f.Metric, MetricNamespace: f.Namespace, MetricValue: f.Value, Unit: f.Unit}}
		if f.Default != "" {
			v, err := strconv.ParseFloat(f.Default, 64)
			if err != nil {
				c.renderLogGroup(w, r, http.StatusBadRequest, f, fmt.Sprintf("Default value %q is not a number.", f.Default), true)
				return
			}
			mf.Transformation.DefaultValue = &v
		}
		if err := c.putMetricFilter(r, sc, mf); err != nil {
			c.logGroupError(w, r, f, err, true)
			return
		}
		done(w, r, here, "Saved metric filter "+f.Name+".")
	case "deletefilter":
		filter := r.PostFormValue("filter")
		err := c.change(r, logsSource, "DeleteMetricFilter", logGroupARN(r, name), map[string]string{"logGroupName": name, "filterName": filter}, func() (any, error) {
			return nil, c.cfg.LogGroups.DeleteMetricFilter(ctx, sc, name, filter)
		})
		if err != nil {
			c.logGroupError(w, r, filterForm{Value: "1"}, err, false)
			return
		}
		done(w, r, here, "Deleted metric filter "+filter+".")
	case "cis":
		ns := strings.TrimSpace(r.PostFormValue("namespace"))
		if err := c.installCIS(r, sc, name, ns); err != nil {
			c.logGroupError(w, r, filterForm{Value: "1"}, err, false)
			return
		}
		done(w, r, here, fmt.Sprintf("Installed %d CIS AWS Foundations Benchmark metric filters (namespace %s).", len(logs.CIS), ns))
	default:
		c.fail(w, r, http.StatusBadRequest, fmt.Sprintf("Unknown log group action %q.", action))
	}
}

// installCIS installs the CIS pack as `cairn monitor enable-cis` does: one PutMetricFilter per
// control, replacing a filter of the same name, so installing again changes nothing.
func (c *Console) installCIS(r *http.Request, sc logs.Scope, group, namespace string) error {
	for _, ctl := range logs.CIS {
		f := ctl.MetricFilter(group)
		f.Transformation.MetricNamespace = namespace
		if err := c.putMetricFilter(r, sc, f); err != nil {
			return err
		}
	}
	return nil
}

func (c *Console) putMetricFilter(r *http.Request, sc logs.Scope, f logs.MetricFilter) error {
	return c.change(r, logsSource, "PutMetricFilter", logGroupARN(r, f.Group), putFilterParams(f), func() (any, error) {
		return nil, c.cfg.LogGroups.PutMetricFilter(r.Context(), sc, f)
	})
}

func (c *Console) putRetention(r *http.Request, sc logs.Scope, group string, days int) error {
	params := map[string]any{"logGroupName": group, "retentionInDays": days}
	return c.change(r, logsSource, "PutRetentionPolicy", logGroupARN(r, group), params, func() (any, error) {
		return nil, c.cfg.LogGroups.PutRetention(r.Context(), sc, group, days)
	})
}

// logGroupARN is the ARN the API authorizes a call on the log group with.
func logGroupARN(r *http.Request, group string) string {
	return arn(r, "logs", "log-group:"+group)
}

// putFilterParams is PutMetricFilter's request as the API receives it.
func putFilterParams(f logs.MetricFilter) any {
	return struct {
		LogGroupName          string                `json:"logGroupName"`
		FilterName            string                `json:"filterName"`
		FilterPattern         string                `json:"filterPattern"`
		MetricTransformations []logs.Transformation `json:"metricTransformations"`
	}{f.Group, f.Name, f.Pattern, []logs.Transformation{f.Transformation}}
}

// logGroupError shows the group page again with the API's message (or, if the group is gone,
// the page's own not-found error).
func (c *Console) logGroupError(w http.ResponseWriter, r *http.Request, f filterForm, err error, formFailed bool) {
	msg, status, ok := userError(err)
	if !ok {
		c.internal(w, r, "change the log group", err)
		return
	}
	c.renderLogGroup(w, r, status, f, msg, formFailed)
}

// formatBytes writes a size in binary units.
func formatBytes(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}
