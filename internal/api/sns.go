// This file: the SNS API (awsQuery, Version 2010-03-31) over internal/notify, and the two
// unsigned GET routes SNS endpoints use: the signing certificate and the SubscribeURL /
// UnsubscribeURL links.

package api

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"html"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/cairn-dev/cairn/internal/api/awsproto"
	"github.com/cairn-dev/cairn/internal/notify"
	"github.com/cairn-dev/cairn/internal/recorder"
)

const snsXMLNS = "http://sns.amazonaws.com/doc/2010-03-31/"

func snsError(w http.ResponseWriter, e *awsproto.Error) {
	awsproto.WriteQueryError(w, snsXMLNS, w.Header().Get("x-amzn-RequestId"), e)
}

func snsInvalid(format string, args ...any) *awsproto.Error {
	return awsproto.Errorf("InvalidParameter", "Invalid parameter: "+format, args...)
}

func (s *Server) snsOperations() map[string]operation {
	return map[string]operation{
		"CreateTopic":               s.snsCreateTopic,
		"DeleteTopic":               s.snsDeleteTopic,
		"ListTopics":                s.snsListTopics,
		"GetTopicAttributes":        s.snsGetTopicAttributes,
		"SetTopicAttributes":        s.snsSetTopicAttributes,
		"Subscribe":                 s.snsSubscribe,
		"ConfirmSubscription":       s.snsConfirmSubscription,
		"Unsubscribe":               s.snsUnsubscribe,
		"ListSubscriptions":         s.snsListSubscriptions,
		"ListSubscriptionsByTopic":  s.snsListSubscriptionsByTopic,
		"GetSubscriptionAttributes": s.snsGetSubscriptionAttributes,
		"SetSubscriptionAttributes": s.snsSetSubscriptionAttributes,
		"Publish":                   s.snsPublish,
		"ListTagsForResource":       s.snsListTags,
		"TagResource":               s.snsTagResource,
		"UntagResource":             s.snsUntagResource,
	}
}

// sns dispatches an SNS call.
func (s *Server) sns(c *call) {
	q, perr := awsproto.ParseQuery(c.body)
	if perr != nil {
		c.op = "Unknown"
		c.fail(perr, snsError)
		return
	}
	c.op = q.Action
	c.readOnly = recorder.ReadOnlyOperation(q.Action)
	c.data = q.Action == "Publish"
	c.params = snsParams(q)
	op, ok := s.snsOps[q.Action]
	switch {
	case s.cfg.Notify == nil:
		c.fail(awsproto.Errorf("InvalidAction", "SNS is not enabled on this cairn server."), snsError)
	case c.r.Method != http.MethodPost:
		c.fail(awsproto.Errorf("InvalidAction", "SNS operations are POSTed as forms."), snsError)
	case !ok:
		c.fail(awsproto.Errorf("InvalidAction", "The action %s is not valid for this endpoint.", q.Action), snsError)
	case q.Version != "" && q.Version != "2010-03-31":
		c.fail(snsInvalid("Version Reason: cairn speaks SNS 2010-03-31, not %q", q.Version), snsError)
	default:
		if e := s.authorize(c, "sns"); e != nil {
			c.fail(e, snsError)
			return
		}
		c.query = q
		op(c)
	}
}

// snsParams is the requestParameters of the self-audit record: top-level members in
// lowerCamel case; a message's text is withheld, as CloudTrail withholds it.
func snsParams(q *awsproto.Query) []byte {
	m := map[string]string{}
	for k, v := range q.Values {
		if k == "Action" || k == "Version" || strings.Contains(k, ".") || len(v) == 0 {
			continue
		}
		val := v[0]
		if k == "Message" {
			val = "HIDDEN_DUE_TO_SECURITY_REASONS"
		}
		m[strings.ToLower(k[:1])+k[1:]] = val
	}
	b, _ := json.Marshal(m)
	return b
}

func (c *call) caller() notify.Caller {
	return notify.Caller{Account: c.principal.AccountID, Region: c.auth.Region, ARN: c.principal.ARN()}
}

