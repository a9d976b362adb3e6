// Command reader serves Parley's read API from memory: it loads a snapshot
// of the current state from Postgres and then tails the event log.
package main

import (
	"fmt"
	"os"
	"time"

	"go.uber.org/fx"

	"github.com/parley/parley/internal/platform"
	"github.com/parley/parley/internal/reader"
)

func main() {
	platform.HandleHelp[reader.Config]("reader", "serves Parley's read API from memory, loaded from Postgres and kept current by tailing the event log")
	cfg, err := reader.LoadConfig()
	if err != nil {
		fmt.Fprintln(os.Stderr, "reader:", err)
		os.Exit(2)
	}
	// Before anything starts: on success this runs the binary again, in
	// this process, with every thread at TIMER_SLACK.
	if err := platform.ApplyTimerSlack(cfg.TimerSlack); err != nil {
		fmt.Fprintln(os.Stderr, "reader: going on with the inherited timer slack:", err)
	}
	// Stop drains for DRAIN_DELAY, then flushes views within the rest.
	platform.Run(fx.Supply(cfg), fx.StopTimeout(cfg.DrainDelay+15*time.Second), platform.Module, reader.Module)
}
