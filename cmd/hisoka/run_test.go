package main

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"
)

func runForTest(t *testing.T, stdin string, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	var out, errb bytes.Buffer
	e := &env{stdin: strings.NewReader(stdin), stdout: &out, stderr: &errb, getenv: func(string) string { return "" }}
	err = run(context.Background(), args, e)
	return out.String(), errb.String(), err
}

func TestUnknownCommandIsUsageError(t *testing.T) {
	_, stderr, err := runForTest(t, "", "no-such-command")
	if !errors.Is(err, errUsage) {
		t.Fatalf("err = %v, want errUsage", err)
	}
	if !strings.Contains(stderr, "usage: hisoka") {
		t.Fatalf("stderr does not show usage: %q", stderr)
	}
}

func TestHelpListsEveryCommand(t *testing.T) {
	stdout, _, err := runForTest(t, "", "help")
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range commands() {
		if !strings.Contains(stdout, "  "+c.name+" ") {
			t.Errorf("help does not list %q:\n%s", c.name, stdout)
		}
	}
}

// TestCommandHelpIsNotAnError: -h on a command prints its flags and
// succeeds; a bad flag stays a usage error.
func TestCommandHelpIsNotAnError(t *testing.T) {
	for _, args := range [][]string{{"match", "-h"}, {"templates", "--help"}, {"bench", "-h"}, {"admin", "tenants", "-h"}, {"serve", "-h"}} {
		_, stderr, err := runForTest(t, "", args...)
		if err != nil || !strings.Contains(stderr, "-") {
			t.Errorf("%v: err %v, stderr %q", args, err, stderr)
		}
	}
	if _, _, err := runForTest(t, "", "match", "--no-such-flag"); !errors.Is(err, errUsage) {
		t.Fatalf("bad flag: %v, want errUsage", err)
	}
}
