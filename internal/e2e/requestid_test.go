package e2e

import (
	"errors"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/parley/parley/internal/pgtest"
	"github.com/parley/parley/internal/stacktest"
)

// TestRequestIDs (SPEC §12): nginx gives every request an X-Request-ID,
// keeping a well-formed one from the client; the services get it, log it
// on their lines about the request (at LOG_LEVEL=debug, every request has
// one), and every response returns it once — nginx's own answers (errors,
// pages, static files) too. nginx's access log has it.
func TestRequestIDs(t *testing.T) {
	s := newStack(t, stackOpts{readers: 1, accessLog: true, env: []string{"LOG_LEVEL=debug"}})
	generated := regexp.MustCompile(`^[0-9a-f]{32}$`)
	send := func(method, path, id string, body any) string {
		t.Helper()
		var headers []string
		if id != "" {
			headers = []string{"X-Request-ID", id}
		}
		// The pages and static files are not the API's: a plain client.
		r := stacktest.DoWith(t, http.DefaultClient, method, s.nginx+path, body, headers...)
		ids := r.Header.Values("X-Request-Id")
		if len(ids) != 1 {
			t.Fatalf("%s %s (%d): X-Request-ID %q, want exactly one", method, path, r.Status, ids)
		}
		return ids[0]
	}
	logged := func(what, file, id string) {
		t.Helper()
		defer func() {
			if t.Failed() {
				t.Logf("the %s's log does not name %s", what, id)
			}
		}()
		stacktest.Eventually(t, 10*time.Second, func() bool {
			b, _ := os.ReadFile(file)
			return strings.Contains(string(b), id)
		})
	}

	if got := send(http.MethodGet, "/last_topics", "trace-read-1", nil); got != "trace-read-1" {
		t.Fatalf("a client's id came back as %q", got)
	}
	logged("reader", s.procs["reader1"].Log, `"request_id":"trace-read-1"`)
	logged("nginx", filepath.Join(s.prefix, "access.log"), "request_id=trace-read-1")

	if got := send(http.MethodPost, "/post_comment", "trace-write-1", map[string]any{"content": "c", "user": "u"}); got != "trace-write-1" {
		t.Fatalf("a write's id came back as %q", got)
	}
	logged("writer", s.procs["writer"].Log, `"request_id":"trace-write-1"`)

	own := send(http.MethodGet, "/last_topics", "", nil)
	if !generated.MatchString(own) {
		t.Fatalf("a request without an id got %q, want nginx's 32 hex digits", own)
	}
	logged("reader", s.procs["reader1"].Log, `"request_id":"`+own+`"`)
	if got := send(http.MethodGet, "/last_topics", "two words", nil); !generated.MatchString(got) {
		t.Fatalf("a malformed id came back as %q, want one of nginx's", got)
	}
	// nginx's own answers: a 404, a 405 (with Allow), the page, the API
	// description, an error page for a service's refusal.
	for _, path := range []string{"/nope", "/", "/openapi.json", "/docs/", "/app/css/parley.css", "/favicon.svg", "/embed.js"} {
		if got := send(http.MethodGet, path, "static-1", nil); got != "static-1" {
			t.Errorf("GET %s: X-Request-ID %q", path, got)
		}
	}
	if got := send(http.MethodPut, "/last_topics", "refused-1", nil); got != "refused-1" {
		t.Errorf("a 405 from nginx: X-Request-ID %q", got)
	}
}

// TestStartFailureOneLine (SPEC §12): a service that cannot start (its port
// taken) says so in one line, without a stack trace, and exits 1 — in both
// log formats.
func TestStartFailureOneLine(t *testing.T) {
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()
	db := pgtest.NewDatabase(t)
	for _, c := range []struct{ bin, format string }{{"writer", "json"}, {"reader", "console"}, {"reader", "json"}} {
		cmd := exec.Command(filepath.Join(bins, c.bin))
		cmd.Env = append(os.Environ(), "DATABASE_URL="+db, "LISTEN_ADDR="+taken.Addr().String(), "LOG_FORMAT="+c.format,
			"INTERNAL_TOKEN="+stacktest.InternalToken, "METRICS_ADDR=", "DB_START_TIMEOUT=5s")
		out, err := cmd.CombinedOutput()
		var exit *exec.ExitError
		if !errors.As(err, &exit) || exit.ExitCode() != 1 {
			t.Fatalf("%s on a taken port: %v, want exit status 1\n%s", c.bin, err, out)
		}
		var errLines []string
		for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
			if strings.Contains(line, `"level":"error"`) || strings.Contains(line, "\tERROR\t") {
				errLines = append(errLines, line)
			}
		}
		if len(errLines) != 1 || !strings.Contains(errLines[0], "address already in use") || strings.Contains(string(out), "stacktrace") ||
			strings.Contains(string(out), ".go:") && strings.Contains(string(out), "goroutine") {
			t.Errorf("%s (LOG_FORMAT=%s) on a taken port said:\n%s\nwant one error line naming the address in use, no stack trace", c.bin, c.format, out)
		}
	}
}
