// Command hisoka-tenant is the tenant's command line for Hisoka: it makes
// the tenant's key, subscribes blindly to catalogue patterns, polls and
// verifies notifications, and searches, exports and verifies the tenant's
// own logs. Everything secret stays in the state directory.
//
// "hisoka-tenant ui" is a dashboard of the same state in a browser: the
// subscriptions, the verified notifications with their decrypted details,
// and any verification failure (tampered, withheld, replayed or reordered
// batches, a key mismatch, a forked log) in a banner on top of every page.
// It polls and verifies the board in the background as "poll --follow"
// does, and serves on a loopback address only, behind a random access
// secret printed with its address (other users of the machine can reach
// loopback too), with the Host header checked and a Content-Security-Policy
// that allows no script. Keys and tokens are never shown. What poll, ui and
// "logs verify" verified or refused is kept in the state directory's
// journal (JournalFile), which the dashboard reads.
//
// Run "hisoka-tenant help" for the list of commands.
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	err := run(ctx, os.Args[1:], &env{stdin: os.Stdin, stdout: os.Stdout, stderr: os.Stderr, getenv: os.Getenv})
	if err != nil {
		fmt.Fprintln(os.Stderr, "hisoka-tenant:", err)
		if errors.Is(err, errUsage) {
			os.Exit(2)
		}
		os.Exit(1)
	}
}
