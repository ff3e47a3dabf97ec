package main

import (
	"bufio"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/cloudtrail"
	"github.com/aws/aws-sdk-go-v2/service/cloudtrail/types"
	"github.com/aws/smithy-go"

	"github.com/cairn-dev/cairn/internal/history"
)

// attrFlag collects --lookup-attributes in the aws CLI's shorthand.
type attrFlag []types.LookupAttribute

func (a *attrFlag) String() string { return "" }

func (a *attrFlag) Set(s string) error {
	if t := strings.TrimSpace(s); strings.HasPrefix(t, "[") || strings.HasPrefix(t, "{") {
		return a.setJSON(t)
	}
	var key, value string
	for _, part := range splitShorthand(s) {
		k, v, ok := strings.Cut(part, "=")
		if !ok {
			return fmt.Errorf("%q: want AttributeKey=KEY,AttributeValue=VALUE", s)
		}
		switch k {
		case "AttributeKey":
			key = v
		case "AttributeValue":
			value = v
		default:
			return fmt.Errorf("%q: unknown member %q (want AttributeKey and AttributeValue)", s, k)
		}
	}
	if key == "" {
		return fmt.Errorf("%q: AttributeKey is missing", s)
	}
	*a = append(*a, types.LookupAttribute{AttributeKey: types.LookupAttributeKey(key), AttributeValue: aws.String(value)})
	return nil
}

// setJSON takes the aws CLI's JSON form: [{"AttributeKey":…,"AttributeValue":…}, …] or one object.
func (a *attrFlag) setJSON(s string) error {
	type attr struct{ AttributeKey, AttributeValue *string }
	var list []attr
	if strings.HasPrefix(s, "{") {
		list = make([]attr, 1)
		if err := json.Unmarshal([]byte(s), &list[0]); err != nil {
			return fmt.Errorf("%q: not valid JSON: %v", s, err)
		}
	} else if err := json.Unmarshal([]byte(s), &list); err != nil {
		return fmt.Errorf("%q: not valid JSON: %v", s, err)
	}
	for i, x := range list {
		if aws.ToString(x.AttributeKey) == "" {
			return fmt.Errorf("%q: item %d has no AttributeKey", s, i)
		}
		*a = append(*a, types.LookupAttribute{AttributeKey: types.LookupAttributeKey(*x.AttributeKey), AttributeValue: aws.String(aws.ToString(x.AttributeValue))})
	}
	return nil
}

// expandAttrArgs lets several attributes follow one --lookup-attributes, as the aws CLI's list
// arguments allow ("--lookup-attributes AttributeKey=A,AttributeValue=1 AttributeKey=B,…"): each
// extra one gets a flag of its own, which the flag package needs.
func expandAttrArgs(args []string) []string {
	out := make([]string, 0, len(args))
	inAttrs := false // the previous argument was an attribute
	for i := 0; i < len(args); i++ {
		a := args[i]
		switch {
		case a == "--":
			return append(out, args[i:]...)
		case a == "--lookup-attributes" || a == "-lookup-attributes":
			out = append(out, a)
			if i+1 < len(args) {
				i++
				out = append(out, args[i])
			}
			inAttrs = true
		case strings.HasPrefix(a, "--lookup-attributes=") || strings.HasPrefix(a, "-lookup-attributes="):
			out = append(out, a)
			inAttrs = true
		case inAttrs && (strings.HasPrefix(a, "AttributeKey=") || strings.HasPrefix(a, "AttributeValue=")):
			out = append(out, "--lookup-attributes", a)
		default:
			out = append(out, a)
			inAttrs = false
		}
	}
	return out
}

// splitShorthand splits "AttributeKey=K,AttributeValue=a,b" on the commas that start a member,
// so values may contain commas.
func splitShorthand(s string) []string {
	var parts []string
	start := 0
	for i := 0; i < len(s); i++ {
		if s[i] == ',' && (strings.HasPrefix(s[i+1:], "AttributeKey=") || strings.HasPrefix(s[i+1:], "AttributeValue=")) {
			parts = append(parts, s[start:i])
			start = i + 1
		}
	}
	return append(parts, s[start:])
}

