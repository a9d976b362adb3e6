package httpx_test

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"

	"github.com/labstack/echo/v4"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"

	"github.com/parley/parley/internal/errs"
	"github.com/parley/parley/internal/httpx"
)

// TestRequestID: a well-formed X-Request-ID is kept, anything else is
// replaced by a new id; the response carries it, and the one log line
// about a failed request names it, without a stack trace.
func TestRequestID(t *testing.T) {
	generated := regexp.MustCompile(`^[0-9a-f]{32}$`)
	for _, c := range []struct {
		name, sent string
		kept       bool
		path       string
		logged     zapcore.Level // the failure's line; 0 with none (InfoLevel is 0: use DebugLevel for "only the debug line")
	}{
		{"nginx's id", "0123456789abcdef0123456789abcdef", true, "/ok", zapcore.DebugLevel},
		{"a client's trace id", "trace-42.a:b_c", true, "/ok", zapcore.DebugLevel},
		{"none", "", false, "/ok", zapcore.DebugLevel},
		{"spaces", "two words", false, "/ok", zapcore.DebugLevel},
		{"a forged JSON field", `x","level":"error`, false, "/ok", zapcore.DebugLevel},
		{"too long", strings.Repeat("a", 129), false, "/ok", zapcore.DebugLevel},
		{"the longest", strings.Repeat("a", 128), true, "/ok", zapcore.DebugLevel},
		{"a bug", "bug-1", true, "/bug", zapcore.ErrorLevel},
		{"storage trouble", "slow-1", true, "/storage", zapcore.WarnLevel},
		{"a client error", "bad-1", true, "/invalid", zapcore.DebugLevel},
	} {
		t.Run(c.name, func(t *testing.T) {
			core, logs := observer.New(zapcore.DebugLevel)
			e := httpx.NewEcho(zap.New(core))
			e.GET("/ok", func(c echo.Context) error { return c.String(http.StatusOK, "ok") })
			e.GET("/bug", func(echo.Context) error { return errors.New("a bug") })
			e.GET("/storage", func(echo.Context) error {
				return errs.Unavailable.Wrap("storage away", errors.New("connection refused"))
			})
			e.GET("/invalid", func(echo.Context) error { return errs.Invalid.New("bad input") })
			req := httptest.NewRequest(http.MethodGet, c.path, nil)
			if c.sent != "" {
				req.Header.Set("X-Request-ID", c.sent)
			}
			rec := httptest.NewRecorder()
			e.ServeHTTP(rec, req)

			id := rec.Header().Get("X-Request-ID")
			switch {
			case c.kept && id != c.sent:
				t.Fatalf("sent %q, answered %q", c.sent, id)
			case !c.kept && !generated.MatchString(id):
				t.Fatalf("sent %q, answered %q: want a new 32-hex id", c.sent, id)
			}
			var failures []observer.LoggedEntry
			for _, l := range logs.All() {
				if l.ContextMap()["request_id"] != id {
					t.Errorf("a line about the request without its id: %s %v", l.Message, l.ContextMap())
				}
				if l.Level > zapcore.DebugLevel {
					failures = append(failures, l)
				}
				if l.Stack != "" {
					t.Errorf("a stack trace in %q", l.Message)
				}
			}
			if c.logged == zapcore.DebugLevel {
				if len(failures) != 0 {
					t.Errorf("%d lines above debug, want none: %v", len(failures), failures[0].Message)
				}
				return
			}
			if len(failures) != 1 || failures[0].Level != c.logged {
				t.Fatalf("%d lines above debug, want one at %s", len(failures), c.logged)
			}
		})
	}
}