// notifyFail maps internal/notify's errors to SNS's error codes.
func (s *Server) notifyFail(c *call, err error) {
	var ne *notify.Error
	if errors.As(err, &ne) {
		status := http.StatusBadRequest
		switch ne.Kind {
		case notify.NotFound, notify.ResourceNotFound:
			status = http.StatusNotFound
		case notify.AuthorizationError:
			status = http.StatusForbidden
		}
		c.fail(&awsproto.Error{Code: ne.Code(), Message: ne.Message, Status: status}, snsError)
		return
	}
	s.cfg.Logger.Error("sns operation failed", "request", c.id, "operation", c.op, "err", err)
	c.fail(&awsproto.Error{Code: "InternalError", Message: "Internal error. Request ID: " + c.id, Status: http.StatusInternalServerError}, snsError)
}

func (s *Server) snsReply(c *call, result any) {
	if err := awsproto.WriteQuery(c.w, snsXMLNS, c.op, c.id, result); err != nil {
		s.cfg.Logger.Warn("write sns response", "request", c.id, "err", err)
	}
	if result != nil {
		c.response, _ = json.Marshal(result)
	}
}

// requiredParam returns a required query parameter, failing the call when it is missing.
func requiredParam(c *call, name string) (string, bool) {
	v := c.query.Get(name)
	if v == "" {
		c.fail(snsInvalid("%s Reason: no value for required parameter", name), snsError)
		return "", false
	}
	return v, true
}

func optionalBool(c *call, name string) (bool, bool) {
	v := c.query.Get(name)
	if v == "" {
		return false, true
	}
	b, err := strconv.ParseBool(v)
	if err != nil {
		c.fail(snsInvalid("%s Reason: %q is not true or false", name, v), snsError)
		return false, false
	}
	return b, true
}

// attributes reads an SNS attribute map (Attributes.entry.N.key / .value).
func attributes(c *call) (map[string]string, bool) {
	for _, p := range c.query.Indexes("Attributes.entry") {
		if c.query.Get(p+".key") == "" {
			c.fail(snsInvalid("Attributes Reason: entry %s has no key", strings.TrimPrefix(p, "Attributes.entry.")), snsError)
			return nil, false
		}
	}
	return c.query.Map("Attributes.entry", "key", "value"), true
}

type xmlEntry struct {
	Key   string `xml:"key"`
	Value string `xml:"value"`
}

func xmlMap(m map[string]string) []xmlEntry {
	out := make([]xmlEntry, 0, len(m))
	for k, v := range m {
		out = append(out, xmlEntry{k, v})
	}
	// Stable output for clients and tests.
	for i := 1; i < len(out); i++ {
		for j := i; j > 0 && out[j].Key < out[j-1].Key; j-- {
			out[j], out[j-1] = out[j-1], out[j]
		}
	}
	return out
}

func (s *Server) snsCreateTopic(c *call) {
	name, ok := requiredParam(c, "Name")
	if !ok {
		return
	}
	attrs, ok := attributes(c)
	if !ok {
		return
	}
	if p := c.query.Get("DataProtectionPolicy"); p != "" {
		if attrs == nil {
			attrs = map[string]string{}
		}
		attrs["DataProtectionPolicy"] = p
	}
	tags, ok := tagList(c)
	if !ok {
		return
	}
	arn, err := s.cfg.Notify.CreateTopic(c.r.Context(), c.caller(), name, attrs, tags)
	if err != nil {
		s.notifyFail(c, err)
		return
	}
	s.snsReply(c, struct{ TopicArn string }{arn})
}

func (s *Server) snsDeleteTopic(c *call) {
	arn, ok := requiredParam(c, "TopicArn")
	if !ok {
		return
	}
	if err := s.cfg.Notify.DeleteTopic(c.r.Context(), c.caller(), arn); err != nil {
		s.notifyFail(c, err)
		return
	}
	s.snsReply(c, nil)
}

func (s *Server) snsListTopics(c *call) {
	arns, next, err := s.cfg.Notify.ListTopics(c.r.Context(), c.caller(), c.query.Get("NextToken"))
	if err != nil {
		s.notifyFail(c, err)
		return
	}
	type member struct{ TopicArn string }
	res := struct {
		Topics    []member `xml:"Topics>member"`
		NextToken string   `xml:",omitempty"`
	}{Topics: []member{}, NextToken: next}
	for _, a := range arns {
		res.Topics = append(res.Topics, member{a})
	}
	s.snsReply(c, res)
}

