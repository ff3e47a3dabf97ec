package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/cairn-dev/cairn/internal/iam"
	"github.com/cairn-dev/cairn/internal/meta"
)

const iamUsage = `Usage:
  cairn iam create-user --user NAME
  cairn iam create-access-key --user NAME
  cairn iam put-user-policy --user NAME --policy-name NAME --policy-document file://FILE|JSON
  cairn iam attach-user-policy --user NAME --policy-arn arn:aws:iam::aws:policy/NAME
  cairn iam list-users

Every subcommand takes --data DIR (default ./cairn-data) and --account ID|ALIAS (default: the
operator account). Built-in managed policies: %s.
Changes apply at once, also to a running cairn serve on the same data directory.`

// runIAM manages IAM users, their access keys and their identity-based policies in the data
// directory. Like cairn passwd it works beside a running cairn serve: the server reads a user's
// policies on every call and looks new keys up in the database.
func runIAM(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	usage := fmt.Sprintf(iamUsage, strings.Join(iam.ManagedPolicyNames(), ", "))
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" {
		fmt.Fprintln(stderr, usage)
		if len(args) == 0 {
			return errUsage
		}
		return flag.ErrHelp
	}
	sub := args[0]
	fs := flag.NewFlagSet("iam "+sub, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprintln(stderr, usage) }
	data := fs.String("data", "./cairn-data", "data directory")
	account := fs.String("account", "", "account ID or alias (default: the operator account)")
	var user, policyName, document, policyARN string
	var required []string // flag names
	need := func(name, help string, v *string) {
		fs.StringVar(v, name, "", help)
		required = append(required, name)
	}
	switch sub {
	case "create-user", "create-access-key":
		need("user", "user name", &user)
	case "put-user-policy":
		need("user", "user name", &user)
		need("policy-name", "inline policy name", &policyName)
		need("policy-document", "the policy JSON, or file://PATH to read it from a file", &document)
	case "attach-user-policy":
		need("user", "user name", &user)
		need("policy-arn", "a built-in managed policy, by ARN or name", &policyARN)
	case "list-users":
	default:
		fmt.Fprintf(stderr, "cairn iam: unknown subcommand %q\n%s\n", sub, usage)
		return errUsage
	}
	if err := parseFlags(fs, args[1:]); err != nil {
		return err
	}
	for _, name := range required {
		if fs.Lookup(name).Value.String() == "" {
			return fmt.Errorf("%s: --%s is required", sub, name)
		}
	}
	store, closeDB, err := openIAM(ctx, *data)
	if err != nil {
		return err
	}
	defer closeDB()
	acct, err := passwdAccount(ctx, store, *account)
	if err != nil {
		return err
	}
	switch sub {
	case "create-user":
		u, err := store.CreateUser(ctx, acct.ID, user)
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "%s\t%s\n", u.ARN(), u.ID)
	case "create-access-key":
		key, err := store.CreateUserAccessKey(ctx, acct.ID, user)
		if err != nil {
			return err
		}
		// An env file: readable, and ready for `set -a; . ./alice.env`.
		fmt.Fprintf(stdout, "AWS_ACCESS_KEY_ID=%s\nAWS_SECRET_ACCESS_KEY=%s\n", key.ID, key.Secret)
	case "put-user-policy":
		doc, err := policyDocument(document)
		if err != nil {
			return err
		}
		return store.PutUserPolicy(ctx, acct.ID, user, policyName, doc)
	case "attach-user-policy":
		return store.AttachUserPolicy(ctx, acct.ID, user, policyARN)
	case "list-users":
		users, err := store.Users(ctx, acct.ID)
		if err != nil {
			return err
		}
		tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "USER\tUSER ID\tCREATED\tATTACHED POLICIES\tINLINE POLICIES")
		for _, u := range users {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", u.Name, u.ID, u.Created.Format(time.RFC3339), orNone(u.Attached), orNone(u.Policies))
		}
		return tw.Flush()
	}
	return nil
}

func orNone(names []string) string {
	if len(names) == 0 {
		return "-"
	}
	return strings.Join(names, ",")
}

// policyDocument reads --policy-document: JSON given inline, or file://PATH as the aws CLI takes.
func policyDocument(v string) ([]byte, error) {
	if path, ok := strings.CutPrefix(v, "file://"); ok {
		b, err := os.ReadFile(path)
		if err != nil {
			return nil, fmt.Errorf("--policy-document: %w", err)
		}
		return b, nil
	}
	if !strings.HasPrefix(strings.TrimSpace(v), "{") {
		return nil, fmt.Errorf("--policy-document %q: want the policy JSON or file://PATH", v)
	}
	return []byte(v), nil
}

// openIAM opens the accounts store of an existing data directory.
func openIAM(ctx context.Context, data string) (*iam.Store, func(), error) {
	if _, err := os.Stat(filepath.Join(data, "meta.sqlite")); err != nil {
		return nil, nil, fmt.Errorf("--data %s: no cairn data directory there (run cairn serve first): %w", data, err)
	}
	db, err := meta.Open(ctx, filepath.Join(data, "meta.sqlite"))
	if err != nil {
		return nil, nil, err
	}
	store, err := iam.NewStore(db, filepath.Join(data, "keys"))
	if err != nil {
		db.Close()
		return nil, nil, err
	}
	return store, func() { db.Close() }, nil
}
