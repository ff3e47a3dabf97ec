package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/cairn-dev/cairn/internal/iam"
	"github.com/cairn-dev/cairn/internal/iam/totp"
)

// runPasswd sets console passwords and MFA devices in a data directory. It works beside a
// running cairn serve: the control-plane database takes writers from several processes.
func runPasswd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("passwd", flag.ContinueOnError)
	fs.SetOutput(stderr)
	data := fs.String("data", "./cairn-data", "data directory")
	account := fs.String("account", "", "account ID or alias (default: the operator account)")
	user := fs.String("user", iam.RootUserName, "user name; root for the account's root user")
	mfa := fs.String("mfa", "", "enable: give the user a new TOTP MFA device and print its key; disable: remove it")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "Usage: cairn passwd [flags] < password\n\nSets a user's console password, read from the first line of standard input (8 to 128\ncharacters), and clears any lock-out. With --mfa, changes the MFA device instead.\n\nFlags:")
		fs.PrintDefaults()
	}
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *mfa != "" && *mfa != "enable" && *mfa != "disable" {
		return fmt.Errorf("--mfa %q: want enable or disable", *mfa)
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
	switch *mfa {
	case "enable":
		key, err := store.EnableMFA(ctx, acct.ID, *user)
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "MFA enabled for %s in account %s. Add this key to an authenticator app:\n  %s\n  %s\n",
			*user, acct.ID, totp.Encode(key), totp.URI("cairn", *user+"@"+acct.ID, key))
		return nil
	case "disable":
		if err := store.DisableMFA(ctx, acct.ID, *user); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "MFA disabled for %s in account %s.\n", *user, acct.ID)
		return nil
	}
	line, err := bufio.NewReader(os.Stdin).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return fmt.Errorf("read the password from standard input: %w", err)
	}
	password := strings.TrimRight(line, "\r\n")
	if err := store.SetPassword(ctx, acct.ID, *user, password); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "Console password set for %s in account %s.\n", *user, acct.ID)
	return nil
}

func passwdAccount(ctx context.Context, store *iam.Store, name string) (iam.Account, error) {
	if name != "" {
		return store.ResolveAccount(ctx, name)
	}
	all, err := store.Accounts(ctx)
	if err != nil {
		return iam.Account{}, err
	}
	for _, a := range all {
		if a.Operator {
			return a, nil
		}
	}
	return iam.Account{}, errors.New("no operator account: name one with --account")
}
