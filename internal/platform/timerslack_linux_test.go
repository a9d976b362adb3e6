package platform

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// helperSlackEnv carries the slack to TestHelperProcessTimerSlack and
// where it notes each run.
const helperSlackEnv = "PARLEY_TEST_TIMER_SLACK"

func TestApplyTimerSlackReachesEveryThread(t *testing.T) {
	cases := []struct {
		name  string
		slack time.Duration
		runs  int // images the helper ran in: 2 when it executed itself again
	}{
		{"new slack: runs again with it", 3 * time.Millisecond, 2},
		{"zero: keeps the inherited slack", 0, 1},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			runs := filepath.Join(t.TempDir(), "runs")
			cmd := exec.Command(os.Args[0], "-test.run=^TestHelperProcessTimerSlack$")
			cmd.Env = append(os.Environ(), fmt.Sprintf("%s=%s,%s", helperSlackEnv, tc.slack, runs))
			out, err := cmd.CombinedOutput()
			if err != nil {
				t.Fatalf("helper: %v\n%s", err, out)
			}
			b, err := os.ReadFile(runs)
			if err != nil {
				t.Fatal(err)
			}
			lines := strings.Fields(string(b))
			if len(lines) != tc.runs {
				t.Fatalf("helper ran in %d images (%q), want %d", len(lines), lines, tc.runs)
			}
			if lines[0] != lines[len(lines)-1] {
				t.Errorf("pids %q: the image must replace the process, not start another", lines)
			}
			var slack, main int
			if _, err := fmt.Sscanf(reportLine(out), "slack=%d main=%d", &slack, &main); err != nil {
				t.Fatalf("helper's report: %v\n%s", err, out)
			}
			want := int(tc.slack)
			if tc.slack <= 0 {
				want = int(timerSlack()) // inherited from this test process
			}
			if slack != want {
				t.Errorf("helper's slack %v, want %v", time.Duration(slack), time.Duration(want))
			}
			// The main thread is the one the runtime made sysmon and the
			// first threads from: only a new image has the slack there.
			switch {
			case main == -1:
				t.Log("this user may not read the main thread's slack (CAP_SYS_NICE); checked the pids and the calling thread")
			case main != want:
				t.Errorf("helper's main thread has slack %v, want %v", time.Duration(main), time.Duration(want))
			}
		})
	}
}

// reportLine is the helper's line of figures.
func reportLine(out []byte) string {
	for _, l := range strings.Split(string(out), "\n") {
		if strings.HasPrefix(l, "slack=") {
			return l
		}
	}
	return ""
}

// TestHelperProcessTimerSlack is TestApplyTimerSlackReachesEveryThread's
// child (the os/exec tests' pattern): it does nothing unless started by
// it. It notes its pid, applies the slack (which executes the test binary
// again, with the same arguments and environment, so this runs a second
// time), then reports the slack of its own thread and of the main one.
func TestHelperProcessTimerSlack(t *testing.T) {
	arg, ok := os.LookupEnv(helperSlackEnv)
	if !ok {
		return
	}
	slackText, runs, _ := strings.Cut(arg, ",")
	f, err := os.OpenFile(runs, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	fmt.Fprintln(f, os.Getpid())
	f.Close()
	d, err := time.ParseDuration(slackText)
	if err != nil {
		t.Fatal(err)
	}
	if err := ApplyTimerSlack(d); err != nil {
		t.Fatal(err)
	}
	if v, ok := os.LookupEnv(execMark); ok {
		t.Fatalf("%s=%s left in the environment", execMark, v)
	}
	main := int64(-1)
	b, err := os.ReadFile("/proc/self/timerslack_ns") // the main thread's
	switch {
	case errors.Is(err, os.ErrPermission): // another thread's needs CAP_SYS_NICE
	case err != nil:
		t.Fatal(err)
	default:
		if main, err = strconv.ParseInt(strings.TrimSpace(string(b)), 10, 64); err != nil {
			t.Fatal(err)
		}
	}
	fmt.Printf("slack=%d main=%d\n", timerSlack(), main)
}
