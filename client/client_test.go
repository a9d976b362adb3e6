package client_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/parley/parley/client"
)

// flaky is a fake writer for the client's retry logic: it answers each
// attempt as its script says, and keeps the answers of the writes it
// committed by Idempotency-Key, as the real writer does.
type flaky struct {
	mu      sync.Mutex
	script  []string          // what each attempt meets, in order; then "ok"
	keys    map[string]string // key → committed answer
	writes  int               // writes committed
	seen    []string          // the key of every attempt
	queries []string          // the query of every GET
	ifMatch []string          // the If-Match of every attempt
	targets []string          // the method and URL of every attempt
	arrived chan struct{}     // a signal for every attempt, if there is room
}

func newFlaky(t *testing.T, script ...string) (*flaky, *httptest.Server) {
	f := &flaky{script: script, keys: map[string]string{}, arrived: make(chan struct{}, 1)}
	srv := httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(srv.Close)
	return f, srv
}

func (f *flaky) next() string {
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.script) == 0 {
		return "ok"
	}
	s := f.script[0]
	f.script = f.script[1:]
	return s
}

// commit writes once per key and returns the answer.
func (f *flaky) commit(key string) string {
	f.mu.Lock()
	defer f.mu.Unlock()
	if a, ok := f.keys[key]; ok {
		return a
	}
	f.writes++
	a := `{"comment_id":` + strconv.Itoa(f.writes) + `,"parent_path":"0/1","topic_id":"t","new_topic":false,"position":` + strconv.Itoa(40+f.writes) + `}`
	f.keys[key] = a
	return a
}

