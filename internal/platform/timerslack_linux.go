package platform

import (
	"fmt"
	"os"
	"runtime"
	"syscall"
	"time"
)

// prctl options (linux/prctl.h).
const (
	prSetTimerSlack = 29
	prGetTimerSlack = 30
)

// execMark is set in the environment of the image ApplyTimerSlack runs,
// which takes it out again: a kernel that did not keep the slack across
// exec must not make the process run itself forever.
const execMark = "PARLEY_TIMER_SLACK_EXEC"

// ApplyTimerSlack runs the process with a timer slack of d (TIMER_SLACK):
// the kernel may fire any of its threads' sleeps up to d late, and merges
// their wake-ups. Go's runtime monitor (sysmon) sleeps 20 µs at a time
// whenever a process comes back from idle, which a service answering a
// few hundred requests a second does hundreds of times a second: at
// Linux's default slack of 50 µs those sleeps were half of the writer's
// context switches and about 7 % of a reader's CPU (docs/operations.md).
//
// A thread may only set its own slack, and a new thread starts with the
// slack of the thread that made it; sysmon is made before main runs. So
// ApplyTimerSlack sets it on the calling thread and then executes the same
// binary again, with the same arguments and environment, in the same
// process: every thread of the new image inherits it (the environment
// carries a mark for one run, which the new image removes). In that image the
// slack is already d, and it returns nil at once. d <= 0 keeps the slack
// the process was started with. An error means the process goes on with
// the slack it had.
func ApplyTimerSlack(d time.Duration) error {
	if d <= 0 {
		return nil
	}
	// The slack set and the exec must be the same thread's: the thread
	// that calls execve is the one the new image starts on.
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	want := uintptr(d.Nanoseconds())
	cur, _, errno := syscall.RawSyscall(syscall.SYS_PRCTL, prGetTimerSlack, 0, 0)
	if errno != 0 {
		return fmt.Errorf("TIMER_SLACK: reading the timer slack: %w", errno)
	}
	if _, again := os.LookupEnv(execMark); again {
		os.Unsetenv(execMark)
		if cur != want {
			return fmt.Errorf("TIMER_SLACK: the kernel did not keep the timer slack across exec (%v, not %v)", time.Duration(cur), d)
		}
		return nil
	}
	if cur == want {
		return nil
	}
	if _, _, errno := syscall.RawSyscall(syscall.SYS_PRCTL, prSetTimerSlack, want, 0); errno != 0 {
		return fmt.Errorf("TIMER_SLACK: %w", errno)
	}
	exe, err := os.Executable()
	if err != nil {
		return fmt.Errorf("TIMER_SLACK: finding the binary to run again: %w", err)
	}
	if err := syscall.Exec(exe, os.Args, append(os.Environ(), execMark+"=1")); err != nil {
		return fmt.Errorf("TIMER_SLACK: running %s again: %w", exe, err)
	}
	return nil // not reached: Exec does not return on success
}

// timerSlack is the calling thread's timer slack.
func timerSlack() time.Duration {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	cur, _, _ := syscall.RawSyscall(syscall.SYS_PRCTL, prGetTimerSlack, 0, 0)
	return time.Duration(cur)
}