type attributesResult struct {
	Attributes []xmlEntry `xml:"Attributes>entry"`
}

func (s *Server) snsGetTopicAttributes(c *call) {
	arn, ok := requiredParam(c, "TopicArn")
	if !ok {
		return
	}
	attrs, err := s.cfg.Notify.TopicAttributes(c.r.Context(), c.caller(), arn)
	if err != nil {
		s.notifyFail(c, err)
		return
	}
	s.snsReply(c, attributesResult{xmlMap(attrs)})
}

func (s *Server) snsSetTopicAttributes(c *call) {
	arn, ok := requiredParam(c, "TopicArn")
	if !ok {
		return
	}
	name, ok := requiredParam(c, "AttributeName")
	if !ok {
		return
	}
	if err := s.cfg.Notify.SetTopicAttribute(c.r.Context(), c.caller(), arn, name, c.query.Get("AttributeValue")); err != nil {
		s.notifyFail(c, err)
		return
	}
	s.snsReply(c, nil)
}

type subscriptionArnResult struct{ SubscriptionArn string }

func (s *Server) snsSubscribe(c *call) {
	arn, ok := requiredParam(c, "TopicArn")
	if !ok {
		return
	}
	protocol, ok := requiredParam(c, "Protocol")
	if !ok {
		return
	}
	endpoint, ok := requiredParam(c, "Endpoint")
	if !ok {
		return
	}
	returnARN, ok := optionalBool(c, "ReturnSubscriptionArn")
	if !ok {
		return
	}
	attrs, ok := attributes(c)
	if !ok {
		return
	}
	sub, confirmed, err := s.cfg.Notify.Subscribe(c.r.Context(), c.caller(), arn, protocol, endpoint, attrs)
	if err != nil {
		s.notifyFail(c, err)
		return
	}
	res := sub.ARN
	if !confirmed && !returnARN {
		res = "pending confirmation"
	}
	s.snsReply(c, subscriptionArnResult{res})
}

func (s *Server) snsConfirmSubscription(c *call) {
	arn, ok := requiredParam(c, "TopicArn")
	if !ok {
		return
	}
	token, ok := requiredParam(c, "Token")
	if !ok {
		return
	}
	authOnUnsub, ok := optionalBool(c, "AuthenticateOnUnsubscribe")
	if !ok {
		return
	}
	caller := c.caller()
	sub, err := s.cfg.Notify.ConfirmSubscription(c.r.Context(), &caller, arn, token, authOnUnsub)
	if err != nil {
		s.notifyFail(c, err)
		return
	}
	s.snsReply(c, subscriptionArnResult{sub})
}

func (s *Server) snsUnsubscribe(c *call) {
	arn, ok := requiredParam(c, "SubscriptionArn")
	if !ok {
		return
	}
	caller := c.caller()
	if err := s.cfg.Notify.Unsubscribe(c.r.Context(), &caller, arn); err != nil {
		s.notifyFail(c, err)
		return
	}
	s.snsReply(c, nil)
}

type xmlSubscription struct {
	SubscriptionArn, Owner, Protocol, Endpoint, TopicArn string
}

type subscriptionsResult struct {
	Subscriptions []xmlSubscription `xml:"Subscriptions>member"`
	NextToken     string            `xml:",omitempty"`
}

func (s *Server) listSubscriptions(c *call, topic string) {
	subs, next, err := s.cfg.Notify.ListSubscriptions(c.r.Context(), c.caller(), topic, c.query.Get("NextToken"))
	if err != nil {
		s.notifyFail(c, err)
		return
	}
	res := subscriptionsResult{Subscriptions: []xmlSubscription{}, NextToken: next}
	for _, sub := range subs {
		res.Subscriptions = append(res.Subscriptions, xmlSubscription{sub.ARN, sub.Owner, sub.Protocol, sub.Endpoint, sub.TopicARN})
	}
	s.snsReply(c, res)
}

