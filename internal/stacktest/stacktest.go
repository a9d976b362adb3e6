// Package stacktest runs real writers and readers in the test process (the
// same fx modules the binaries run) against a test database, and gives
// tests small HTTP helpers. Only tests import it.
package stacktest

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/labstack/echo/v4"
	"go.uber.org/fx"
	"go.uber.org/fx/fxtest"

	"github.com/parley/parley/internal/pgtest"
	"github.com/parley/parley/internal/platform"
	"github.com/parley/parley/internal/reader"
	"github.com/parley/parley/internal/writer"
)

// InternalToken is the INTERNAL_TOKEN test writers and readers share.
const InternalToken = "test-internal-token-0123456789abcdef"

// WriterConfig is the writer's default configuration on dbURL, any port.
func WriterConfig(t testing.TB, dbURL string) writer.Config {
	t.Helper()
	cfg, err := writer.LoadConfig()
	if err != nil {
		t.Fatal(err)
	}
	cfg.Store = pgtest.StoreConfig(dbURL)
	cfg.ListenAddr = "127.0.0.1:0"
	cfg.LogLevel = "warn"
	cfg.InternalToken = InternalToken
	return cfg
}

// StartWriter runs a writer until the test ends and returns its base URL.
// opts are added to its fx application, e.g. fx.Replace(writer.Clock(…)) to
// date events by a test's clock.
func StartWriter(t testing.TB, cfg writer.Config, opts ...fx.Option) string {
	t.Helper()
	var e *echo.Echo
	app := fxtest.New(t, fx.Supply(cfg), platform.Module, writer.Module, fx.Populate(&e), fx.Options(opts...))
	app.RequireStart()
	t.Cleanup(app.RequireStop)
	return "http://" + e.Listener.Addr().String()
}

// ReaderConfig is a reader's configuration on dbURL flushing views to
// writerURL, tuned for tests: quick refresh and flush, any port.
func ReaderConfig(t testing.TB, dbURL, writerURL string) reader.Config {
	t.Helper()
	cfg, err := reader.LoadConfig()
	if err != nil {
		t.Fatal(err)
	}
	cfg.Store = pgtest.StoreConfig(dbURL)
	cfg.ListenAddr = "127.0.0.1:0"
	cfg.WriterURL = writerURL
	cfg.RefreshInterval = 200 * time.Millisecond
	cfg.ViewFlushInterval = 50 * time.Millisecond
	cfg.LogLevel = "warn"
	cfg.InternalToken = InternalToken
	return cfg
}

// Reader is a running reader.
type Reader struct {
	Base  string
	Proj  *reader.Projection
	Views *reader.ViewCounter
	app   *fxtest.App
	once  sync.Once
}

// StartReader runs a reader until Stop or the end of the test.
// opts are added to its fx application, e.g. fx.StopTimeout for the grace
// period of its stop.
func StartReader(t testing.TB, cfg reader.Config, opts ...fx.Option) *Reader {
	t.Helper()
	var e *echo.Echo
	r := &Reader{}
	r.app = fxtest.New(t, append([]fx.Option{fx.Supply(cfg), platform.Module, reader.Module, fx.Populate(&e, &r.Proj, &r.Views)}, opts...)...)
	r.app.RequireStart()
	r.Base = "http://" + e.Listener.Addr().String()
	t.Cleanup(r.Stop)
	return r
}

// Stop stops the reader gracefully (flushing its views); later calls do nothing.
func (r *Reader) Stop() { r.once.Do(r.app.RequireStop) }

// WaitReady waits until the reader has loaded its snapshot and applied pos.
func (r *Reader) WaitReady(t testing.TB, pos int64) {
	t.Helper()
	Eventually(t, 20*time.Second, func() bool { return r.Proj.Ready() && r.Proj.Applied() >= pos })
}

// Eventually polls cond until it holds or the timeout passes (a failure).
func Eventually(t testing.TB, timeout time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("condition not met within %s", timeout)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// Response is an HTTP response read whole.
type Response struct {
	Status int
	Header http.Header
	Body   []byte
}

// JSON decodes the body into v.
func (r Response) JSON(t testing.TB, v any) {
	t.Helper()
	if err := json.Unmarshal(r.Body, v); err != nil {
		t.Fatalf("body %q: %v", r.Body, err)
	}
}

// Object decodes a JSON object body.
func (r Response) Object(t testing.TB) map[string]any {
	t.Helper()
	var m map[string]any
	r.JSON(t, &m)
	return m
}

// Client sends the helpers' requests with HTTP: e.g. a client whose
// transport checks every exchange against the API document.
type Client struct {
	HTTP *http.Client
}

// Default sends with http.DefaultClient; the package's functions use it.
func Default() Client { return Client{HTTP: http.DefaultClient} }

// Do sends a request with the default client (Client.Do).
func Do(t testing.TB, method, url string, body any, headers ...string) Response {
	t.Helper()
	return Default().Do(t, method, url, body, headers...)
}

// DoWith sends a request with client (Client.Do).
func DoWith(t testing.TB, client *http.Client, method, url string, body any, headers ...string) Response {
	t.Helper()
	return Client{HTTP: client}.Do(t, method, url, body, headers...)
}

// Do sends a request; body may be a string, bytes or a value to encode.
// headers are name, value pairs.
func (c Client) Do(t testing.TB, method, url string, body any, headers ...string) Response {
	t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	case []byte:
		rd = bytes.NewReader(b)
	default:
		raw, err := json.Marshal(b)
		if err != nil {
			t.Fatal(err)
		}
		rd = bytes.NewReader(raw)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, url, rd)
	if err != nil {
		t.Fatal(err)
	}
	if rd != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Add(headers[i], headers[i+1])
	}
	res, err := c.HTTP.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return Response{Status: res.StatusCode, Header: res.Header, Body: b}
}

// Post posts body with the default client (Client.Post).
func Post(t testing.TB, base, route string, body any, want int, headers ...string) map[string]any {
	t.Helper()
	return Default().Post(t, base, route, body, want, headers...)
}

// Post posts body and requires status want; it returns the JSON object.
func (c Client) Post(t testing.TB, base, route string, body any, want int, headers ...string) map[string]any {
	t.Helper()
	r := c.Do(t, http.MethodPost, base+route, body, headers...)
	if r.Status != want {
		t.Fatalf("POST %s: %d %s, want %d", route, r.Status, r.Body, want)
	}
	return r.Object(t)
}

// Get gets url with the default client.
func Get(t testing.TB, url string, headers ...string) Response {
	t.Helper()
	return Default().Get(t, url, headers...)
}

// Get gets url.
func (c Client) Get(t testing.TB, url string, headers ...string) Response {
	t.Helper()
	return c.Do(t, http.MethodGet, url, nil, headers...)
}

// Comment is what the write API answers to a post.
type Comment struct {
	Topic    string
	Path     string
	Position int64
}

// PostComment posts a comment with the default client (Client.PostComment).
func PostComment(t testing.TB, base, topic, parent, user, content string) Comment {
	t.Helper()
	return Default().PostComment(t, base, topic, parent, user, content)
}

// PostComment posts a comment (a new topic when topic is "") and returns it.
func (c Client) PostComment(t testing.TB, base, topic, parent, user, content string) Comment {
	t.Helper()
	body := map[string]any{"user": user, "content": content}
	if topic != "" {
		body["topic_id"] = topic
		if parent != "" {
			body["parent_path"] = parent
		}
	}
	m := c.Post(t, base, "/post_comment", body, http.StatusCreated)
	return Comment{Topic: m["topic_id"].(string), Path: m["parent_path"].(string), Position: int64(m["position"].(float64))}
}
