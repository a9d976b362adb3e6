package writer_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"go.uber.org/fx"

	"github.com/parley/parley/internal/clocktest"
	"github.com/parley/parley/internal/comment"
	"github.com/parley/parley/internal/pgtest"
	"github.com/parley/parley/internal/stacktest"
	"github.com/parley/parley/internal/writer"
)

// internalToken is the INTERNAL_TOKEN of the test writers (stacktest).
const internalToken = stacktest.InternalToken

// internalAuth is the header a reader sends on /internal/ routes.
var internalAuth = []string{"Authorization", "Bearer " + internalToken}

// testConfig is the writer's configuration for tests on dbURL.
func testConfig(t *testing.T, dbURL string) writer.Config { return stacktest.WriterConfig(t, dbURL) }

// startWriter runs the writer's fx application as cmd/writer does, with
// opts added (e.g. a clock's option).
func startWriter(t *testing.T, cfg writer.Config, opts ...fx.Option) string {
	return stacktest.StartWriter(t, cfg, opts...)
}

// newWriter is a writer on a fresh database.
func newWriter(t *testing.T, opts ...fx.Option) (base, dbURL string) {
	t.Helper()
	dbURL = pgtest.NewDatabase(t)
	return startWriter(t, testConfig(t, dbURL), opts...), dbURL
}

// clock is a writer clock that only moves when the test advances it.
type clock struct{ *clocktest.Clock }

// newClock stops time at the current millisecond.
func newClock() clock { return clock{clocktest.New(comment.Now())} }

// option makes a writer date its events by c instead of comment.Now.
func (c clock) option() fx.Option { return fx.Replace(writer.Clock(c.Now)) }

type response struct {
	Status int
	Header http.Header
	Body   []byte
}

func (r response) json(t *testing.T) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(r.Body, &m); err != nil {
		t.Fatalf("body %q is not a JSON object: %v", r.Body, err)
	}
	return m
}

func post(t *testing.T, base, route string, body any, headers ...string) response {
	t.Helper()
	r := stacktest.Do(t, http.MethodPost, base+route, body, headers...)
	return response{Status: r.Status, Header: r.Header, Body: r.Body}
}

// mustPost posts and requires the given status.
func mustPost(t *testing.T, base, route string, body any, want int, headers ...string) map[string]any {
	t.Helper()
	r := post(t, base, route, body, headers...)
	if r.Status != want {
		t.Fatalf("POST %s %v: status %d %s, want %d", route, body, r.Status, r.Body, want)
	}
	return r.json(t)
}

// newTopic posts a topic and returns its id.
func newTopic(t *testing.T, base string) string {
	t.Helper()
	return mustPost(t, base, "/post_comment", map[string]any{"content": "root", "user": "ann"}, 201)["topic_id"].(string)
}

func wantError(t *testing.T, r response, status int, contains string) {
	t.Helper()
	if r.Status != status {
		t.Fatalf("status %d %s, want %d", r.Status, r.Body, status)
	}
	if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Fatalf("Content-Type %q", ct)
	}
	msg, ok := r.json(t)["error"].(string)
	if !ok || msg == "" {
		t.Fatalf("body %s has no error message", r.Body)
	}
	if !strings.Contains(msg, contains) {
		t.Fatalf("error %q does not mention %q", msg, contains)
	}
}
