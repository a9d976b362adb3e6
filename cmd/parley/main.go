// Command parley is a command-line client of a Parley site: one
// subcommand per operation, plus load and verify (docs/client.md).
package main

import (
	"context"
	"os"
	"os/signal"

	"github.com/parley/parley/internal/cli"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	code := cli.Run(ctx, os.Args[1:], os.Stdout, os.Stderr, os.Getenv)
	stop()
	os.Exit(code)
}