// answer answers a committed write as the writer does: its position in
// X-Log-Position, a version as ETag, and the body, but for a DELETE (204).
func (f *flaky) answer(w http.ResponseWriter, method, a string) {
	var p struct{ Position int64 }
	_ = json.Unmarshal([]byte(a), &p)
	w.Header().Set("X-Log-Position", strconv.FormatInt(p.Position, 10))
	w.Header().Set("ETag", `"`+strconv.FormatInt(1000+p.Position, 10)+`"`)
	w.Header().Set("Location", "/v1/topics/t/comments/"+strconv.FormatInt(p.Position-40, 10))
	if method == http.MethodDelete {
		w.WriteHeader(http.StatusNoContent)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write([]byte(a))
}

func (f *flaky) serve(w http.ResponseWriter, r *http.Request) {
	key := r.Header.Get("Idempotency-Key")
	f.mu.Lock()
	f.seen = append(f.seen, key)
	f.ifMatch = append(f.ifMatch, r.Header.Get("If-Match"))
	f.targets = append(f.targets, r.Method+" "+r.URL.RequestURI())
	if r.Method == http.MethodGet {
		f.queries = append(f.queries, r.URL.RawQuery)
	}
	f.mu.Unlock()
	select {
	case f.arrived <- struct{}{}:
	default:
	}
	fail := func(status int) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		_, _ = w.Write([]byte(`{"error":"scripted"}`))
	}
	switch f.next() {
	case "reset": // the connection drops before any answer
		conn, _, _ := w.(http.Hijacker).Hijack()
		_ = conn.Close()
		return
	case "502":
		fail(http.StatusBadGateway)
		return
	case "503-before":
		fail(http.StatusServiceUnavailable)
		return
	case "503-after": // committed, then the answer is lost
		if r.Method != http.MethodGet {
			f.commit(key)
		}
		fail(http.StatusServiceUnavailable)
		return
	case "524":
		fail(524)
		return
	case "slow": // no answer until the client gives up
		// The server notices a closed connection only once the body is read.
		_, _ = io.Copy(io.Discard, r.Body)
		<-r.Context().Done()
		return
	case "400":
		fail(http.StatusBadRequest)
		return
	case "412":
		fail(http.StatusPreconditionFailed)
		return
	}
	if r.Method != http.MethodGet {
		f.answer(w, r.Method, f.commit(key))
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Link", `</topic_comments?topic_id=t&after=0%2F1>; rel="next"`)
	_, _ = w.Write([]byte(`[{"comment_id":0,"parent_path":"0","user":"ann","content":"x","view_count":0,"up":0,"down":0,"update_time":"2026-11-24T00:00:00.000Z","deleted":false}]`))
}

func fast(extra ...client.Option) []client.Option {
	return append([]client.Option{client.WithRetries(6, time.Millisecond, 5*time.Millisecond), client.WithAttemptTimeout(200 * time.Millisecond)}, extra...)
}

// TestWriteRetries: whatever fails on the way, a write is retried under
// one key and committed exactly once.
func TestWriteRetries(t *testing.T) {
	for _, script := range [][]string{
		nil,
		{"reset"},
		{"502", "503-before", "524"},
		{"503-after"},
		{"503-after", "reset", "503-after"},
		{"slow", "503-after", "slow"},
	} {
		t.Run(fmt.Sprint(script), func(t *testing.T) {
			f, srv := newFlaky(t, script...)
			c := client.New(srv.URL, fast()...)
			got, err := c.PostComment(context.Background(), client.NewComment{TopicID: "t", Content: "hello", User: "ann"})
			if err != nil {
				t.Fatal(err)
			}
			if f.writes != 1 || got.CommentID != 1 || got.Position != 41 {
				t.Fatalf("%d writes, answer %+v", f.writes, got)
			}
			for _, k := range f.seen {
				if k == "" || k != f.seen[0] {
					t.Fatalf("attempts under keys %q", f.seen)
				}
			}
			// net/http itself replays a request with an Idempotency-Key
			// once when a reused connection drops: the client may count
			// fewer retries than attempts the server saw.
			if len(f.seen) != len(script)+1 || c.Stats().Retries.Load() > int64(len(script)) {
				t.Fatalf("%d attempts, %d retries, for %d failures", len(f.seen), c.Stats().Retries.Load(), len(script))
			}
		})
	}
}

// TestNoRetry: an answer that says the request is wrong is not retried;
// a failure that lasts ends after the last attempt with its error.
func TestNoRetry(t *testing.T) {
	f, srv := newFlaky(t, "400")
	c := client.New(srv.URL, fast()...)
	_, err := c.PostComment(context.Background(), client.NewComment{Content: "x", User: "ann"})
	if !client.IsStatus(err, 400) || len(f.seen) != 1 {
		t.Fatalf("%v after %d attempts", err, len(f.seen))
	}

	f, srv = newFlaky(t, "503-before", "503-before", "503-before")
	c = client.New(srv.URL, client.WithRetries(3, time.Millisecond, time.Millisecond))
	_, err = c.PostComment(context.Background(), client.NewComment{Content: "x", User: "ann"})
	if !client.IsStatus(err, 503) || len(f.seen) != 3 || f.writes != 0 {
		t.Fatalf("%v after %d attempts, %d writes", err, len(f.seen), f.writes)
	}

	f, srv = newFlaky(t, "slow")
	ctx, cancel := context.WithCancel(context.Background())
	c = client.New(srv.URL)
	go func() {
		<-f.arrived
		cancel()
	}()
	if _, err = c.PostComment(ctx, client.NewComment{Content: "x", User: "ann"}); !errors.Is(err, context.Canceled) {
		t.Fatalf("a call its caller gave up on: %v", err)
	}
}

// TestSessionReads: with WithSession, reads wait for the client's own
// highest write; reads are retried like writes, and pages follow Link.
func TestSessionReads(t *testing.T) {
	f, srv := newFlaky(t, "502")
	c := client.New(srv.URL, fast(client.WithSession())...)
	if _, err := c.PostComment(context.Background(), client.NewComment{Content: "x", User: "ann"}); err != nil {
		t.Fatal(err)
	}
	f.script = []string{"reset"}
	page, err := c.TopicComments(context.Background(), client.ThreadQuery{TopicID: "t", Sort: "best", Limit: 5})
	if err != nil {
		t.Fatal(err)
	}
	if page.Next != "0/1" || len(page.Comments) != 1 || page.Comments[0].User != "ann" {
		t.Fatalf("page %+v", page)
	}
	for _, q := range f.queries {
		if q != "limit=5&min_position=41&sort=best&topic_id=t" {
			t.Fatalf("read %q", q)
		}
	}
}
