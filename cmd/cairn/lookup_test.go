package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudtrail"
	"github.com/aws/aws-sdk-go-v2/service/cloudtrail/types"
)

func TestExpandAttrArgs(t *testing.T) {
	tests := []struct {
		args, want []string
	}{
		{[]string{"--lookup-attributes", "AttributeKey=A,AttributeValue=1", "AttributeKey=B,AttributeValue=2", "--max-items", "3"},
			[]string{"--lookup-attributes", "AttributeKey=A,AttributeValue=1", "--lookup-attributes", "AttributeKey=B,AttributeValue=2", "--max-items", "3"}},
		{[]string{"--lookup-attributes=AttributeKey=A,AttributeValue=1", "AttributeKey=B,AttributeValue=2"},
			[]string{"--lookup-attributes=AttributeKey=A,AttributeValue=1", "--lookup-attributes", "AttributeKey=B,AttributeValue=2"}},
		// Only right after the flag: elsewhere it stays an unexpected argument.
		{[]string{"--region", "x", "AttributeKey=B,AttributeValue=2"}, []string{"--region", "x", "AttributeKey=B,AttributeValue=2"}},
		{[]string{"--lookup-attributes", "AttributeKey=A,AttributeValue=1", "--", "AttributeKey=B"},
			[]string{"--lookup-attributes", "AttributeKey=A,AttributeValue=1", "--", "AttributeKey=B"}},
	}
	for _, tt := range tests {
		if got := expandAttrArgs(tt.args); !slices.Equal(got, tt.want) {
			t.Errorf("expandAttrArgs(%q)\n = %q\nwant %q", tt.args, got, tt.want)
		}
	}
}

func TestAttrFlag(t *testing.T) {
	tests := []struct {
		in      string
		want    string // key=value;…
		wantErr bool
	}{
		{"AttributeKey=EventName,AttributeValue=RunInstances", "EventName=RunInstances;", false},
		{"AttributeKey=ResourceName,AttributeValue=a,b", "ResourceName=a,b;", false},
		{`[{"AttributeKey":"EventName","AttributeValue":"X"},{"AttributeKey":"Username","AttributeValue":"root"}]`, "EventName=X;Username=root;", false},
		{` {"AttributeKey":"EventId","AttributeValue":"e-1"}`, "EventId=e-1;", false},
		{`[{"AttributeValue":"X"}]`, "", true},
		{`[{"AttributeKey":`, "", true},
		{"AttributeValue=X", "", true},
		{"Key=EventName", "", true},
	}
	for _, tt := range tests {
		var a attrFlag
		err := a.Set(tt.in)
		if (err != nil) != tt.wantErr {
			t.Errorf("Set(%q) error %v, want error %v", tt.in, err, tt.wantErr)
			continue
		}
		got := ""
		for _, x := range a {
			got += string(x.AttributeKey) + "=" + aws.ToString(x.AttributeValue) + ";"
		}
		if err == nil && got != tt.want {
			t.Errorf("Set(%q) = %s, want %s", tt.in, got, tt.want)
		}
	}
}

func TestStartingToken(t *testing.T) {
	// Tokens as the aws CLI (botocore) prints them: base64 of json.dumps.
	for _, tt := range []struct {
		in   string
		want startingToken
	}{
		{"eyJOZXh0VG9rZW4iOiAiYWJjIiwgImJvdG9fdHJ1bmNhdGVfYW1vdW50IjogM30=", startingToken{NextToken: aws.String("abc"), Skip: 3}}, // {"NextToken": "abc", "boto_truncate_amount": 3}
		{"eyJOZXh0VG9rZW4iOiBudWxsLCAiYm90b190cnVuY2F0ZV9hbW91bnQiOiA1fQ==", startingToken{Skip: 5}},                               // {"NextToken": null, "boto_truncate_amount": 5}
		{"eyJOZXh0VG9rZW4iOiAiYWJjIn0=", startingToken{NextToken: aws.String("abc")}},                                              // {"NextToken": "abc"}
		{"AQ_server-token", startingToken{NextToken: aws.String("AQ_server-token")}},                                               // the server's own
		{"", startingToken{}},
	} {
		got, err := decodeStartingToken(tt.in)
		if err != nil || aws.ToString(got.NextToken) != aws.ToString(tt.want.NextToken) || (got.NextToken == nil) != (tt.want.NextToken == nil) || got.Skip != tt.want.Skip {
			t.Errorf("decode(%q) = %+v %v, want %+v", tt.in, got, err, tt.want)
		}
		if tt.in == "" {
			continue
		}
		back, _ := decodeStartingToken(encodeStartingToken(got))
		if aws.ToString(back.NextToken) != aws.ToString(got.NextToken) || back.Skip != got.Skip {
			t.Errorf("round trip of %+v gave %+v", got, back)
		}
	}
	if _, err := decodeStartingToken("eyJOZXh0VG9rZW4iOiBudWxsLCAiYm90b190cnVuY2F0ZV9hbW91bnQiOiAtMX0="); err == nil { // amount -1
		t.Error("negative truncate amount accepted")
	}
}

// fakeLookup serves n events newest first, MaxResults (default 50) per page; tokens are offsets.
type fakeLookup struct {
	n     int
	calls int
}

