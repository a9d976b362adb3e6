package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/parley/parley/internal/stacktest"
)

// TestDrillReplica (issue 13, point 4): readers load and tail a real hot
// standby (READ_DATABASE_URL; pg_basebackup -R, streaming from the
// primary the writer writes), and LISTEN on the primary.
//
//  1. They serve and stay fresh: each write shows on both readers without
//     min_position, its delay measured.
//  2. With the standby's replay paused (pg_wal_replay_pause), the writer
//     goes on writing; a read with min_position waits MIN_POSITION_WAIT on
//     each reader and answers 503; /readyz reports the lag in events
//     (the primary's notifications say how far the log goes), then turns
//     503 once the lag is older than MAX_STALENESS.
//  3. Replay resumed, both readers catch up, /readyz is 200 with no lag,
//     and every comment acknowledged before, during and after the pause is
//     on nginx and on each reader exactly once (parley verify).
func TestDrillReplica(t *testing.T) {
	pg := newPrivatePostgres(t)
	standbyURL := pg.standby(t)
	s := newStack(t, stackOpts{db: pg.url, env: []string{"READ_DATABASE_URL=" + standbyURL, "MIN_POSITION_WAIT=1s", "MAX_STALENESS=5s"}})
	ctx := context.Background()
	standby, err := pgx.Connect(ctx, standbyURL)
	if err != nil {
		t.Fatal(err)
	}
	defer standby.Close(ctx)
	var inRecovery bool
	if err := standby.QueryRow(ctx, `SELECT pg_is_in_recovery()`).Scan(&inRecovery); err != nil || !inRecovery {
		t.Fatalf("READ_DATABASE_URL is not a standby: in recovery %v, %v", inRecovery, err)
	}

	var acked []ackedTopic
	var last int64
	write := func(topic int, content string) stacktest.Comment {
		t.Helper()
		id := ""
		if topic < len(acked) {
			id = acked[topic].TopicID
		}
		c := s.api.PostComment(t, s.nginx, id, map[bool]string{true: "", false: "0"}[id == ""], "ann", content)
		if id == "" {
			acked = append(acked, ackedTopic{TopicID: c.Topic})
		}
		acked[topic].Comments = append(acked[topic].Comments, content)
		last = max(last, c.Position)
		return c
	}
	// 1. Fresh: each write, seen on both readers without min_position.
	var delays []time.Duration
	for i := range 20 {
		c := write(i%4, fmt.Sprint("before ", i))
		began := time.Now()
		for _, r := range s.readers {
			stacktest.Eventually(t, 10*time.Second, func() bool {
				res, err := http.Get(fmt.Sprintf("http://%s/topic_comments?topic_id=%s", r, c.Topic))
				if err != nil {
					return false
				}
				var items []map[string]any
				_ = json.NewDecoder(res.Body).Decode(&items)
				res.Body.Close()
				return slices.ContainsFunc(items, func(m map[string]any) bool { return m["parent_path"] == c.Path })
			})
		}
		delays = append(delays, time.Since(began))
	}
	slices.Sort(delays)
	t.Logf("fresh on the standby: a write seen on both readers in p50 %s, max %s (20 writes, polled)", delays[10].Round(time.Millisecond), delays[19].Round(time.Millisecond))

	// 2. Replay paused: writes go on, a min_position read waits and fails.
	if _, err := standby.Exec(ctx, `SELECT pg_wal_replay_pause()`); err != nil {
		t.Fatal(err)
	}
	paused := write(0, "during the pause 0")
	for i := 1; i < 30; i++ {
		write(i%4, fmt.Sprint("during the pause ", i))
	}
	type ready struct {
		Status    string  `json:"status"`
		LagEvents int64   `json:"lag_events"`
		LagSecs   float64 `json:"lag_seconds"`
		Error     string  `json:"error"`
	}
	readyz := func(r string) (int, ready) {
		res := stacktest.Get(t, "http://"+r+"/readyz") // not the API: a plain client
		var v ready
		_ = json.Unmarshal(res.Body, &v)
		return res.Status, v
	}
	// The lag, reported while it is younger than MAX_STALENESS...
	for _, r := range s.readers {
		stacktest.Eventually(t, 10*time.Second, func() bool {
			code, v := readyz(r)
			if code == http.StatusOK && v.LagEvents >= 30 {
				t.Logf("reader %s with replay paused: /readyz 200, %d events behind, %.1f s", r, v.LagEvents, v.LagSecs)
				return true
			}
			return false
		})
	}
	began := time.Now()
	res := s.api.Get(t, fmt.Sprintf("%s/topic_comments?topic_id=%s&min_position=%d", s.nginx, paused.Topic, paused.Position))
	waited := time.Since(began)
	if res.Status != http.StatusServiceUnavailable || !strings.Contains(string(res.Body), "min_position") {
		t.Fatalf("a min_position read while replay is paused: %d %s, want 503", res.Status, res.Body)
	}
	t.Logf("min_position read with replay paused: 503 after %s (MIN_POSITION_WAIT=1s on each of %d readers, nginx tries both)", waited.Round(time.Millisecond), len(s.readers))
	// ... then readiness fails, the lag in its message.
	for _, r := range s.readers {
		var stale ready
		stacktest.Eventually(t, 10*time.Second, func() bool {
			code, v := readyz(r)
			stale = v
			return code == http.StatusServiceUnavailable
		})
		if !strings.Contains(stale.Error, "events behind") {
			t.Errorf("reader %s: /readyz 503 says %q, want the lag", r, stale.Error)
		}
		t.Logf("reader %s: then /readyz 503: %s", r, stale.Error)
	}

	// 3. Resumed: everything catches up.
	if _, err := standby.Exec(ctx, `SELECT pg_wal_replay_resume()`); err != nil {
		t.Fatal(err)
	}
	for i := range 10 {
		write(i%4, fmt.Sprint("after ", i))
	}
	for _, r := range s.readers {
		stacktest.Eventually(t, 15*time.Second, func() bool {
			code, v := readyz(r)
			return code == http.StatusOK && v.LagEvents == 0
		})
	}
	reports := verifyAcked(t, s, last, acked)
	n := 0
	for _, a := range acked {
		n += len(a.Comments)
	}
	for _, r := range reports {
		t.Logf("verify %s: acknowledged %d, present %d, missing %d, duplicated %d", r.Target, r.Acknowledged, r.Present, r.Missing, r.Duplicated)
		if r.Acknowledged != n || r.Present != n || r.Missing != 0 || r.Duplicated != 0 {
			t.Errorf("after the replay resumed, %s: %+v, want all %d once", r.Target, r, n)
		}
	}
}
