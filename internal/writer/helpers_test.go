package writer_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/labstack/echo/v4"
	"go.uber.org/fx"
	"go.uber.org/fx/fxtest"

	"github.com/parley/parley/internal/pgtest"
	"github.com/parley/parley/internal/platform"
	"github.com/parley/parley/internal/writer"
)

// testConfig is the writer's configuration for tests on dbURL: defaults,
// any port.
func testConfig(t *testing.T, dbURL string) writer.Config {
	t.Helper()
	t.Setenv("DATABASE_URL", dbURL)
	t.Setenv("LISTEN_ADDR", "127.0.0.1:0")
	t.Setenv("LOG_LEVEL", "warn")
	cfg, err := writer.LoadConfig()
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

// startWriter runs the writer's fx application as cmd/writer does and
// returns its base URL; it stops with the test.
func startWriter(t *testing.T, cfg writer.Config) string {
	t.Helper()
	var e *echo.Echo
	app := fxtest.New(t, fx.Supply(cfg), platform.Module, writer.Module, fx.Populate(&e))
	app.RequireStart()
	t.Cleanup(app.RequireStop)
	return "http://" + e.Listener.Addr().String()
}

// newWriter is a writer on a fresh database.
func newWriter(t *testing.T) (base, dbURL string) {
	t.Helper()
	dbURL = pgtest.NewDatabase(t)
	return startWriter(t, testConfig(t, dbURL)), dbURL
}

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
	var raw []byte
	switch b := body.(type) {
	case string:
		raw = []byte(b)
	case []byte:
		raw = b
	default:
		var err error
		if raw, err = json.Marshal(b); err != nil {
			t.Fatal(err)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, base+route, bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Add(headers[i], headers[i+1])
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return response{Status: res.StatusCode, Header: res.Header, Body: b}
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