func (f *fakeLookup) LookupEvents(_ context.Context, in *cloudtrail.LookupEventsInput, _ ...func(*cloudtrail.Options)) (*cloudtrail.LookupEventsOutput, error) {
	f.calls++
	from := 0
	if in.NextToken != nil {
		from, _ = strconv.Atoi(*in.NextToken)
	}
	size := 50
	if in.MaxResults != nil {
		size = int(*in.MaxResults)
	}
	out := &cloudtrail.LookupEventsOutput{}
	for i := from; i < min(from+size, f.n); i++ {
		out.Events = append(out.Events, types.Event{EventId: aws.String(fmt.Sprint(i))})
	}
	if from+size < f.n {
		out.NextToken = aws.String(fmt.Sprint(from + size))
	}
	return out, nil
}

// --max-items stops exactly, inside a page or on its boundary, and --starting-token continues
// exactly where it stopped: every event once, in order.
func TestPaginateLookup(t *testing.T) {
	for _, tt := range []struct{ n, pageSize, maxItems int }{
		{120, 0, 10}, {120, 0, 0}, {120, 7, 10}, {120, 7, 14}, {120, 50, 3}, {120, 0, 75}, {10, 4, 3}, {0, 0, 5},
	} {
		t.Run(fmt.Sprintf("n=%d,page=%d,items=%d", tt.n, tt.pageSize, tt.maxItems), func(t *testing.T) {
			f := &fakeLookup{n: tt.n}
			var got []string
			var resume startingToken
			for runs := 0; ; runs++ {
				if runs > tt.n+1 {
					t.Fatal("no end")
				}
				events, next, err := paginateLookup(context.Background(), f, &cloudtrail.LookupEventsInput{}, tt.pageSize, tt.maxItems, resume)
				if err != nil {
					t.Fatal(err)
				}
				if tt.maxItems > 0 && len(events) > tt.maxItems {
					t.Fatalf("%d events, --max-items %d", len(events), tt.maxItems)
				}
				for _, e := range events {
					got = append(got, *e.EventId)
				}
				if next == "" {
					break
				}
				if resume, err = decodeStartingToken(next); err != nil {
					t.Fatal(err)
				}
			}
			if len(got) != tt.n {
				t.Fatalf("%d events in all, want %d: %v", len(got), tt.n, got)
			}
			for i, id := range got {
				if id != fmt.Sprint(i) {
					t.Fatalf("event %d is %s: %v", i, id, got)
				}
			}
		})
	}
}

func TestApplyCLIInput(t *testing.T) {
	newFlags := func() (*flag.FlagSet, *attrFlag, **time.Time, *int, *string) {
		fs := flag.NewFlagSet("lookup", flag.ContinueOnError)
		var attrs attrFlag
		var start, end *time.Time
		fs.Var(&attrs, "lookup-attributes", "")
		fs.Var(timeFlag{&start}, "start-time", "")
		fs.Var(timeFlag{&end}, "end-time", "")
		fs.String("event-category", "", "")
		maxResults := fs.Int("max-results", 0, "")
		nextToken := fs.String("next-token", "", "")
		return fs, &attrs, &start, maxResults, nextToken
	}
	fs, attrs, start, maxResults, nextToken := newFlags()
	in := `{"LookupAttributes":[{"AttributeKey":"EventName","AttributeValue":"X"}],"StartTime":1567296000,"EndTime":"2019-09-30T23:59:59Z","MaxResults":5,"NextToken":"t"}`
	if err := applyCLIInput(fs, in); err != nil {
		t.Fatal(err)
	}
	if len(*attrs) != 1 || aws.ToString((*attrs)[0].AttributeValue) != "X" || *start == nil || !(*start).Equal(time.Date(2019, 9, 1, 0, 0, 0, 0, time.UTC)) ||
		*maxResults != 5 || *nextToken != "t" {
		t.Errorf("attrs %v start %v max %d token %q", *attrs, *start, *maxResults, *nextToken)
	}
	// A flag given on the command line wins over the member.
	fs, _, _, maxResults, _ = newFlags()
	fs.Set("max-results", "7")
	if err := applyCLIInput(fs, in); err != nil || *maxResults != 7 {
		t.Errorf("max-results %d, %v", *maxResults, err)
	}
	// From a file, and errors that name what is wrong.
	path := filepath.Join(t.TempDir(), "in.json")
	os.WriteFile(path, []byte(`{"EventCategory":"insight"}`), 0o600)
	fs, _, _, _, _ = newFlags()
	if err := applyCLIInput(fs, "file://"+path); err != nil || fs.Lookup("event-category").Value.String() != "insight" {
		t.Errorf("file: %v", err)
	}
	for in, want := range map[string]string{
		`{"MaxItems":3}`:             `unknown field "MaxItems"`,
		`{"StartTime":"yesterday"}`:  `start-time: invalid time "yesterday"`,
		`{"LookupAttributes":[{}]}`:  "no AttributeKey",
		"file:///nonexistent/x.json": "no such file",
	} {
		fs, _, _, _, _ := newFlags()
		if err := applyCLIInput(fs, in); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("applyCLIInput(%s) = %v, want %q", in, err, want)
		}
	}
}
