package gen

import (
	"math"
	"time"
)

// insight is an Insights anomaly in progress: Start has been emitted, End
// is due once its duration has passed.
type insight struct {
	acct       *account
	region     string
	shared     string
	start, due time.Time
	kind       insightKind
	baseline   float64 // calls (or errors) per minute, normally
	rate       float64 // at the start of the anomaly
	arn, ua    string
	baseDays   int
}

type insightKind struct {
	source, name, typ, errCode string
	global                     bool
}

// The anomalies Insights is known for: bursts of instance launches, of IAM
// changes, and of access-denied errors.
var insightKinds = []insightKind{
	{source: "ec2.amazonaws.com", name: "RunInstances", typ: "ApiCallRateInsight"},
	{source: "iam.amazonaws.com", name: "AttachUserPolicy", typ: "ApiCallRateInsight", global: true},
	{source: "ec2.amazonaws.com", name: "AuthorizeSecurityGroupIngress", typ: "ApiCallRateInsight"},
	{source: "ssm.amazonaws.com", name: "UpdateInstanceInformation", typ: "ApiCallRateInsight"},
	{source: "sts.amazonaws.com", name: "AssumeRole", typ: "ApiErrorRateInsight", errCode: "AccessDenied"},
	{source: "kms.amazonaws.com", name: "Decrypt", typ: "ApiErrorRateInsight", errCode: "AccessDeniedException"},
}

// maybeInsight returns an Insights record instead of an API call now and
// then: a Start, and later (at the first t past its duration) the matching
// End.
func (g *Generator) maybeInsight(t time.Time) ([]byte, meta, bool) {
	if in := g.pending; in != nil {
		if t.Before(in.due) {
			return nil, meta{}, false
		}
		g.pending = nil
		minutes := int64(t.Sub(in.start) / time.Minute)
		if minutes < 1 {
			minutes = 1
		}
		// End reports the average over the whole anomaly, below its peak.
		avg := round(in.rate * (0.55 + 0.4*g.rng.Float64()))
		return g.insightRecord(in, t, "End", avg, minutes), meta{account: in.acct.id, region: in.region, insight: true}, true
	}
	if !g.chance(g.insightRate) {
		return nil, meta{}, false
	}
	var c call
	g.newCall(&c, t) // for the account and region only
	k := pick(g, insightKinds)
	in := &insight{
		acct:     c.acct,
		region:   c.region,
		shared:   string(appendUUID(nil, g.rng)),
		start:    t,
		due:      t.Add(time.Duration(2+g.intn(40)) * time.Minute),
		kind:     k,
		baseline: round(0.001 + 0.5*g.rng.Float64()*g.rng.Float64()),
		baseDays: 7 + g.intn(4),
	}
	if k.global {
		in.region = "us-east-1"
	}
	in.rate = float64(3+g.intn(60)) + in.baseline*10
	c.asAnyone(0.5)
	in.arn = c.callerARN()
	ua := jw{}
	c.source, c.name = k.source, k.name
	ua.b = c.appendUA(ua.b)
	in.ua = string(ua.b)
	g.pending = in
	return g.insightRecord(in, t, "Start", in.rate, 1), meta{account: in.acct.id, region: in.region, insight: true}, true
}

func round(x float64) float64 { return math.Round(x*1e10) / 1e10 }

func (g *Generator) insightRecord(in *insight, t time.Time, state string, avg float64, minutes int64) []byte {
	w := jw{b: make([]byte, 0, 1400)}
	w.b = append(w.b, `{"eventVersion":"1.07"`...)
	w.time("eventTime", t)
	w.strs("awsRegion", in.region)
	w.key("eventID")
	w.b = append(w.b, '"')
	w.b = appendUUID(w.b, g.rng)
	w.b = append(w.b, '"')
	w.strs("eventType", "AwsCloudTrailInsight")
	w.strs("recipientAccountId", in.acct.id)
	w.strs("sharedEventID", in.shared)
	w.obj("insightDetails")
	w.strs("state", state)
	w.strs("eventSource", in.kind.source)
	w.strs("eventName", in.kind.name)
	w.strs("insightType", in.kind.typ)
	if in.kind.errCode != "" {
		w.strs("errorCode", in.kind.errCode)
	}
	w.obj("insightContext")
	w.obj("statistics")
	w.obj("baseline")
	w.float("average", in.baseline)
	w.end()
	w.obj("insight")
	w.float("average", avg)
	w.end()
	w.int("insightDuration", minutes)
	w.int("baselineDuration", int64(in.baseDays*1440))
	w.end()
	w.arr("attributions")
	attribution(&w, "userIdentityArn", in.arn, avg, in.baseline)
	attribution(&w, "userAgent", in.ua, avg, in.baseline)
	errValue := "null"
	if in.kind.errCode != "" {
		errValue = in.kind.errCode
	}
	attribution(&w, "errorCode", errValue, avg, in.baseline)
	w.endArr()
	w.end()
	w.end()
	w.strs("eventCategory", "Insight")
	w.end()
	return w.b
}

// attribution writes one attributions[] entry with a single top
// contributor during the anomaly and in the baseline.
func attribution(w *jw, attr, value string, insight, baseline float64) {
	w.elem()
	w.strs("attribute", attr)
	w.arr("insight")
	w.elem()
	w.str("value", value)
	w.float("average", insight)
	w.end()
	w.endArr()
	w.arr("baseline")
	w.elem()
	w.str("value", value)
	w.float("average", baseline)
	w.end()
	w.endArr()
	w.end()
}
