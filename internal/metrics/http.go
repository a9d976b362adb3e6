package metrics

import (
	"maps"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/prometheus/client_golang/prometheus"
)

// Unmatched is the route label of requests no route matched (404s from
// the router): the raw URL is never a label, so scans of random paths make
// one series, not one each.
const Unmatched = "unmatched"

// OtherMethod is the method label of a method outside the standard ones.
const OtherMethod = "OTHER"

// latencyBuckets span a cached read (~100µs) to a write that waited for
// storage (seconds).
var latencyBuckets = []float64{.0001, .00025, .0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10}

// HTTP counts and times the requests an echo server answers, by route
// template (echo's c.Path(), e.g. /v1/topics/:topic_id), method and status.
//
// A request resolves its series from a copy-on-write map read with one
// atomic load: no lock and no allocation per request (the vectors'
// WithLabelValues takes a read lock and hashes the labels, so it runs only
// the first time a route, method and status meet).
type HTTP struct {
	requests *prometheus.CounterVec
	latency  *prometheus.HistogramVec
	known    atomic.Pointer[map[seriesKey]series]
	mu       sync.Mutex // serializes additions to known
}

// seriesKey is what picks a request's series: echo's route path as the
// router left it, the method label and the status.
type seriesKey struct {
	path   string
	method string
	status int
}

type series struct {
	requests prometheus.Counter
	latency  prometheus.Observer
}

// NewHTTP registers the request families on reg:
// parley_http_requests_total{route,method,status} and
// parley_http_request_duration_seconds{route,method}.
func NewHTTP(reg prometheus.Registerer) (*HTTP, error) {
	h := &HTTP{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: Namespace, Subsystem: "http", Name: "requests_total",
			Help: "HTTP requests answered, by route template (\"unmatched\" when no route matched), method and status code.",
		}, []string{"route", "method", "status"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: Namespace, Subsystem: "http", Name: "request_duration_seconds",
			Help:    "Time from routing a request to its answer being written, by route template and method.",
			Buckets: latencyBuckets,
		}, []string{"route", "method"}),
	}
	h.known.Store(&map[seriesKey]series{})
	if err := Register(reg, h.requests, h.latency); err != nil {
		return nil, err
	}
	return h, nil
}

// Middleware counts and times every request. Use it first (e.Use), so that
// it sees every route and every other middleware. An error a handler
// returns is rendered here, by the echo's error handler, so that its status
// is the one counted; the middleware then returns nil.
func (h *HTTP) Middleware(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		start := time.Now()
		if err := next(c); err != nil {
			c.Error(err)
		}
		s := h.series(c, seriesKey{path: c.Path(), method: methodLabel(c.Request().Method), status: c.Response().Status})
		s.requests.Inc()
		s.latency.Observe(time.Since(start).Seconds())
		return nil
	}
}

func (h *HTTP) series(c echo.Context, k seriesKey) series {
	if s, ok := (*h.known.Load())[k]; ok {
		return s
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	known := *h.known.Load()
	if s, ok := known[k]; ok {
		return s
	}
	route := routeLabel(c.Echo(), k.path)
	s := series{
		requests: h.requests.WithLabelValues(route, k.method, strconv.Itoa(k.status)),
		latency:  h.latency.WithLabelValues(route, k.method),
	}
	next := maps.Clone(known)
	next[k] = s
	h.known.Store(&next)
	return s
}

// routeLabel is path if a route was registered with it, else Unmatched.
// For a path no route matches, echo leaves c.Path() empty or at the
// nearest node of its tree, which is no route of ours; a known path with
// another method (405) keeps its route.
func routeLabel(e *echo.Echo, path string) string {
	for _, r := range e.Routes() {
		if r.Path == path {
			return path
		}
	}
	return Unmatched
}

// methodLabel is the method, or OtherMethod for one a client made up: the
// label's values stay a fixed few.
func methodLabel(m string) string {
	switch m {
	case http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch,
		http.MethodDelete, http.MethodOptions:
		return m
	}
	return OtherMethod
}
