package main

import (
	"bufio"
	"context"
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
)

// attrFlag collects --lookup-attributes in the aws CLI's shorthand.
type attrFlag []types.LookupAttribute

func (a *attrFlag) String() string { return "" }

func (a *attrFlag) Set(s string) error {
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
		maxResults    int
		maxItems      int
		startingToken string
		output        string
		endpoint      string
		region        string
		data          string
	)
	fs := flag.NewFlagSet("lookup", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Var(&attrs, "lookup-attributes", "AttributeKey=KEY,AttributeValue=VALUE (repeat to AND several)")
	fs.Var(timeFlag{&start}, "start-time", "earliest event time (inclusive)")
	fs.Var(timeFlag{&end}, "end-time", "latest event time (inclusive)")
	fs.StringVar(&category, "event-category", "", "insight to look up Insights events")
	fs.IntVar(&maxResults, "max-results", 0, "events per request (1-50)")
	fs.IntVar(&maxItems, "max-items", 0, "stop after this many events; prints a NextToken to continue")
	fs.StringVar(&startingToken, "starting-token", "", "continue from a NextToken")
	fs.StringVar(&output, "output", "table", "table or json")
	fs.StringVar(&endpoint, "endpoint-url", "", "cairn endpoint (default AWS_ENDPOINT_URL, else from <data>/admin.env)")
	fs.StringVar(&region, "region", "", "region (default AWS_REGION / AWS_DEFAULT_REGION, else from admin.env)")
	fs.StringVar(&data, "data", "./cairn-data", "data directory whose admin.env supplies credentials when the environment has none")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "Usage: cairn lookup [flags]\n\nLooks up events in cairn's event history, newest first, like aws cloudtrail lookup-events.\n\nFlags:")
		fs.PrintDefaults()
	}
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if output != "table" && output != "json" {
		return fmt.Errorf("--output %q: want table or json", output)
	}
	client, err := cloudtrailClient(ctx, endpoint, region, data)
	if err != nil {
		return err
	}

	in := &cloudtrail.LookupEventsInput{LookupAttributes: attrs, StartTime: start, EndTime: end}
	if category != "" {
		in.EventCategory = types.EventCategory(category)
	}
	if maxResults != 0 {
		in.MaxResults = aws.Int32(int32(maxResults))
	}
	if startingToken != "" {
		in.NextToken = aws.String(startingToken)
	}
	var events []types.Event
	var next string
	for {
		out, err := client.LookupEvents(ctx, in)
		if err != nil {
			return apiError(err)
		}
		events = append(events, out.Events...)
		next = aws.ToString(out.NextToken)
		if maxItems > 0 && len(events) >= maxItems {
			if len(events) > maxItems {
				// The cut falls inside a page: continuing needs the server's position, which
				// only page boundaries have; show whole pages rather than skip events.
				maxItems = len(events)
			}
			break
		}
		if next == "" {
			break
		}
		in.NextToken = out.NextToken
	}
	if maxItems == 0 || next == "" {
		next = ""
	}
	if output == "json" {
		return printLookupJSON(stdout, events, next)
	}
	return printLookupTable(stdout, events, next)
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
