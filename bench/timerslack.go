package main

import (
	"fmt"
	"os"
	"time"

	"github.com/parley/parley/internal/platform"
)

// applyTimerSlack gives the ceiling's static servers and the write
// baseline the timer slack Parley's services run with (TIMER_SLACK,
// default 1ms, as theirs): the same one-line tuning is open to both
// sides. Like the services, a server whose slack could not be set goes on
// with the one it had.
func applyTimerSlack() {
	d := time.Millisecond
	if v, ok := os.LookupEnv("TIMER_SLACK"); ok {
		var err error
		d, err = time.ParseDuration(v)
		fail(err)
	}
	if err := platform.ApplyTimerSlack(d); err != nil {
		fmt.Fprintln(os.Stderr, "bench: going on with the inherited timer slack:", err)
	}
}
