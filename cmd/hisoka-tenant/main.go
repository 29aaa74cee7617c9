// Command hisoka-tenant is the tenant's command line for Hisoka: it makes
// the tenant's key, subscribes blindly to catalogue patterns, polls and
// verifies notifications, and searches, exports and verifies the tenant's
// own logs. Everything secret stays in the state directory.
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
