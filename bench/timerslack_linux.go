package main

import (
	"os"
	"runtime"
	"syscall"
	"time"
)

// applyTimerSlack gives the ceiling's static servers and the write
// baseline the timer slack Parley's services run with (TIMER_SLACK,
// default 1ms; internal/platform.ApplyTimerSlack, which this module cannot
// import): the same one-line tuning is open to both sides. It sets the
// calling thread's slack and runs the binary again, whose threads all
// inherit it; in that image the slack is already set and it returns.
func applyTimerSlack() {
	d := time.Millisecond
	if v, ok := os.LookupEnv("TIMER_SLACK"); ok {
		var err error
		if d, err = time.ParseDuration(v); err != nil {
			fail(err)
		}
	}
	if d <= 0 {
		return
	}
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	const prSetTimerSlack, prGetTimerSlack = 29, 30
	const mark = "PARLEY_TIMER_SLACK_EXEC" // one run again at most
	if _, again := os.LookupEnv(mark); again {
		os.Unsetenv(mark)
		return
	}
	if cur, _, errno := syscall.RawSyscall(syscall.SYS_PRCTL, prGetTimerSlack, 0, 0); errno != 0 || cur == uintptr(d) {
		return
	}
	if _, _, errno := syscall.RawSyscall(syscall.SYS_PRCTL, prSetTimerSlack, uintptr(d), 0); errno != 0 {
		fail(errno)
	}
	exe, err := os.Executable()
	fail(err)
	fail(syscall.Exec(exe, os.Args, append(os.Environ(), mark+"=1")))
}
