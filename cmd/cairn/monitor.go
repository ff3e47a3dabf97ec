package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs/types"

	"github.com/cairn-dev/cairn/internal/logs"
)

// runMonitor installs built-in monitoring on a running server through the CloudWatch Logs API,
// with the admin credentials like the other client commands.
func runMonitor(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	usage := "Usage:\n  cairn monitor enable-cis --log-group NAME [--namespace CISBenchmark] [--endpoint-url URL] [--region R] [--data DIR]\n  cairn monitor list-cis"
	if len(args) == 0 {
		fmt.Fprintln(stderr, usage)
		return errUsage
	}
	switch args[0] {
	case "list-cis":
		for _, c := range logs.CIS {
			fmt.Fprintf(stdout, "%-5s %-30s %s\n      %s\n", c.ID, c.Metric, c.Title, c.Pattern)
		}
		return nil
	case "enable-cis":
	default:
		fmt.Fprintf(stderr, "cairn monitor: unknown subcommand %q\n%s\n", args[0], usage)
		return errUsage
	}
	var group, namespace, endpoint, region, data string
	fs := flag.NewFlagSet("monitor enable-cis", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&group, "log-group", "", "the log group the trail feeds (required)")
	fs.StringVar(&namespace, "namespace", logs.CISNamespace, "metric namespace")
	fs.StringVar(&endpoint, "endpoint-url", "", "cairn endpoint (default AWS_ENDPOINT_URL, else from <data>/admin.env)")
	fs.StringVar(&region, "region", "", "region of the log group (default AWS_REGION, else from admin.env)")
	fs.StringVar(&data, "data", "./cairn-data", "cairn's data directory (for admin.env)")
	if err := parseFlags(fs, args[1:]); err != nil {
		return err
	}
	if group == "" {
		fmt.Fprintln(stderr, "cairn monitor enable-cis: --log-group is required\n"+usage)
		return errUsage
	}
	cfg, err := clientConfig(ctx, endpoint, region, data)
	if err != nil {
		return err
	}
	client := cloudwatchlogs.NewFromConfig(cfg)
	// PutMetricFilter replaces a filter of the same name, so running this again changes nothing.
	for _, c := range logs.CIS {
		f := c.MetricFilter(group)
		_, err := client.PutMetricFilter(ctx, &cloudwatchlogs.PutMetricFilterInput{
			LogGroupName: aws.String(group), FilterName: aws.String(f.Name), FilterPattern: aws.String(f.Pattern),
			MetricTransformations: []types.MetricTransformation{{
				MetricName: aws.String(f.Transformation.MetricName), MetricNamespace: aws.String(namespace),
				MetricValue: aws.String(f.Transformation.MetricValue),
			}},
		})
		if err != nil {
			var nf *types.ResourceNotFoundException
			if errors.As(err, &nf) {
				return fmt.Errorf("log group %s does not exist in %s: create it (aws logs create-log-group) and point a trail at it first", group, cfg.Region)
			}
			return fmt.Errorf("install CIS %s (%s): %w", c.ID, f.Name, err)
		}
		fmt.Fprintf(stdout, "CIS %-5s %-40s %s/%s\n", c.ID, f.Name, namespace, f.Transformation.MetricName)
	}
	fmt.Fprintf(stdout, "Installed %d CIS AWS Foundations Benchmark metric filters on log group %s.\n", len(logs.CIS), group)
	return nil
}
