package console

import (
	"fmt"
	"net/http"
	"strings"

	"github.com/cairn-dev/cairn/internal/notify"
)

// Topic pages: CreateTopic, DeleteTopic, Subscribe and Unsubscribe through notify.Service, as
// the API runs them. Every subscription needs confirmation by its endpoint, as on SNS.

var subscribeProtocols = []string{"https", "http", "email", "email-json"}

type topicRow struct {
	ARN, Name, URL     string
	Confirmed, Pending string
}

type topicsData struct {
	Rows    []topicRow
	NextURL string
	Name    string // the create form as typed
}

func topicURL(arn string) string {
	t, _ := notify.ParseTopicARN(arn)
	return Prefix + "topics/" + t.Name
}

func (c *Console) topics(w http.ResponseWriter, r *http.Request) {
	c.renderTopics(w, r, http.StatusOK, "", "")
}

func (c *Console) renderTopics(w http.ResponseWriter, r *http.Request, status int, name, msg string) {
	ctx, caller := r.Context(), c.caller(r)
	arns, next, err := c.cfg.Notify.ListTopics(ctx, caller, r.URL.Query().Get("after"))
	if err != nil {
		c.failWith(w, r, "list topics", err)
		return
	}
	d := topicsData{Name: name}
	for _, arn := range arns {
		attrs, err := c.cfg.Notify.TopicAttributes(ctx, caller, arn)
		if err != nil {
			c.failWith(w, r, "read topic "+arn, err)
			return
		}
		t, _ := notify.ParseTopicARN(arn)
		d.Rows = append(d.Rows, topicRow{ARN: arn, Name: t.Name, URL: topicURL(arn), Confirmed: attrs["SubscriptionsConfirmed"], Pending: attrs["SubscriptionsPending"]})
	}
	if next != "" {
		d.NextURL = Prefix + "topics?after=" + urlQueryEscape(next)
	}
	c.render(w, r, status, "topics", "Topics", page{Flash: r.URL.Query().Get("done"), Error: msg, Data: d})
}

func (c *Console) createTopic(w http.ResponseWriter, r *http.Request) {
	name := strings.TrimSpace(r.PostFormValue("name"))
	var arn string
	err := c.change(r, snsSource, "CreateTopic", topicARN(r, name), map[string]string{"name": name}, func() (_ any, err error) {
		arn, err = c.cfg.Notify.CreateTopic(r.Context(), c.caller(r), name, nil, nil)
		return map[string]string{"topicArn": arn}, err
	})
	if err != nil {
		if msg, _, ok := userError(err); ok {
			c.renderTopics(w, r, http.StatusBadRequest, name, msg)
			return
		}
		c.internal(w, r, "create the topic", err)
		return
	}
	done(w, r, topicURL(arn), "Created topic "+name+".")
}

type topicData struct {
	ARN, Name, URL string
	Attrs          map[string]string
	Subs           []notify.SubscriptionState
	NextURL        string
	Protocols      []string
	Protocol       string // the subscribe form as typed
	Endpoint       string
}

// topicARN is the ARN of the topic the console names, in the user's account and region.
func topicARN(r *http.Request, name string) string {
	return arn(r, "sns", name)
}

func (c *Console) topic(w http.ResponseWriter, r *http.Request) {
	c.renderTopic(w, r, http.StatusOK, "https", "", "")
}

func (c *Console) renderTopic(w http.ResponseWriter, r *http.Request, status int, protocol, endpoint, msg string) {
	ctx, caller, arn := r.Context(), c.caller(r), topicARN(r, r.PathValue("name"))
	attrs, err := c.cfg.Notify.TopicAttributes(ctx, caller, arn)
	if err != nil {
		c.failWith(w, r, "read the topic", err)
		return
	}
	subs, next, err := c.cfg.Notify.TopicSubscriptions(ctx, caller, arn, r.URL.Query().Get("after"))
	if err != nil {
		c.failWith(w, r, "list the topic's subscriptions", err)
		return
	}
	d := topicData{ARN: arn, Name: r.PathValue("name"), URL: topicURL(arn), Attrs: attrs, Subs: subs, Protocols: subscribeProtocols, Protocol: protocol, Endpoint: endpoint}
	if next != "" {
		d.NextURL = d.URL + "?after=" + urlQueryEscape(next)
	}
	c.render(w, r, status, "topic", "Topic "+d.Name, page{Flash: r.URL.Query().Get("done"), Error: msg, Data: d})
}

// changeTopic runs the topic page's forms; action says which.
func (c *Console) changeTopic(w http.ResponseWriter, r *http.Request) {
	ctx, caller, arn := r.Context(), c.caller(r), topicARN(r, r.PathValue("name"))
	here := topicURL(arn)
	switch action := r.PostFormValue("action"); action {
	case "subscribe":
		protocol, endpoint := r.PostFormValue("protocol"), strings.TrimSpace(r.PostFormValue("endpoint"))
		var confirmed bool
		params := map[string]string{"topicArn": arn, "protocol": protocol, "endpoint": endpoint}
		err := c.change(r, snsSource, "Subscribe", arn, params, func() (any, error) {
			sub, ok, err := c.cfg.Notify.Subscribe(ctx, caller, arn, protocol, endpoint, nil)
			if err != nil {
				return nil, err
			}
			confirmed = ok
			return map[string]string{"subscriptionArn": map[bool]string{true: sub.ARN, false: "pending confirmation"}[ok]}, nil
		})
		if err != nil {
			c.topicError(w, r, protocol, endpoint, err)
			return
		}
		msg := "Subscribed " + endpoint + ": it is pending until the endpoint confirms (a confirmation message is on its way)."
		if confirmed {
			msg = endpoint + " is already subscribed and confirmed."
		}
		done(w, r, here, msg)
	case "unsubscribe":
		sub := r.PostFormValue("subscription")
		err := c.change(r, snsSource, "Unsubscribe", arn, map[string]string{"subscriptionArn": sub}, func() (any, error) {
			return nil, c.cfg.Notify.Unsubscribe(ctx, &caller, sub)
		})
		if err != nil {
			c.topicError(w, r, "https", "", err)
			return
		}
		done(w, r, here, "Unsubscribed "+r.PostFormValue("endpoint")+".")
	case "delete":
		err := c.change(r, snsSource, "DeleteTopic", arn, map[string]string{"topicArn": arn}, func() (any, error) {
			return nil, c.cfg.Notify.DeleteTopic(ctx, caller, arn)
		})
		if err != nil {
			c.failWith(w, r, "delete the topic", err)
			return
		}
		done(w, r, Prefix+"topics", "Deleted topic "+r.PathValue("name")+".")
	default:
		c.fail(w, r, http.StatusBadRequest, fmt.Sprintf("Unknown topic action %q.", action))
	}
}

func (c *Console) topicError(w http.ResponseWriter, r *http.Request, protocol, endpoint string, err error) {
	msg, status, ok := userError(err)
	if !ok {
		c.internal(w, r, "change the topic", err)
		return
	}
	c.renderTopic(w, r, status, protocol, endpoint, msg)
}