func (s *Server) snsListSubscriptions(c *call) { s.listSubscriptions(c, "") }

func (s *Server) snsListSubscriptionsByTopic(c *call) {
	if arn, ok := requiredParam(c, "TopicArn"); ok {
		s.listSubscriptions(c, arn)
	}
}

func (s *Server) snsGetSubscriptionAttributes(c *call) {
	arn, ok := requiredParam(c, "SubscriptionArn")
	if !ok {
		return
	}
	attrs, err := s.cfg.Notify.SubscriptionAttributes(c.r.Context(), c.caller(), arn)
	if err != nil {
		s.notifyFail(c, err)
		return
	}
	s.snsReply(c, attributesResult{xmlMap(attrs)})
}

func (s *Server) snsSetSubscriptionAttributes(c *call) {
	arn, ok := requiredParam(c, "SubscriptionArn")
	if !ok {
		return
	}
	name, ok := requiredParam(c, "AttributeName")
	if !ok {
		return
	}
	if err := s.cfg.Notify.SetSubscriptionAttribute(c.r.Context(), c.caller(), arn, name, c.query.Get("AttributeValue")); err != nil {
		s.notifyFail(c, err)
		return
	}
	s.snsReply(c, nil)
}

func (s *Server) snsPublish(c *call) {
	in := notify.PublishInput{
		TopicARN: c.query.Get("TopicArn"), Subject: c.query.Get("Subject"),
		Message: c.query.Get("Message"), MessageStructure: c.query.Get("MessageStructure"),
	}
	if t := c.query.Get("TargetArn"); t != "" {
		if in.TopicARN != "" && in.TopicARN != t {
			c.fail(snsInvalid("TopicArn or TargetArn Reason: give one, not both"), snsError)
			return
		}
		in.TopicARN = t
	}
	if c.query.Get("PhoneNumber") != "" {
		c.fail(snsInvalid("PhoneNumber Reason: cairn does not send SMS"), snsError)
		return
	}
	if !c.query.Has("Message") {
		c.fail(snsInvalid("Message Reason: no value for required parameter"), snsError)
		return
	}
	for _, p := range c.query.Indexes("MessageAttributes.entry") {
		a := notify.MessageAttribute{Name: c.query.Get(p + ".Name"), DataType: c.query.Get(p + ".Value.DataType"), StringValue: c.query.Get(p + ".Value.StringValue")}
		if bv := c.query.Get(p + ".Value.BinaryValue"); bv != "" {
			b, err := base64.StdEncoding.DecodeString(bv)
			if err != nil {
				c.fail(snsInvalid("MessageAttributes Reason: BinaryValue of %q is not base64", a.Name), snsError)
				return
			}
			a.BinaryValue = b
		}
		in.Attributes = append(in.Attributes, a)
	}
	id, err := s.cfg.Notify.PublishAs(c.r.Context(), c.caller(), in)
	if err != nil {
		s.notifyFail(c, err)
		return
	}
	s.snsReply(c, struct{ MessageId string }{id})
}

// snsCert serves the certificate messages are signed with (SigningCertURL).
func (s *Server) snsCert(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/x-pem-file")
	w.Write(s.cfg.Notify.CertPEM())
}