// timeFlag accepts RFC 3339 / ISO 8601 times, dates, or epoch seconds, as the aws CLI does.
type timeFlag struct{ t **time.Time }

func (f timeFlag) String() string {
	if f.t == nil || *f.t == nil {
		return ""
	}
	return (*f.t).Format(time.RFC3339)
}

func (f timeFlag) Set(s string) error {
	t, err := parseTime(s)
	if err != nil {
		return err
	}
	*f.t = &t
	return nil
}

func parseTime(s string) (time.Time, error) {
	if n, err := strconv.ParseFloat(s, 64); err == nil {
		return time.Unix(int64(n), 0).UTC(), nil
	}
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05", "2006-01-02 15:04:05", "2006-01-02"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC(), nil
		}
	}
	return time.Time{}, fmt.Errorf("invalid time %q: want e.g. 2019-09-01T00:00:00Z, 2019-09-01 or epoch seconds", s)
}

func runLookup(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var (
		attrs         attrFlag
		start, end    *time.Time
		category      string
		pageSize      int
		maxResults    int
		maxItems      int
		startingToken string
		nextToken     string
		noPaginate    bool
		output        string
		endpoint      string
		region        string
		data          string
	)
	fs := flag.NewFlagSet("lookup", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Var(&attrs, "lookup-attributes", "AttributeKey=KEY,AttributeValue=VALUE, several after one flag or the flag repeated (ANDed), or the JSON form")
	fs.Var(timeFlag{&start}, "start-time", "earliest event time (inclusive)")
	fs.Var(timeFlag{&end}, "end-time", "latest event time (inclusive)")
	fs.StringVar(&category, "event-category", "", "insight to look up Insights events")
	fs.IntVar(&pageSize, "page-size", 0, "events per request while paginating (1-50; default 50)")
	fs.IntVar(&maxItems, "max-items", 0, "stop after this many events; prints a NextToken to give --starting-token")
	fs.StringVar(&startingToken, "starting-token", "", "continue from the NextToken an earlier lookup printed")
	fs.IntVar(&maxResults, "max-results", 0, "one request for this many events (1-50), no pagination, as the aws CLI")
	fs.StringVar(&nextToken, "next-token", "", "one request continuing from the server's NextToken, no pagination, as the aws CLI")
	fs.BoolVar(&noPaginate, "no-paginate", false, "one request only; prints the server's NextToken")
	cliInput := fs.String("cli-input-json", "", "the request as JSON, or file://PATH, as aws cloudtrail lookup-events --generate-cli-skeleton shows it; flags override its members")
	fs.StringVar(&output, "output", "table", "table or json")
	fs.StringVar(&endpoint, "endpoint-url", "", "cairn endpoint (default AWS_ENDPOINT_URL, else from <data>/admin.env)")
	fs.StringVar(&region, "region", "", "region (default AWS_REGION / AWS_DEFAULT_REGION, else from admin.env)")
	fs.StringVar(&data, "data", "./cairn-data", "data directory whose admin.env supplies credentials when the environment has none")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "Usage: cairn lookup [flags]\n\nLooks up events in cairn's event history, newest first, like aws cloudtrail lookup-events.\n\nFlags:")
		fs.PrintDefaults()
	}
	if err := parseFlags(fs, expandAttrArgs(args)); err != nil {
		return err
	}
	if output != "table" && output != "json" {
		return fmt.Errorf("--output %q: want table or json", output)
	}
	if *cliInput != "" {
		if err := applyCLIInput(fs, *cliInput); err != nil {
			return err
		}
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	if set["page-size"] && (pageSize < 1 || pageSize > history.MaxMaxResults) {
		return fmt.Errorf("--page-size %d: want 1 to %d", pageSize, history.MaxMaxResults)
	}
	if set["max-items"] && maxItems < 1 {
		return fmt.Errorf("--max-items %d: want a positive number", maxItems)
	}
	// As the aws CLI: naming the API's own paging members turns pagination off.
	if set["max-results"] || set["next-token"] {
		noPaginate = true
	}
	if noPaginate {
		var paging []string
		for _, name := range []string{"starting-token", "page-size", "max-items"} {
			if set[name] {
				paging = append(paging, "--"+name)
			}
		}
		if len(paging) > 0 {
			return fmt.Errorf("%s: pagination arguments, which --max-results, --next-token and --no-paginate turn off (as in the aws CLI)", strings.Join(paging, ", "))
		}
	}
	resume, err := decodeStartingToken(startingToken)
	if err != nil {
		return err
	}
	client, err := cloudtrailClient(ctx, endpoint, region, data)
	if err != nil {
		return err
	}

	in := &cloudtrail.LookupEventsInput{LookupAttributes: attrs, StartTime: start, EndTime: end}
	if category != "" {
		in.EventCategory = types.EventCategory(category)
	}
	if noPaginate {
		if set["max-results"] {
			in.MaxResults = aws.Int32(int32(maxResults)) // the server judges the range
		}
		if set["next-token"] {
			in.NextToken = aws.String(nextToken)
		}
		out, err := client.LookupEvents(ctx, in)
		if err != nil {
			return apiError(err)
		}
		return printLookup(stdout, output, out.Events, aws.ToString(out.NextToken))
	}
	events, next, err := paginateLookup(ctx, client, in, pageSize, maxItems, resume)
	if err != nil {
		return err
	}
	return printLookup(stdout, output, events, next)
}

