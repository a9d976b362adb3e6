// Command writer serves Parley's write API: it appends every accepted
// command to the event log in Postgres, together with the state it implies.
package main

import (
	"fmt"
	"os"
	"time"

	"go.uber.org/fx"

	"github.com/parley/parley/internal/platform"
	"github.com/parley/parley/internal/writer"
)

func main() {
	platform.HandleHelp[writer.Config]("writer", "serves Parley's write API, appending every accepted command to the event log in Postgres")
	cfg, err := writer.LoadConfig()
	if err != nil {
		fmt.Fprintln(os.Stderr, "writer:", err)
		os.Exit(2)
	}
	// Before anything starts: on success this runs the binary again, in
	// this process, with every thread at TIMER_SLACK.
	if err := platform.ApplyTimerSlack(cfg.TimerSlack); err != nil {
		fmt.Fprintln(os.Stderr, "writer: going on with the inherited timer slack:", err)
	}
	// Start waits for migrations, which wait for Postgres up to DB_START_TIMEOUT.
	// Stop drains for DRAIN_DELAY, then finishes what is in flight.
	platform.Run(fx.Supply(cfg), fx.StartTimeout(cfg.StartTimeout+10*time.Second), fx.StopTimeout(cfg.DrainDelay+15*time.Second), platform.Module, writer.Module)
}
