package trail

import (
	"time"

	"github.com/cairn-dev/cairn/internal/event"
)

// Router decides which trails receive an event: the trail was logging when cairn recorded it,
// the event belongs to the trail's account (or organisation), its region (or the trail is
// multi-region, or it is a global service event the trail includes), and the trail's selectors
// select it. Delivery uses it; so can anything else that follows trails (CloudWatch Logs).
// A Router is a snapshot: build a new one when trails or organisations change.
type Router struct {
	trails []*Trail
	orgs   map[string]map[string]bool // organisation ID → member accounts
}

// NewRouter returns a router over trails; orgs lists each organisation's accounts.
func NewRouter(trails []*Trail, orgs map[string][]string) *Router {
	r := &Router{trails: trails, orgs: map[string]map[string]bool{}}
	for id, accounts := range orgs {
		m := map[string]bool{}
		for _, a := range accounts {
			m[a] = true
		}
		r.orgs[id] = m
	}
	return r
}

// Trails returns the trails the router routes to.
func (r *Router) Trails() []*Trail { return r.trails }

// Route appends to dst the trails that want e, which the journal appended at time at.
func (r *Router) Route(e *Event, at time.Time, dst []*Trail) []*Trail {
	for _, t := range r.trails {
		if r.wants(t, e, at) {
			dst = append(dst, t)
		}
	}
	return dst
}

func (r *Router) wants(t *Trail, e *Event, at time.Time) bool {
	if !t.LoggingAt(at) {
		return false
	}
	s := &e.Summary
	if s.Account != t.Account && !(t.IsOrganizationTrail && r.orgs[t.OrganizationID][s.Account]) {
		return false
	}
	global := isGlobal(s)
	if global && !t.IncludeGlobalServiceEvents {
		return false
	}
	if !t.IsMultiRegionTrail && s.Region != t.HomeRegion && !global {
		return false
	}
	if s.Category == event.CategoryInsight {
		return t.wantsInsight(e)
	}
	return t.Selects(e)
}

func (t *Trail) wantsInsight(e *Event) bool {
	if len(t.InsightSelectors) == 0 {
		return false
	}
	rec := e.record()
	if rec == nil || rec.InsightDetails == nil {
		return false
	}
	for _, s := range t.InsightSelectors {
		if s.InsightType == rec.InsightDetails.InsightType {
			return true
		}
	}
	return false
}

// globalSources are the services whose events CloudTrail records as global service events, in
// us-east-1.
var globalSources = map[string]bool{
	"iam.amazonaws.com": true, "sts.amazonaws.com": true, "cloudfront.amazonaws.com": true,
	"route53.amazonaws.com": true, "organizations.amazonaws.com": true, "waf.amazonaws.com": true,
	"globalaccelerator.amazonaws.com": true, "shield.amazonaws.com": true,
}

func isGlobal(s *event.Summary) bool {
	return s.Region == "us-east-1" && globalSources[s.EventSource]
}
