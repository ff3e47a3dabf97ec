package api

import (
	"encoding/json"
	"net/http"
	"strings"

	"github.com/cairn-dev/cairn/internal/api/awsproto"
	"github.com/cairn-dev/cairn/internal/iam"
)

// authorize checks the caller's identity-based policies for the call's action, <prefix>:<op>
// with the service's IAM prefix, on the resource the call names. It returns nil when the call
// may proceed, else the error to answer. Dispatchers call it once the operation and its
// parameters (c.params, else c.body) are known, before the operation runs.
func (s *Server) authorize(c *call, prefix string) *awsproto.Error {
	if c.principal.IsRoot() {
		return nil // the root user may do anything; spare reading the resource from the body
	}
	action := prefix + ":" + c.op
	// A call on several resources (DeleteAlarms) needs each of them allowed, as on AWS.
	for _, resource := range resourceARNs(prefix, c.op, c.auth.Region, c.principal.AccountID, c.fields()) {
		d, err := s.cfg.Accounts.Authorize(c.r.Context(), c.principal, action, resource)
		if err != nil {
			s.cfg.Logger.Error("authorization failed", "request", c.id, "action", action, "err", err)
			return awsproto.Internal(c.id)
		}
		if d == iam.Allowed {
			continue
		}
		denied := &iam.AccessDenied{Principal: c.principal, Action: action, Resource: resource, Decision: d}
		status := http.StatusBadRequest // the JSON services'; the query services answer 403
		if prefix == "cloudwatch" || prefix == "sns" {
			status = http.StatusForbidden
		}
		return &awsproto.Error{Code: denied.Code(), Message: denied.Error(), Status: status}
	}
	return nil
}

// resourceARNs are the ARNs of the resources a call names: the alarms a CloudWatch call lists by
// name, else the one of resourceARN.
func resourceARNs(prefix, op, region, account string, f resourceFields) []string {
	if prefix == "cloudwatch" && len(f.AlarmNames) > 0 {
		arns := make([]string, len(f.AlarmNames))
		for i, name := range f.AlarmNames {
			arns[i] = "arn:aws:cloudwatch:" + region + ":" + account + ":alarm:" + name
		}
		return arns
	}
	return []string{resourceARN(prefix, op, region, account, f)}
}

// resourceFields are the parameters that name a call's resource. encoding/json matches member
// names case-insensitively, so one shape reads CloudTrail's Name and SNS's name alike.
type resourceFields struct {
	Name, TrailName, EventDataStore, Channel, ResourceID, ChannelARN string
	LogGroupName, LogStreamName, AlarmName, TopicARN, ResourceARN    string
	SubscriptionARN                                                  string
	AlarmNames                                                       []string
}

// fields reads the resource parameters of the call: c.params where the dispatcher made them
// (the query protocols, whose body is a form), else the JSON body.
func (c *call) fields() resourceFields {
	src := c.params
	if src == nil {
		src = c.body
	}
	var f resourceFields
	json.Unmarshal(src, &f) // a member of another type leaves its field empty
	return f
}

// resourceARN is the ARN of the resource a call names, where the call names one plainly: a
// trail, event data store or channel, a log group or stream, an alarm, a topic. Otherwise "*".
func resourceARN(prefix, op, region, account string, f resourceFields) string {
	arn := func(service, resource string) string {
		return "arn:aws:" + service + ":" + region + ":" + account + ":" + resource
	}
	// named is v if it is an ARN already, else the ARN of kind/v.
	named := func(kind, v string) string {
		if strings.HasPrefix(v, "arn:") {
			return v
		}
		return arn(prefix, kind+v)
	}
	switch prefix {
	case "cloudtrail":
		trail := f.TrailName
		if trail == "" && (strings.Contains(op, "Trail") || strings.HasSuffix(op, "Logging")) {
			trail = f.Name
		}
		switch {
		case trail != "":
			return named("trail/", trail)
		case f.EventDataStore != "":
			return named("eventdatastore/", f.EventDataStore)
		case f.Channel != "":
			return named("channel/", f.Channel)
		case strings.HasPrefix(f.ResourceID, "arn:"):
			return f.ResourceID
		}
	case "cloudtrail-data":
		if strings.HasPrefix(f.ChannelARN, "arn:") {
			return f.ChannelARN
		}
	case "logs":
		switch {
		case f.LogGroupName != "" && f.LogStreamName != "":
			return arn("logs", "log-group:"+f.LogGroupName+":log-stream:"+f.LogStreamName)
		case f.LogGroupName != "":
			return arn("logs", "log-group:"+f.LogGroupName)
		}
	case "cloudwatch":
		if f.AlarmName != "" {
			return arn("cloudwatch", "alarm:"+f.AlarmName)
		}
	case "sns":
		switch {
		case strings.HasPrefix(f.TopicARN, "arn:"):
			return f.TopicARN
		case strings.HasPrefix(f.ResourceARN, "arn:"):
			return f.ResourceARN
		case strings.HasPrefix(f.SubscriptionARN, "arn:") && strings.Count(f.SubscriptionARN, ":") == 6:
			return f.SubscriptionARN[:strings.LastIndex(f.SubscriptionARN, ":")] // its topic's
		case op == "CreateTopic" && f.Name != "":
			return arn("sns", f.Name)
		}
	}
	return "*"
}