// applyCLIInput sets the flags not given on the command line from the members of a
// LookupEvents request in JSON, as the aws CLI's --cli-input-json.
func applyCLIInput(fs *flag.FlagSet, input string) error {
	given := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { given[f.Name] = true })
	if path, ok := strings.CutPrefix(input, "file://"); ok {
		b, err := os.ReadFile(path)
		if err != nil {
			return fmt.Errorf("--cli-input-json: %w", err)
		}
		input = string(b)
	}
	var in struct {
		LookupAttributes   json.RawMessage
		StartTime, EndTime json.RawMessage // ISO 8601 text or epoch seconds
		EventCategory      *string
		MaxResults         *int
		NextToken          *string
	}
	dec := json.NewDecoder(strings.NewReader(input))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&in); err != nil {
		return fmt.Errorf("--cli-input-json: not a LookupEvents request (members LookupAttributes, StartTime, EndTime, EventCategory, MaxResults, NextToken): %v", err)
	}
	members := []struct {
		flag, value string
		present     bool
	}{
		{"lookup-attributes", string(in.LookupAttributes), len(in.LookupAttributes) > 0 && string(in.LookupAttributes) != "null"},
		{"start-time", strings.Trim(string(in.StartTime), `"`), len(in.StartTime) > 0 && string(in.StartTime) != "null"},
		{"end-time", strings.Trim(string(in.EndTime), `"`), len(in.EndTime) > 0 && string(in.EndTime) != "null"},
		{"event-category", aws.ToString(in.EventCategory), in.EventCategory != nil},
		{"max-results", strconv.Itoa(aws.ToInt(in.MaxResults)), in.MaxResults != nil},
		{"next-token", aws.ToString(in.NextToken), in.NextToken != nil},
	}
	for _, m := range members {
		if !m.present || given[m.flag] {
			continue
		}
		if err := fs.Set(m.flag, m.value); err != nil {
			return fmt.Errorf("--cli-input-json: %s: %w", m.flag, err)
		}
	}
	return nil
}

// lookupAPI is the one call paginateLookup makes.
type lookupAPI interface {
	LookupEvents(context.Context, *cloudtrail.LookupEventsInput, ...func(*cloudtrail.Options)) (*cloudtrail.LookupEventsOutput, error)
}

