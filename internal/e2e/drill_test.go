package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/parley/parley/client"
	"github.com/parley/parley/internal/cli"
	"github.com/parley/parley/internal/pgtest"
	"github.com/parley/parley/internal/stacktest"
)

// parley runs the command line in this process, its requests checked
// against the API document, and returns its exit code and what it printed.
func (s *stack) parley(t *testing.T, args ...string) (int, string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code := cli.Run(context.Background(), args, &out, &errOut, func(string) string { return "" }, client.WithHTTPClient(s.api.HTTP))
	if errOut.Len() > 0 {
		t.Logf("parley %s: %s", strings.Join(args, " "), errOut.String())
	}
	return code, out.String()
}

// TestDrillFaultRate (issue 11's first drill): with FAULT_RATE=0.2 on the
// writer, `parley load` posts 2,000 comments through nginx and `parley
// verify` finds every acknowledged one exactly once on nginx and on each
// reader, none doubled by a retry.
func TestDrillFaultRate(t *testing.T) {
	s := newStack(t, stackOpts{env: []string{"FAULT_RATE=0.2", "FAULT_DELAY=300ms"}})
	state := filepath.Join(t.TempDir(), "load.json")
	code, out := s.parley(t, "-url", s.nginx, "-o", "json", "-q", "-timeout", "150ms", "-attempts", "10",
		"load", "-topics", "20", "-comments", "100", "-concurrency", "16", "-state", state)
	var sum struct {
		Acknowledged, Failed int
		Retried              int64
	}
	if err := json.Unmarshal([]byte(out), &sum); code != 0 || err != nil {
		t.Fatalf("load: exit %d, %s (%v)", code, out, err)
	}
	code, out = s.parley(t, "-url", s.nginx, "-o", "json", "verify", "-state", state,
		"-readers", strings.Join(prefixed(s.readers), ","))
	var reports []struct {
		Target                                     string
		Acknowledged, Present, Missing, Duplicated int
		Unacknowledged                             int
	}
	if err := json.Unmarshal([]byte(out), &reports); code != 0 || err != nil || len(reports) != 3 {
		t.Fatalf("verify: exit %d, %s (%v)", code, out, err)
	}
	for _, r := range reports {
		t.Logf("%s: acknowledged %d (retried %d, failed %d), present %d, lost %d, duplicated %d",
			r.Target, r.Acknowledged, sum.Retried, sum.Failed, r.Present, r.Missing, r.Duplicated)
		if r.Acknowledged != 2000 || r.Present != 2000 || r.Missing != 0 || r.Duplicated != 0 {
			t.Fatalf("%+v", r)
		}
	}
	if sum.Acknowledged != 2000 || sum.Retried == 0 {
		t.Fatalf("load: %+v", sum)
	}

	// verify can fail: a write it was told of and that never happened.
	raw, _ := os.ReadFile(state)
	var st map[string]any
	if err := json.Unmarshal(raw, &st); err != nil {
		t.Fatal(err)
	}
	topic := st["topics"].([]any)[0].(map[string]any)
	topic["comments"] = append(topic["comments"].([]any), "never written")
	raw, _ = json.Marshal(st)
	if err := os.WriteFile(state, raw, 0o644); err != nil {
		t.Fatal(err)
	}
	if code, out = s.parley(t, "-url", s.nginx, "verify", "-state", state); code != 1 || !strings.Contains(out, "missing 1") || !strings.Contains(out, "never written") {
		t.Fatalf("verify of a write that never happened: exit %d, %s", code, out)
	}
}

// TestDrillWriterKilled (issue 11's second drill): the writer is killed
// with SIGKILL in the middle of a `parley load` through nginx and started
// again; the load's retries carry it over, and `parley verify` finds every
// acknowledged comment exactly once on nginx and on each reader.
func TestDrillWriterKilled(t *testing.T) {
	s := newStack(t, stackOpts{})
	state := filepath.Join(t.TempDir(), "load.json")
	type result struct {
		code int
		out  string
	}
	done := make(chan result, 1)
	go func() {
		var out, errOut bytes.Buffer
		code := cli.Run(context.Background(), []string{"-url", s.nginx, "-o", "json", "-q", "-timeout", "2s", "-attempts", "40",
			"load", "-topics", "20", "-comments", "60", "-concurrency", "16", "-state", state}, &out, &errOut, func(string) string { return "" })
		done <- result{code, out.String() + errOut.String()}
	}()
	pool := pgtest.Pool(t, s.db)
	written := func() int {
		var n int
		_ = pool.QueryRow(context.Background(), `SELECT count(*) FROM comments`).Scan(&n)
		return n
	}
	stacktest.Eventually(t, 30*time.Second, func() bool { return written() >= 300 })
	s.procs["writer"].Kill()
	atKill := written()
	s.startWriter(t)
	// Cleanups run last first: stop the readers before the new writer, so
	// that they can hand it their last views instead of retrying them.
	t.Cleanup(func() {
		for i := range s.readers {
			s.procs[fmt.Sprintf("reader%d", i+1)].Stop()
		}
	})
	r := <-done
	var sum struct {
		Acknowledged, Failed int
		Retried              int64
	}
	if err := json.Unmarshal([]byte(r.out), &sum); r.code != 0 || err != nil {
		t.Fatalf("load: exit %d, %s (%v)", r.code, r.out, err)
	}
	if atKill >= 1200 {
		t.Fatalf("the load was over (%d comments) when the writer was killed", atKill)
	}
	code, out := s.parley(t, "-url", s.nginx, "-o", "json", "verify", "-state", state,
		"-readers", strings.Join(prefixed(s.readers), ","))
	var reports []struct {
		Target                                     string
		Acknowledged, Present, Missing, Duplicated int
	}
	if err := json.Unmarshal([]byte(out), &reports); code != 0 || err != nil || len(reports) != 3 {
		t.Fatalf("verify: exit %d, %s (%v)", code, out, err)
	}
	for _, rep := range reports {
		t.Logf("%s: writer killed at %d comments; acknowledged %d (retried %d, failed %d), present %d, lost %d, duplicated %d",
			rep.Target, atKill, rep.Acknowledged, sum.Retried, sum.Failed, rep.Present, rep.Missing, rep.Duplicated)
		if rep.Acknowledged != 1200 || rep.Present != 1200 || rep.Missing != 0 || rep.Duplicated != 0 {
			t.Fatalf("%+v", rep)
		}
	}
	if sum.Retried == 0 {
		t.Fatal("no retries: the kill did not interrupt the load")
	}
}
