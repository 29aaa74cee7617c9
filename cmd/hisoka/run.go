package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"text/tabwriter"
)

// errUsage marks an error in how the command was called; main exits 2 on it.
var errUsage = errors.New("usage")

// env is everything a command may touch outside its arguments, so that tests
// run the real entry point with their own streams and environment.
type env struct {
	stdin  io.Reader
	stdout io.Writer
	stderr io.Writer
	getenv func(string) string
}

// command is one "hisoka NAME" subcommand.
type command struct {
	name    string
	summary string
	run     func(ctx context.Context, e *env, args []string) error
}

// commands lists every subcommand, in the order "hisoka help" prints them.
// Each command lives in a file of its own in this directory.
func commands() []command {
	return []command{
		{"version", "print the version", runVersion},
		{"serve", "run the server: HTTP API, syslog listeners, pipeline", runServe},
		{"admin", "operator commands: token, tenants, resources, catalogues, rotate", runAdmin},
		{"templates", "mine templates: one JSON line per input line", runTemplates},
		{"learn", "learn a proposed pattern catalogue from normal logs", runLearn},
		{"match", "match a catalogue against logs: one JSON line per detection", runMatch},
		{"generate", "generate realistic OpenStack logs with ground truth", runGenerate},
		{"bench", "measure ingest, store, matcher, tokens, latencies; print a table with the machine", runBench},
	}
}

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

func runVersion(_ context.Context, e *env, _ []string) error {
	_, err := fmt.Fprintln(e.stdout, "hisoka", version)
	return err
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
	fmt.Fprintln(w, "usage: hisoka COMMAND [ARGS]\n\ncommands:")
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	for _, c := range commands() {
		fmt.Fprintf(tw, "  %s\t%s\n", c.name, c.summary)
	}
	return tw.Flush()
}