// paginateLookup follows NextToken as the aws CLI does: from resume, pageSize events per request
// (0: the server's default), stopping after maxItems events (0: all). When it stops before the
// end it returns a starting token, in botocore's format, from which the next run continues
// exactly, even inside a page.
func paginateLookup(ctx context.Context, client lookupAPI, in *cloudtrail.LookupEventsInput, pageSize, maxItems int, resume startingToken) ([]types.Event, string, error) {
	in.NextToken = resume.NextToken
	skip := resume.Skip // events of the first page an earlier run showed
	var events []types.Event
	for {
		switch {
		case pageSize > 0:
			in.MaxResults = aws.Int32(int32(pageSize))
		case maxItems > 0:
			// Ask for what is still wanted, so the cut falls on a page boundary.
			in.MaxResults = aws.Int32(int32(min(maxItems-len(events)+skip, history.MaxMaxResults)))
		}
		out, err := client.LookupEvents(ctx, in)
		if err != nil {
			return nil, "", apiError(err)
		}
		page := out.Events[min(skip, len(out.Events)):]
		if maxItems > 0 && len(events)+len(page) > maxItems {
			keep := maxItems - len(events)
			events = append(events, page[:keep]...)
			return events, encodeStartingToken(startingToken{NextToken: in.NextToken, Skip: skip + keep}), nil
		}
		events = append(events, page...)
		if out.NextToken == nil {
			return events, "", nil
		}
		if maxItems > 0 && len(events) == maxItems {
			return events, encodeStartingToken(startingToken{NextToken: out.NextToken}), nil
		}
		in.NextToken, skip = out.NextToken, 0
	}
}

// startingToken is a place in a paginated lookup: the server's NextToken for a page (nil for
// the first) and how many of that page's events were already shown.
type startingToken struct {
	NextToken *string
	Skip      int
}

// encodeStartingToken writes botocore's pagination token (base64 of {"NextToken": …,
// "boto_truncate_amount": n}), so the aws CLI's --starting-token takes it too.
func encodeStartingToken(t startingToken) string {
	m := map[string]any{"NextToken": t.NextToken}
	if t.Skip > 0 {
		m["boto_truncate_amount"] = t.Skip
	}
	b, _ := json.Marshal(m)
	return base64.StdEncoding.EncodeToString(b)
}

// decodeStartingToken reads a token from encodeStartingToken or the aws CLI; anything else is
// taken as the server's own NextToken.
func decodeStartingToken(s string) (startingToken, error) {
	if s == "" {
		return startingToken{}, nil
	}
	var t struct {
		NextToken *string
		Skip      *int `json:"boto_truncate_amount"`
	}
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil || json.Unmarshal(b, &t) != nil {
		return startingToken{NextToken: aws.String(s)}, nil
	}
	if t.Skip != nil && *t.Skip < 0 {
		return startingToken{}, fmt.Errorf("--starting-token %q: negative boto_truncate_amount", s)
	}
	st := startingToken{NextToken: t.NextToken}
	if t.Skip != nil {
		st.Skip = *t.Skip
	}
	if st.NextToken != nil && *st.NextToken == "" {
		st.NextToken = nil
	}
	return st, nil
}

func printLookup(w io.Writer, output string, events []types.Event, next string) error {
	if output == "json" {
		return printLookupJSON(w, events, next)
	}
	return printLookupTable(w, events, next)
}

func printLookupJSON(w io.Writer, events []types.Event, next string) error {
	type resource struct {
		ResourceType string `json:",omitempty"`
		ResourceName string `json:",omitempty"`
	}
	type ev struct {
		EventId, EventName, ReadOnly, AccessKeyId string `json:",omitempty"`
		EventTime                                 string `json:",omitempty"`
		EventSource, Username                     string `json:",omitempty"`
		Resources                                 []resource
		CloudTrailEvent                           string
	}
	out := struct {
		Events    []ev
		NextToken string `json:",omitempty"`
	}{Events: []ev{}, NextToken: next}
	for _, e := range events {
		x := ev{EventId: aws.ToString(e.EventId), EventName: aws.ToString(e.EventName), ReadOnly: aws.ToString(e.ReadOnly),
			AccessKeyId: aws.ToString(e.AccessKeyId), EventSource: aws.ToString(e.EventSource), Username: aws.ToString(e.Username),
			CloudTrailEvent: aws.ToString(e.CloudTrailEvent), Resources: []resource{}}
		if e.EventTime != nil {
			x.EventTime = e.EventTime.UTC().Format(time.RFC3339)
		}
		for _, r := range e.Resources {
			x.Resources = append(x.Resources, resource{aws.ToString(r.ResourceType), aws.ToString(r.ResourceName)})
		}
		out.Events = append(out.Events, x)
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "    ")
	return enc.Encode(out)
}

