// Package httpx holds the HTTP edge both services share: the echo instance
// with its one error handler, which answers each error kind (internal/errs)
// with its status, the server's lifecycle, strict JSON request decoding and
// the internal routes' authentication.
package httpx

import (
	"context"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"
	"go.uber.org/fx"
	"go.uber.org/zap"

	"github.com/parley/parley/internal/errs"
	"github.com/parley/parley/internal/platform"
)

// HeaderPosition carries a log position on every response.
const HeaderPosition = "X-Log-Position"

// NewEcho returns an echo instance whose every error, its own 404 and 405
// included, is rendered as {"error": "..."}.
func NewEcho(log *zap.Logger) *echo.Echo {
	e := echo.New()
	e.HideBanner = true
	e.HidePort = true
	e.HTTPErrorHandler = errorHandler(log)
	e.Use(requestID(log))
	e.Server.ReadHeaderTimeout = 10 * time.Second
	e.Server.IdleTimeout = 120 * time.Second
	return e
}

// Status maps an error to the status code and message a client sees. It is
// the only place where domain errors meet HTTP.
func Status(err error) (int, string) {
	if e, ok := errs.Classified(err); ok {
		return e.Kind.Status(), e.Msg
	}
	var he *echo.HTTPError
	if errors.As(err, &he) {
		msg, ok := he.Message.(string)
		if !ok || msg == "" {
			msg = http.StatusText(he.Code)
		}
		return he.Code, strings.ToLower(msg)
	}
	return http.StatusInternalServerError, "internal error"
}

func errorHandler(log *zap.Logger) echo.HTTPErrorHandler {
	return func(err error, c echo.Context) {
		if c.Response().Committed {
			return
		}
		code, msg := Status(err)
		// The one line about a failed request: with its id, which nginx
		// gave it and the client sees, and without a stack trace (an error
		// says what went wrong; the logger adds none).
		switch {
		case code >= 500 && code != http.StatusServiceUnavailable && code != errs.StatusStorageTimeout:
			log.Error("request failed", zap.String("request_id", RequestID(c)), zap.String("route", c.Path()), zap.Error(err))
		case code >= 500 && errors.Is(err, context.Canceled):
			// The client went away; nothing to act on.
		case code >= 500 && errors.Unwrap(err) != nil:
			log.Warn("storage trouble", zap.String("request_id", RequestID(c)), zap.String("route", c.Path()), zap.Int("status", code), zap.Error(err))
		}
		if c.Request().Method == http.MethodHead {
			_ = c.NoContent(code)
			return
		}
		_ = WriteJSON(c, code, AppendError(nil, msg))
	}
}

// AppendError appends the JSON error body {"error": msg}.
func AppendError(b []byte, msg string) []byte {
	q, _ := json.Marshal(msg) // a string always encodes
	b = append(b, `{"error":`...)
	b = append(b, q...)
	return append(b, '}')
}

var jsonContentType = []string{echo.MIMEApplicationJSON}

// WriteJSON writes an already encoded JSON body.
func WriteJSON(c echo.Context, code int, body []byte) error {
	if !writeHead(c, code, len(body)) {
		return nil
	}
	_, err := c.Response().Write(body)
	return err
}

// writeHead writes a JSON response's status and headers for a body of n
// bytes and reports whether the body is to follow (not for HEAD).
func writeHead(c echo.Context, code, n int) bool {
	h := c.Response().Header()
	// Canonical keys, assigned directly: this runs on every response.
	h["Content-Type"] = jsonContentType
	h["Content-Length"] = []string{strconv.Itoa(n)}
	c.Response().WriteHeader(code)
	return c.Request().Method != http.MethodHead
}

// WriteJSONChunks writes an encoded JSON body given in pieces, one after
// another, without joining them first.
func WriteJSONChunks(c echo.Context, code int, chunks [][]byte) error {
	n := 0
	for _, b := range chunks {
		n += len(b)
	}
	if !writeHead(c, code, n) {
		return nil
	}
	for _, b := range chunks {
		if _, err := c.Response().Write(b); err != nil {
			return err
		}
	}
	return nil
}

// Serve runs e on addr for the lifetime of the app (platform.Serve).
func Serve(lc fx.Lifecycle, e *echo.Echo, addr string, log *zap.Logger) {
	platform.Serve(lc, e.Server, addr, "http server", log, func(ln net.Listener) { e.Listener = ln })
}
