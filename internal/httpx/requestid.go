package httpx

import (
	"crypto/rand"
	"encoding/hex"
	"time"

	"github.com/labstack/echo/v4"
	"go.uber.org/zap"
)

// HeaderRequestID names a request across nginx, the services and the
// client (SPEC §12).
const HeaderRequestID = "X-Request-ID"

// requestIDKey is where requestID keeps the id in echo's context.
const requestIDKey = "parley.request_id"

// requestID takes the request's id from nginx (or any client), when it is
// well formed, or makes one for a request that came without, keeps it for
// the request's log lines and returns it with the response. At
// LOG_LEVEL=debug every request gets a line; above, the level check is all
// it costs.
func requestID(log *zap.Logger) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			id := c.Request().Header.Get(HeaderRequestID)
			if !validRequestID(id) {
				id = newRequestID()
			}
			c.Set(requestIDKey, id)
			c.Response().Header().Set(HeaderRequestID, id)
			start := time.Now()
			err := next(c)
			if ce := log.Check(zap.DebugLevel, "request"); ce != nil {
				status := c.Response().Status
				if err != nil {
					status, _ = Status(err)
				}
				ce.Write(zap.String("request_id", id), zap.String("method", c.Request().Method), zap.String("route", c.Path()),
					zap.Int("status", status), zap.Duration("took", time.Since(start)))
			}
			return err
		}
	}
}

// RequestID is the id of the request c serves.
func RequestID(c echo.Context) string {
	id, _ := c.Get(requestIDKey).(string)
	return id
}

// validRequestID accepts what nginx passes on: 1 to 128 letters, digits
// and . _ : - (nginx's own ids are 32 hex digits). Anything else, which
// could forge log fields or lines, is replaced.
func validRequestID(id string) bool {
	if id == "" || len(id) > 128 {
		return false
	}
	for i := 0; i < len(id); i++ {
		switch c := id[i]; {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9', c == '.', c == '_', c == ':', c == '-':
		default:
			return false
		}
	}
	return true
}

func newRequestID() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // never fails on Linux since Go 1.24
	return hex.EncodeToString(b[:])
}
