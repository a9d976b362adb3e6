package reader

import (
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"

	"github.com/parley/parley/internal/httpx"
	"github.com/parley/parley/internal/metrics"
	"github.com/parley/parley/internal/platform"
)

// discardWriter is a ResponseWriter that keeps the status and the byte
// count and reuses its header map, so that a benchmark measures the
// handler, not the recorder.
type discardWriter struct {
	h      http.Header
	status int
	n      int
}

func (w *discardWriter) Header() http.Header { return w.h }
func (w *discardWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
}

func (w *discardWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	w.n += len(b)
	return len(b), nil
}

func (w *discardWriter) reset() {
	clear(w.h)
	w.status, w.n = 0, 0
}

// BenchmarkServeTopicPage is one GET of the mixed benchmark's shape (a
// 20-comment page of a 25-comment topic, so with a Link to the next page)
// through the reader's whole echo stack: the request id, metrics and
// position middleware, the handler, the page cache, view counting. "static"
// is the bench's read ceiling's handler (bench/main.go, with -headers)
// writing the same body, for the difference. Neither counts net/http's own
// reading and writing, which both pay alike.
func BenchmarkServeTopicPage(b *testing.B) {
	p := benchProj(b)
	l := newLog()
	topic := benchTopic(1)
	createTopic(l, topic, benchPaths(25, "root"), benchText(140))
	benchApply(b, p, l)
	views, err := NewViewCounter(ViewCounterConfig{WriterURL: "http://127.0.0.1:1", MaxPending: 1 << 20}, zap.NewNop())
	if err != nil {
		b.Fatal(err)
	}
	h := NewHandlers(p, nil, views, nil, Config{ViewCounting: true}, platform.NewDrain(0))
	e := httpx.NewEcho(zap.NewNop())
	m, err := metrics.NewHTTP(prometheus.NewRegistry())
	if err != nil {
		b.Fatal(err)
	}
	e.Use(m.Middleware)
	h.Register(e)

	req := httptest.NewRequest(http.MethodGet, "/topic_comments?limit=20&topic_id="+topic.String(), nil)
	req.Header.Set("X-Request-Id", "52b8b2a95847d5840000000000000001") // nginx's
	w := &discardWriter{h: http.Header{}}
	e.ServeHTTP(w, req)
	if w.status != http.StatusOK || w.h.Get("Link") == "" {
		b.Fatalf("status %d, Link %q", w.status, w.h.Get("Link"))
	}
	body := make([]byte, w.n)
	static := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Content-Length", strconv.Itoa(len(body)))
		w.Header().Set("Etag", `"v1234567"`)
		w.Header().Set("X-Log-Position", "1234567")
		w.Header().Set("X-Request-Id", "52b8b2a95847d5840000000000000001")
		w.Header().Set("Link", `</topic_comments?after=0%2F19&limit=20&parent_path=0&topic_id=0f8fad5b-d9cb-469f-a165-70867728950e>; rel="next"`)
		_, _ = w.Write(body)
	})
	for _, c := range []struct {
		name string
		h    http.Handler
	}{{"reader", e}, {"static", static}} {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				w.reset()
				c.h.ServeHTTP(w, req)
			}
			if w.status != http.StatusOK {
				b.Fatalf("status %d", w.status)
			}
		})
	}
}
