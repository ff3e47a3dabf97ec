package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"path/filepath"

	"github.com/cairn-dev/cairn/internal/iam"
	"github.com/cairn-dev/cairn/internal/meta"
)

// runOrg manages cairn's organisations in the data directory: create one for a management
// account, add member accounts. (cairn serves the read side of the AWS Organizations API:
// DescribeOrganization, ListAccounts, DescribeAccount.)
func runOrg(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	usage := "Usage:\n  cairn org create --management ACCOUNT [--data DIR]\n  cairn org add-account --account ACCOUNT --organization o-… [--data DIR]\n  cairn org describe --account ACCOUNT [--data DIR]"
	if len(args) == 0 {
		fmt.Fprintln(stderr, usage)
		return errUsage
	}
	var data, account, org string
	fs := flag.NewFlagSet("org "+args[0], flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&data, "data", "./cairn-data", "data directory")
	switch args[0] {
	case "create":
		fs.StringVar(&account, "management", "", "the management account (must exist)")
	case "add-account":
		fs.StringVar(&account, "account", "", "the account to add (created if it does not exist)")
		fs.StringVar(&org, "organization", "", "the organisation ID, o-…")
	case "describe":
		fs.StringVar(&account, "account", "", "an account of the organisation")
	default:
		fmt.Fprintf(stderr, "cairn org: unknown subcommand %q\n%s\n", args[0], usage)
		return errUsage
	}
	if err := parseFlags(fs, args[1:]); err != nil {
		return err
	}
	if account == "" || (args[0] == "add-account" && org == "") {
		fmt.Fprintln(stderr, usage)
		return errUsage
	}
	db, err := meta.Open(ctx, filepath.Join(data, "meta.sqlite"))
	if err != nil {
		return err
	}
	defer db.Close()
	accounts, err := iam.NewStore(db, filepath.Join(data, "keys"))
	if err != nil {
		return err
	}
	switch args[0] {
	case "create":
		id, err := accounts.CreateOrganization(ctx, account)
		if err != nil {
			return err
		}
		fmt.Fprintln(stdout, id)
	case "add-account":
		return accounts.JoinOrganization(ctx, org, account)
	case "describe":
		o, err := accounts.OrganizationOf(ctx, account)
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "%s\tmanagement %s\taccounts %v\n", o.ID, o.ManagementAccount, o.Accounts)
	}
	return nil
}
