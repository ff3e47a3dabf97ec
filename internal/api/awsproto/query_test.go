package awsproto

import (
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestParseQuery(t *testing.T) {
	body := "Action=CreateTopic&Version=2010-03-31&Name=alerts" +
		"&Attributes.entry.2.key=DisplayName&Attributes.entry.2.value=Ops" +
		"&Attributes.entry.1.key=Policy&Attributes.entry.1.value=%7B%7D" +
		"&AlarmNames.member.10=j&AlarmNames.member.2=b&AlarmNames.member.1=a" +
		"&Dimensions.member.1.Name=Host&Dimensions.member.1.Value=web"
	q, err := ParseQuery([]byte(body))
	if err != nil {
		t.Fatal(err)
	}
	if q.Action != "CreateTopic" || q.Version != "2010-03-31" || q.Get("Name") != "alerts" {
		t.Fatalf("got %+v", q)
	}
	if got := q.List("AlarmNames.member"); !reflect.DeepEqual(got, []string{"a", "b", "j"}) {
		t.Errorf("List = %q", got)
	}
	if got := q.Map("Attributes.entry", "key", "value"); !reflect.DeepEqual(got, map[string]string{"DisplayName": "Ops", "Policy": "{}"}) {
		t.Errorf("Map = %q", got)
	}
	if idx := q.Indexes("Dimensions.member"); len(idx) != 1 || q.Get(idx[0]+".Name") != "Host" {
		t.Errorf("Indexes = %q", idx)
	}
	if q.Has("Missing") || len(q.List("Missing.member")) != 0 || q.Map("Missing.entry", "key", "value") != nil {
		t.Error("absent parameters should be absent")
	}
}

func TestParseQueryErrors(t *testing.T) {
	for _, body := range []string{"", "Version=1", "Action=%zz"} {
		if _, err := ParseQuery([]byte(body)); err == nil {
			t.Errorf("ParseQuery(%q) accepted", body)
		}
	}
}

func TestQueryTime(t *testing.T) {
	want := time.Date(2026, 11, 22, 13, 0, 0, 0, time.UTC)
	for _, s := range []string{"2026-11-22T13:00:00Z", "2026-11-22T13:00:00.000Z", "2026-11-22T14:00:00+01:00", "2026-11-22T13:00:00", "1795352400"} {
		got, ok := QueryTime(s)
		if !ok || !got.Equal(want) {
			t.Errorf("QueryTime(%q) = %v, %v", s, got, ok)
		}
	}
	if _, ok := QueryTime("yesterday"); ok {
		t.Error("QueryTime accepted garbage")
	}
}

func TestWriteQuery(t *testing.T) {
	w := httptest.NewRecorder()
	type result struct {
		TopicArn string
		Topics   []string `xml:"Topics>member"`
	}
	if err := WriteQuery(w, "http://sns.amazonaws.com/doc/2010-03-31/", "CreateTopic", "req-1", result{"arn:t", []string{"a", "b"}}); err != nil {
		t.Fatal(err)
	}
	want := `<CreateTopicResponse xmlns="http://sns.amazonaws.com/doc/2010-03-31/"><CreateTopicResult><TopicArn>arn:t</TopicArn><Topics><member>a</member><member>b</member></Topics></CreateTopicResult><ResponseMetadata><RequestId>req-1</RequestId></ResponseMetadata></CreateTopicResponse>`
	if got := w.Body.String(); !strings.HasSuffix(got, want) {
		t.Errorf("body\n got %s\nwant %s", got, want)
	}
	w = httptest.NewRecorder()
	WriteQuery(w, "ns", "DeleteTopic", "req-2", nil)
	if got := w.Body.String(); !strings.HasSuffix(got, `<DeleteTopicResponse xmlns="ns"><ResponseMetadata><RequestId>req-2</RequestId></ResponseMetadata></DeleteTopicResponse>`) {
		t.Errorf("empty result body %s", got)
	}
}

func TestWriteQueryError(t *testing.T) {
	w := httptest.NewRecorder()
	WriteQueryError(w, "ns", "req-3", &Error{Code: "NotFound", Message: "Topic does not exist", Status: http.StatusNotFound})
	want := `<ErrorResponse xmlns="ns"><Error><Type>Sender</Type><Code>NotFound</Code><Message>Topic does not exist</Message></Error><RequestId>req-3</RequestId></ErrorResponse>`
	if w.Code != 404 || !strings.HasSuffix(w.Body.String(), want) {
		t.Errorf("%d %s", w.Code, w.Body.String())
	}
}
