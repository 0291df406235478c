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
	"strings"

	"github.com/mailwarden/mailwarden/internal/access"
	"github.com/mailwarden/mailwarden/internal/store"
)

// cmdUserCreate adds a console user: mailwarden user create --email E --role R --password-stdin.
func cmdUserCreate(args []string, stdin io.Reader) {
	cfg := defaultConfig()
	fs := flag.NewFlagSet("user create", flag.ExitOnError)
	cfg.bind(fs, "data", "db")
	email := fs.String("email", "", "the user's email address (the login name)")
	role := fs.String("role", "", "admin, analyst or viewer")
	account := fs.Int64("account", 0, "account id (default: the first account, created when there is none)")
	fromStdin := fs.Bool("password-stdin", false, "read the password from the first line of standard input")
	fs.Parse(args)
	if !access.ConsoleRole(*role) {
		fatalf("--role must be admin, analyst or viewer, got %q", *role)
	}
	if *email == "" {
		fatalf("--email is required")
	}
	var pw string
	if *fromStdin {
		line, err := bufio.NewReader(stdin).ReadString('\n')
		if err != nil && !errors.Is(err, io.EOF) {
			fatalf("reading the password: %v", err)
		}
		pw = strings.TrimRight(line, "\r\n")
	} else {
		pw = access.GeneratePassword()
	}
	ctx := context.Background()
	st, acct := openAccount(ctx, cfg, *account)
	defer st.Close()
	u, err := access.CreateUser(ctx, st, acct.ID, *email, *role, pw)
	if errors.Is(err, store.ErrConflict) {
		fatalf("a user %s exists already", *email)
	}
	if err != nil {
		fatalf("%v", err)
	}
	st.Audit(ctx, store.AuditEntry{AccountID: acct.ID, Actor: "cli", Action: "user.create", Target: u.Email, Detail: fmt.Sprintf(`{"role":%q}`, u.Role)})
	out := map[string]any{"account_id": acct.ID, "email": u.Email, "role": u.Role}
	if !*fromStdin {
		out["password"] = pw // generated: shown this once
	}
	json.NewEncoder(os.Stdout).Encode(out)
}

// firstConsoleUser creates an admin console user when there is none and
// returns its email and generated password ("" when one existed).
func firstConsoleUser(ctx context.Context, st store.Store, acct store.Account, hostname string) (string, string, error) {
	n, err := st.CountUsers(ctx)
	if err != nil || n > 0 {
		return "", "", err
	}
	host := strings.Trim(hostname, ".")
	if !strings.Contains(host, ".") {
		host += ".localdomain"
	}
	email, pw := "admin@"+host, access.GeneratePassword()
	if _, err := access.CreateUser(ctx, st, acct.ID, email, store.RoleAdmin, pw); err != nil {
		return "", "", err
	}
	st.Audit(ctx, store.AuditEntry{AccountID: acct.ID, Actor: "serve", Action: "user.create", Target: email, Detail: `{"role":"admin","first":true}`})
	return email, pw, nil
}
