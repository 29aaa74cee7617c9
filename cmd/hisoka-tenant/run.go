package main

import (
	"context"
	"crypto/rand"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"text/tabwriter"
	"time"

	"github.com/hisoka-project/hisoka/tenantclient"
)

// errUsage marks an error in how the command was called; main exits 2 on it.
var errUsage = errors.New("usage")

// env is everything a command may touch outside its arguments, so that tests
// run the real entry point with their own streams, environment and clock.
type env struct {
	stdin  io.Reader
	stdout io.Writer
	stderr io.Writer
	getenv func(string) string
	// client, when set, is the HTTP client commands use (tests).
	client *http.Client
}

// command is one "hisoka-tenant NAME" subcommand.
type command struct {
	name    string
	summary string
	run     func(ctx context.Context, e *env, args []string) error
}

// commands lists every subcommand, in the order "help" prints them.
func commands() []command {
	return []command{
		{"init", "make the tenant's key; prints the public key for the operator", runInit},
		{"pin", "pin the board and ledger keys from the operator's registration answer", runPin},
		{"catalog", "list the patterns and rules one may subscribe to", runCatalog},
		{"subscribe", "subscribe blindly: --pattern ID --resource ID, or --file FILE", runSubscribe},
		{"subscriptions", "list the local subscriptions", runSubscriptions},
		{"unsubscribe", "forget a local subscription by id", runUnsubscribe},
		{"poll", "fetch, verify and decrypt notifications: JSON lines (--follow)", runPoll},
		{"logs", "own logs: search | export | verify", runLogs},
		{"report", "summary of the tenant's logs: sources, severities, rule hits", runReport},
		{"access-report", "who read the tenant's logs: JSON lines", runAccess},
		{"retention", "show or --set the log retention", runRetention},
		{"ui", "local dashboard on 127.0.0.1: notifications, subscriptions, verification failures", runUI},
	}
}

func run(ctx context.Context, args []string, e *env) error {
	if len(args) == 0 || args[0] == "help" || args[0] == "-h" || args[0] == "--help" {
		return usage(e.stdout)
	}
	for _, c := range commands() {
		if c.name == args[0] {
			if err := c.run(ctx, e, args[1:]); !errors.Is(err, flag.ErrHelp) {
				return err
			}
			return nil // the command's usage was asked for, and printed
		}
	}
	_ = usage(e.stderr)
	return fmt.Errorf("%w: unknown command %q", errUsage, args[0])
}

func usage(w io.Writer) error {
	fmt.Fprintln(w, "usage: hisoka-tenant COMMAND [FLAGS]\n\ncommands:")
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	for _, c := range commands() {
		fmt.Fprintf(tw, "  %s\t%s\n", c.name, c.summary)
	}
	tw.Flush()
	fmt.Fprintln(w, "\nEvery command takes --url, --tenant and --state (env HISOKA_URL, HISOKA_TENANT, HISOKA_STATE).")
	return nil
}

// common are the flags every command takes.
type common struct {
	url, tenant, state string
}

func newFlags(e *env, name string) (*flag.FlagSet, *common) {
	fs := flag.NewFlagSet("hisoka-tenant "+name, flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	c := &common{}
	fs.StringVar(&c.url, "url", e.getenv("HISOKA_URL"), "Hisoka API base URL (env HISOKA_URL)")
	fs.StringVar(&c.tenant, "tenant", e.getenv("HISOKA_TENANT"), "tenant id (env HISOKA_TENANT)")
	fs.StringVar(&c.state, "state", envOr(e, "HISOKA_STATE", "./hisoka-tenant"), "state directory: key, tokens, chain (env HISOKA_STATE)")
	return fs, c
}

func envOr(e *env, k, def string) string {
	if v := e.getenv(k); v != "" {
		return v
	}
	return def
}

// parse parses args, turning flag errors into usage errors; extra
// positional arguments are refused unless allowed.
func parse(fs *flag.FlagSet, args []string, positional bool) error {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return fmt.Errorf("%w: %s: %w", errUsage, fs.Name(), err) // run answers nil
		}
		return fmt.Errorf("%w: %v", errUsage, err)
	}
	if !positional && fs.NArg() > 0 {
		return fmt.Errorf("%w: unexpected argument %q", errUsage, fs.Arg(0))
	}
	return nil
}

// client opens the tenant client of the common flags.
func (c *common) client(e *env) (*tenantclient.Client, error) {
	if c.url == "" {
		return nil, fmt.Errorf("%w: --url or HISOKA_URL is required", errUsage)
	}
	return c.clientLogging(e, nil)
}

// clientLogging is client with the SDK's warnings (logged after a poll,
// nothing secret) going to log.
func (c *common) clientLogging(e *env, log *slog.Logger) (*tenantclient.Client, error) {
	if c.url == "" {
		return nil, fmt.Errorf("%w: --url or HISOKA_URL is required", errUsage)
	}
	return tenantclient.New(tenantclient.Config{URL: c.url, Tenant: c.tenant, StateDir: c.state, HTTPClient: e.client, Rand: rand.Reader, Logger: log})
}

// timeFlag parses an optional RFC 3339 time.
func timeFlag(name, v string) (time.Time, error) {
	if v == "" {
		return time.Time{}, nil
	}
	t, err := time.Parse(time.RFC3339Nano, v)
	if err != nil {
		return time.Time{}, fmt.Errorf("%w: --%s wants an RFC 3339 time", errUsage, name)
	}
	return t, nil
}
