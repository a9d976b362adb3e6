package metrics_test

import (
	"errors"
	"maps"
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"

	"github.com/labstack/echo/v4"
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"go.uber.org/zap"

	"github.com/parley/parley/internal/errs"
	"github.com/parley/parley/internal/httpx"
	"github.com/parley/parley/internal/metrics"
)

// newServer is an echo as the services make it (httpx's error handler),
// with the middleware first and a few routes.
func newServer(t testing.TB) (*echo.Echo, *prometheus.Registry) {
	t.Helper()
	reg := prometheus.NewRegistry()
	h, err := metrics.NewHTTP(reg)
	if err != nil {
		t.Fatal(err)
	}
	e := httpx.NewEcho(zap.NewNop())
	e.Use(h.Middleware)
	e.Match([]string{http.MethodGet, http.MethodHead}, "/topic_comments", func(c echo.Context) error {
		return c.String(http.StatusOK, "[]")
	})
	e.GET("/v1/topics/:topic_id", func(c echo.Context) error {
		return httpx.WriteJSON(c, http.StatusOK, []byte(`{}`))
	})
	e.POST("/post_comment", func(c echo.Context) error { return errs.Invalid.New("content is required") })
	e.GET("/unavailable", func(c echo.Context) error { return errs.Unavailable.Wrap("loading", nil) })
	e.GET("/bug", func(c echo.Context) error { return errors.New("a bug") })
	return e, reg
}

func TestMiddlewareLabels(t *testing.T) {
	for _, tc := range []struct {
		name, method, target string
		status               int
		route, methodLabel   string
	}{
		{"matched route", http.MethodGet, "/topic_comments?topic_id=x", 200, "/topic_comments", "GET"},
		{"HEAD of a route", http.MethodHead, "/topic_comments", 200, "/topic_comments", "HEAD"},
		{"template, not the URL", http.MethodGet, "/v1/topics/9b2e0000-0000-0000-0000-000000000000", 200, "/v1/topics/:topic_id", "GET"},
		{"unknown route", http.MethodGet, "/no/such/path", 404, metrics.Unmatched, "GET"},
		{"another unknown route", http.MethodGet, "/metrics", 404, metrics.Unmatched, "GET"},
		{"root", http.MethodGet, "/", 404, metrics.Unmatched, "GET"},
		{"a route's prefix", http.MethodGet, "/v1/topics", 404, metrics.Unmatched, "GET"},
		{"below a route", http.MethodGet, "/bug/more", 404, metrics.Unmatched, "GET"},
		{"a route and more", http.MethodGet, "/topic_comments_x", 404, metrics.Unmatched, "GET"},
		{"known path, other method", http.MethodDelete, "/topic_comments", 405, "/topic_comments", "DELETE"},
		{"made-up method", "BREW", "/topic_comments", 405, "/topic_comments", metrics.OtherMethod},
		{"4xx from a handler's error", http.MethodPost, "/post_comment", 400, "/post_comment", "POST"},
		{"503 from a handler's error", http.MethodGet, "/unavailable", 503, "/unavailable", "GET"},
		{"500 from an unclassified error", http.MethodGet, "/bug", 500, "/bug", "GET"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e, reg := newServer(t)
			for range 3 {
				rec := httptest.NewRecorder()
				e.ServeHTTP(rec, httptest.NewRequest(tc.method, tc.target, nil))
				if rec.Code != tc.status {
					t.Fatalf("status %d, want %d", rec.Code, tc.status)
				}
			}
			key := tc.route + " " + tc.methodLabel
			if got, want := counts(t, reg), (map[string]float64{key + " " + strconv.Itoa(tc.status): 3}); !maps.Equal(got, want) {
				t.Errorf("parley_http_requests_total %v, want %v", got, want)
			}
			if got, want := histCounts(t, reg), (map[string]uint64{key: 3}); !maps.Equal(got, want) {
				t.Errorf("parley_http_request_duration_seconds observations %v, want %v", got, want)
			}
		})
	}
}

// TestMiddlewareSeries: requests to many paths and of many methods make a
// few series, and routes keep their own.
func TestMiddlewareSeries(t *testing.T) {
	e, reg := newServer(t)
	for i := range 50 {
		for _, m := range []string{"GET", "FOO" + strconv.Itoa(i)} {
			e.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(m, "/random/"+strconv.Itoa(i), nil))
			e.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(m, "/v1/topics/"+strconv.Itoa(i), nil))
		}
	}
	want := map[string]float64{
		"unmatched GET 404": 50, "unmatched OTHER 404": 50,
		"/v1/topics/:topic_id GET 200": 50, "/v1/topics/:topic_id OTHER 405": 50,
	}
	if got := counts(t, reg); !maps.Equal(got, want) {
		t.Errorf("parley_http_requests_total %v, want %v", got, want)
	}
}

// BenchmarkMiddleware is the cost the middleware adds to a request
// (compare with the no-metrics case), in parallel as requests come.
func BenchmarkMiddleware(b *testing.B) {
	for _, on := range []bool{false, true} {
		name := "without"
		if on {
			name = "with"
		}
		b.Run(name, func(b *testing.B) {
			e := httpx.NewEcho(zap.NewNop())
			if on {
				h, err := metrics.NewHTTP(prometheus.NewRegistry())
				if err != nil {
					b.Fatal(err)
				}
				e.Use(h.Middleware)
			}
			e.GET("/v1/topics/:topic_id", func(c echo.Context) error { return c.NoContent(http.StatusOK) })
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				req := httptest.NewRequest(http.MethodGet, "/v1/topics/abc", nil)
				w := discard{h: http.Header{}}
				for pb.Next() {
					e.ServeHTTP(&w, req)
				}
			})
		})
	}
}

// discard is a ResponseWriter that keeps nothing.
type discard struct{ h http.Header }

func (d *discard) Header() http.Header         { return d.h }
func (d *discard) Write(b []byte) (int, error) { return len(b), nil }
func (d *discard) WriteHeader(int)             {}

func family(t testing.TB, reg *prometheus.Registry, name string) []*dto.Metric {
	t.Helper()
	fams, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range fams {
		if f.GetName() == name {
			return f.GetMetric()
		}
	}
	return nil
}

func labels(ls []*dto.LabelPair) map[string]string {
	out := map[string]string{}
	for _, l := range ls {
		out[l.GetName()] = l.GetValue()
	}
	return out
}

// counts is parley_http_requests_total by "route method status".
func counts(t testing.TB, reg *prometheus.Registry) map[string]float64 {
	t.Helper()
	out := map[string]float64{}
	for _, m := range family(t, reg, "parley_http_requests_total") {
		l := labels(m.GetLabel())
		out[l["route"]+" "+l["method"]+" "+l["status"]] += m.GetCounter().GetValue()
	}
	return out
}

// histCounts is the number of latency observations by "route method".
func histCounts(t testing.TB, reg *prometheus.Registry) map[string]uint64 {
	t.Helper()
	out := map[string]uint64{}
	for _, m := range family(t, reg, "parley_http_request_duration_seconds") {
		l := labels(m.GetLabel())
		out[l["route"]+" "+l["method"]] += m.GetHistogram().GetSampleCount()
	}
	return out
}