// snsLink serves GET / with Action=ConfirmSubscription or Action=Unsubscribe: the
// SubscribeURL and UnsubscribeURL in messages, which endpoints visit without signing. Any other
// GET / is an AWS-protocol request.
func (s *Server) snsLink(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	action := q.Get("Action")
	if s.cfg.Notify == nil || (action != "ConfirmSubscription" && action != "Unsubscribe") || r.Header.Get("Authorization") != "" {
		s.aws(w, r)
		return
	}
	c := &call{r: r, w: w, id: uuid.NewString(), start: time.Now(), status: http.StatusOK, service: "sns", op: action}
	w.Header().Set("x-amzn-RequestId", c.id)
	defer s.finish(c)
	params := map[string]string{}
	for k := range q {
		if k != "Action" && k != "Token" {
			params[strings.ToLower(k[:1])+k[1:]] = q.Get(k)
		}
	}
	c.params, _ = json.Marshal(params)
	switch action {
	case "ConfirmSubscription":
		topic, token := q.Get("TopicArn"), q.Get("Token")
		if topic == "" || token == "" {
			c.fail(snsInvalid("TopicArn and Token Reason: both are required"), snsError)
			return
		}
		sub, err := s.cfg.Notify.ConfirmSubscription(r.Context(), nil, topic, token, false)
		if err != nil {
			s.notifyFail(c, err)
			return
		}
		if wantsHTML(r) {
			linkPage(w, "Subscription confirmed!", "You have successfully subscribed.", "Your subscription's id is: "+sub)
			return
		}
		s.snsReply(c, subscriptionArnResult{sub})
	case "Unsubscribe":
		sub := q.Get("SubscriptionArn")
		if sub == "" {
			c.fail(snsInvalid("SubscriptionArn Reason: no value for required parameter"), snsError)
			return
		}
		if err := s.cfg.Notify.Unsubscribe(r.Context(), nil, sub); err != nil {
			s.notifyFail(c, err)
			return
		}
		if wantsHTML(r) {
			linkPage(w, "Subscription removed!", "Your subscription to the topic below has been deactivated.", sub)
			return
		}
		s.snsReply(c, nil)
	}
}

// wantsHTML reports whether a person followed the link (a mail's link, in a browser) rather
// than an endpoint's code, which gets SNS's XML.
func wantsHTML(r *http.Request) bool { return strings.Contains(r.Header.Get("Accept"), "text/html") }

func linkPage(w http.ResponseWriter, title, text, detail string) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	fmt.Fprintf(w, "<!doctype html>\n<title>%s</title>\n<h1>%s</h1>\n<p>%s</p>\n<p><code>%s</code></p>\n",
		html.EscapeString(title), html.EscapeString(title), html.EscapeString(text), html.EscapeString(detail))
}

// tagList reads Tags.member.N.Key / .Value.
func tagList(c *call) (map[string]string, bool) {
	var tags map[string]string
	for _, p := range c.query.Indexes("Tags.member") {
		k := c.query.Get(p + ".Key")
		if k == "" {
			c.fail(snsInvalid("Tags Reason: member %s has no Key", strings.TrimPrefix(p, "Tags.member.")), snsError)
			return nil, false
		}
		if tags == nil {
			tags = map[string]string{}
		}
		tags[k] = c.query.Get(p + ".Value")
	}
	return tags, true
}

type xmlTag struct{ Key, Value string }

func (s *Server) snsListTags(c *call) {
	arn, ok := requiredParam(c, "ResourceArn")
	if !ok {
		return
	}
	tags, err := s.cfg.Notify.Tags(c.r.Context(), c.caller(), arn)
	if err != nil {
		s.notifyFail(c, err)
		return
	}
	res := struct {
		Tags []xmlTag `xml:"Tags>member"`
	}{Tags: []xmlTag{}}
	for _, e := range xmlMap(tags) {
		res.Tags = append(res.Tags, xmlTag{e.Key, e.Value})
	}
	s.snsReply(c, res)
}

func (s *Server) snsTagResource(c *call) {
	arn, ok := requiredParam(c, "ResourceArn")
	if !ok {
		return
	}
	tags, ok := tagList(c)
	if !ok {
		return
	}
	if len(tags) == 0 {
		c.fail(snsInvalid("Tags Reason: no value for required parameter"), snsError)
		return
	}
	if err := s.cfg.Notify.Tag(c.r.Context(), c.caller(), arn, tags, nil); err != nil {
		s.notifyFail(c, err)
		return
	}
	s.snsReply(c, struct{}{})
}

func (s *Server) snsUntagResource(c *call) {
	arn, ok := requiredParam(c, "ResourceArn")
	if !ok {
		return
	}
	keys := c.query.List("TagKeys.member")
	if len(keys) == 0 {
		c.fail(snsInvalid("TagKeys Reason: no value for required parameter"), snsError)
		return
	}
	if err := s.cfg.Notify.Tag(c.r.Context(), c.caller(), arn, nil, keys); err != nil {
		s.notifyFail(c, err)
		return
	}
	s.snsReply(c, struct{}{})
}