func printLookupTable(w io.Writer, events []types.Event, next string) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "EVENT TIME\tEVENT NAME\tUSER NAME\tEVENT SOURCE\tRESOURCES")
	for _, e := range events {
		var res []string
		for _, r := range e.Resources {
			res = append(res, aws.ToString(r.ResourceName))
		}
		t := ""
		if e.EventTime != nil {
			t = e.EventTime.UTC().Format(time.RFC3339)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", t, aws.ToString(e.EventName), aws.ToString(e.Username), aws.ToString(e.EventSource), strings.Join(res, ", "))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintf(w, "%d events\n", len(events))
	if next != "" {
		fmt.Fprintf(w, "NextToken: %s\n", next)
	}
	return nil
}

// cloudtrailClient builds an SDK client from flags, the standard AWS environment, or admin.env.
func cloudtrailClient(ctx context.Context, endpoint, region, data string) (*cloudtrail.Client, error) {
	cfg, err := clientConfig(ctx, endpoint, region, data)
	if err != nil {
		return nil, err
	}
	return cloudtrail.NewFromConfig(cfg), nil
}

// clientConfig is the SDK configuration of cairn's client commands: the endpoint and
// credentials from flags, the environment, or <data>/admin.env.
func clientConfig(ctx context.Context, endpoint, region, data string) (aws.Config, error) {
	env := map[string]string{}
	if os.Getenv("AWS_ACCESS_KEY_ID") == "" || os.Getenv("AWS_ENDPOINT_URL") == "" && endpoint == "" {
		var err error
		if env, err = readEnvFile(filepath.Join(data, "admin.env")); err != nil && !errors.Is(err, os.ErrNotExist) {
			return aws.Config{}, err
		}
	}
	pick := func(flagValue string, names ...string) string {
		if flagValue != "" {
			return flagValue
		}
		for _, n := range names {
			if v := os.Getenv(n); v != "" {
				return v
			}
			if v := env[n]; v != "" {
				return v
			}
		}
		return ""
	}
	endpoint = pick(endpoint, "AWS_ENDPOINT_URL")
	region = pick(region, "AWS_REGION", "AWS_DEFAULT_REGION")
	if endpoint == "" {
		return aws.Config{}, fmt.Errorf("no cairn endpoint: set --endpoint-url or AWS_ENDPOINT_URL, or run in a directory with cairn-data/admin.env (or pass --data)")
	}
	if region == "" {
		region = "us-east-1"
	}
	opts := []func(*config.LoadOptions) error{config.WithRegion(region)}
	if key := pick("", "AWS_ACCESS_KEY_ID"); os.Getenv("AWS_ACCESS_KEY_ID") == "" && key != "" {
		opts = append(opts, config.WithCredentialsProvider(credentials.NewStaticCredentialsProvider(key, env["AWS_SECRET_ACCESS_KEY"], "")))
	}
	cfg, err := config.LoadDefaultConfig(ctx, opts...)
	if err != nil {
		return aws.Config{}, fmt.Errorf("load AWS configuration: %w", err)
	}
	cfg.BaseEndpoint = aws.String(endpoint)
	return cfg, nil
}

// readEnvFile reads the "export NAME=value" lines of admin.env.
func readEnvFile(path string) (map[string]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	env := map[string]string{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimPrefix(strings.TrimSpace(sc.Text()), "export ")
		if k, v, ok := strings.Cut(line, "="); ok {
			env[k] = v
		}
	}
	return env, sc.Err()
}

// apiError shows an AWS error as the aws CLI does: the exception name and its message.
func apiError(err error) error {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return fmt.Errorf("an error occurred (%s) when calling the LookupEvents operation: %s", ae.ErrorCode(), ae.ErrorMessage())
	}
	return err
}
