package httpx

import (
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"net/textproto"
	"sync/atomic"
	"time"

	"github.com/labstack/echo/v4"
	"go.uber.org/zap"
)

// HeaderRequestID names a request across nginx, the services and the
// client (SPEC §12).
const HeaderRequestID = "X-Request-ID"

// requestIDKey is the header's canonical key, for direct map access: this
// runs on every request.
var requestIDKey = textproto.CanonicalMIMEHeaderKey(HeaderRequestID)

// requestID takes the request's id from nginx (or any client), when it is
// well formed, or makes one for a request that came without, and returns
// it with the response, where the request's log lines find it
// (RequestID). At LOG_LEVEL=debug every request gets a line. It allocates
// nothing for a request that brings its id: it answers with the request's
// own header value.
func requestID(log *zap.Logger) echo.MiddlewareFunc {
	debug := log.Core().Enabled(zap.DebugLevel)
	ids := newIDSource()
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			if v := c.Request().Header[requestIDKey]; len(v) == 1 && validRequestID(v[0]) {
				c.Response().Header()[requestIDKey] = v
			} else {
				c.Response().Header()[requestIDKey] = []string{ids.next()}
			}
			if !debug {
				return next(c)
			}
			start := time.Now()
			err := next(c)
			status := c.Response().Status
			if err != nil {
				status, _ = Status(err)
			}
			log.Debug("request", zap.String("request_id", RequestID(c)), zap.String("method", c.Request().Method),
				zap.String("route", c.Path()), zap.Int("status", status), zap.Duration("took", time.Since(start)))
			return err
		}
	}
}

// RequestID is the id of the request c serves.
func RequestID(c echo.Context) string {
	if v := c.Response().Header()[requestIDKey]; len(v) > 0 {
		return v[0]
	}
	return ""
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

// idSource makes the ids of requests that came without one: a random
// prefix per process and a counter, 32 hex digits as nginx's are. Unique,
// not secret: an id names a request in the logs.
type idSource struct {
	prefix [8]byte
	n      atomic.Uint64
}

func newIDSource() *idSource {
	s := &idSource{}
	_, _ = rand.Read(s.prefix[:]) // never fails on Linux since Go 1.24
	return s
}

func (s *idSource) next() string {
	var b [16]byte
	copy(b[:8], s.prefix[:])
	binary.BigEndian.PutUint64(b[8:], s.n.Add(1))
	return hex.EncodeToString(b[:])
}
