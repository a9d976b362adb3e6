// Package apitest checks HTTP traffic against Parley's OpenAPI document
// (api.Document(), SPEC §11): a test sends its requests through Transport
// or Client, and every request and every answer is validated against the
// document, so the document and the services cannot drift apart unseen.
// Only tests import it.
//
// The rules, each broken one reported with t.Errorf:
//
//   - a request for a path, or a method of a path, that the document lacks
//     must be answered 404, or 405 with Allow (the web page and /docs/ are
//     not in the document: fetch them with a plain client);
//   - a request the document refuses (a bad parameter, header or body) must
//     be answered 4xx;
//   - every answer must be one the document lists for its operation and
//     status: its body fits the schema (no undocumented field, no missing
//     required one), its required headers are there and fit theirs, and an
//     answer without a body in the document (204, 304, any answer to HEAD)
//     has none.
//
// HEAD is checked as the GET of its path, which the document describes
// once for both. A request body without a Content-Type is checked as JSON,
// which is how the writer reads every body. Tokens are not verified: the
// document's bearer scheme is optional, and whether a token is good is the
// services' business.
package apitest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/gorillamux"

	"github.com/parley/parley/api"
)

// spec is the loaded document and its router, shared by every transport:
// all of it is only read once built.
type spec struct {
	doc    *openapi3.T
	router routers.Router
	// bodies has, for each operation, a copy whose responses describe no
	// headers: openapi3filter.ValidateResponse stops at the first header
	// that is wrong, so headers are checked apart (checkHeaders) and the
	// body with this copy, and an answer gets both reported.
	bodies map[*openapi3.Operation]*openapi3.Operation
}

var (
	loadOnce sync.Once
	loaded   *spec
	errLoad  error
)

// load parses and validates api.Document() once per test binary.
//
// The router is kin-openapi's gorillamux one: with the document's relative
// server URL "/" it matches a request by its path alone, whatever host the
// test server has (the legacy router matches the server URL against the
// request's whole URL, host included, and so needs the URL rewritten).
func load() (*spec, error) {
	loadOnce.Do(func() {
		doc, err := openapi3.NewLoader().LoadFromData(api.Document())
		if err != nil {
			errLoad = fmt.Errorf("loading the OpenAPI document: %w", err)
			return
		}
		if err := doc.Validate(context.Background()); err != nil {
			errLoad = fmt.Errorf("the OpenAPI document is not valid: %w", err)
			return
		}
		r, err := gorillamux.NewRouter(doc)
		if err != nil {
			errLoad = fmt.Errorf("routing the OpenAPI document: %w", err)
			return
		}
		loaded = &spec{doc: doc, router: r, bodies: map[*openapi3.Operation]*openapi3.Operation{}}
		for _, item := range doc.Paths.Map() {
			for _, op := range item.Operations() {
				loaded.bodies[op] = withoutHeaders(op)
			}
		}
	})
	return loaded, errLoad
}

var (
	// schemaOptions keep the schema and the whole value out of messages:
	// the JSON pointer and the reason say where and what.
	schemaOptions  = []openapi3.SchemaValidationOption{openapi3.DisableSchemaErrorDetails()}
	requestOptions = &openapi3filter.Options{
		AuthenticationFunc:      openapi3filter.NoopAuthenticationFunc,
		SkipSettingDefaults:     true,
		MultiError:              true,
		SchemaValidationOptions: schemaOptions,
	}
	responseOptions = &openapi3filter.Options{
		IncludeResponseStatus:   true,
		MultiError:              true,
		SchemaValidationOptions: schemaOptions,
	}
)

// Transport returns a RoundTripper that sends each request with base
// (http.DefaultTransport when nil) and checks it and its answer against
// the OpenAPI document, reporting every mismatch with t.Errorf. Request
// and response bodies are read in full and given back, so callers read
// them as usual.
//
// It is safe for concurrent use. A request made after the test ended (by a
// goroutine that outlived it) is still sent; what it breaks is written to
// standard error, as t can no longer fail.
func Transport(t testing.TB, base http.RoundTripper) http.RoundTripper {
	t.Helper()
	s, err := load()
	if err != nil {
		t.Fatalf("apitest: %v", err)
	}
	if base == nil {
		base = http.DefaultTransport
	}
	tr := &transport{t: t, base: base, spec: s}
	t.Cleanup(tr.end)
	return tr
}

// Client returns an HTTP client whose requests go through Transport(t, nil).
func Client(t testing.TB) *http.Client {
	t.Helper()
	return &http.Client{Transport: Transport(t, nil)}
}

type transport struct {
	t    testing.TB
	base http.RoundTripper
	spec *spec

	mu    sync.Mutex
	ended bool // t's cleanup ran: t.Errorf would panic from now on
}

// end marks the test over.
func (tr *transport) end() {
	tr.mu.Lock()
	tr.ended = true
	tr.mu.Unlock()
}

// report fails the test with a problem, or once it has ended, writes the
// problem to standard error.
func (tr *transport) report(format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	tr.mu.Lock()
	defer tr.mu.Unlock()
	if tr.ended {
		fmt.Fprintf(os.Stderr, "apitest: %s: after the test ended: %s\n", tr.t.Name(), msg)
		return
	}
	tr.t.Errorf("apitest: %s", msg)
}

// exchange is one request as the document sees it.
type exchange struct {
	label   string // "GET /path?query", for messages
	missing string // what the document lacks: "its path", "this method of its path"
	head    bool
	input   *openapi3filter.RequestValidationInput
	reqErr  error // the document refuses the request
}

func (tr *transport) RoundTrip(req *http.Request) (*http.Response, error) {
	body, err := readAll(req.Body)
	if err != nil {
		return nil, fmt.Errorf("apitest: reading the request body: %w", err)
	}
	x := tr.checkRequest(req, body)
	out := req.Clone(req.Context())
	setBody(out, body)
	resp, err := tr.base.RoundTrip(out)
	if err != nil {
		return nil, err
	}
	rbody, err := readAll(resp.Body)
	resp.Body = io.NopCloser(bytes.NewReader(rbody))
	if err != nil {
		return nil, fmt.Errorf("apitest: reading the response body: %w", err)
	}
	switch {
	case x.missing == "":
		tr.checkResponse(x, resp, rbody)
	case resp.StatusCode == http.StatusNotFound:
	case resp.StatusCode == http.StatusMethodNotAllowed && resp.Header.Get("Allow") != "":
	default:
		tr.report("%s: the API document lacks %s, but it was answered %d%s", x.label, x.missing, resp.StatusCode, excerpt(rbody))
	}
	return resp, nil
}

// readAll reads and closes a body, which may be nil.
func readAll(rc io.ReadCloser) ([]byte, error) {
	if rc == nil || rc == http.NoBody {
		return nil, nil
	}
	defer rc.Close()
	return io.ReadAll(rc)
}

// setBody gives r body, readable again as often as the transport needs.
func setBody(r *http.Request, body []byte) {
	if len(body) == 0 {
		r.Body, r.GetBody = http.NoBody, nil
		if r.ContentLength < 0 {
			r.ContentLength = 0
		}
		return
	}
	r.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(body)), nil }
	r.Body, _ = r.GetBody()
	r.ContentLength = int64(len(body))
}

// checkRequest finds the request's operation and validates the request
// against it; for a request the document has no operation for, it says
// what the document lacks.
func (tr *transport) checkRequest(req *http.Request, body []byte) *exchange {
	x := &exchange{label: req.Method + " " + req.URL.RequestURI(), head: req.Method == http.MethodHead}
	v := req.Clone(context.Background())
	v.URL = &url.URL{Path: req.URL.Path, RawPath: req.URL.RawPath, RawQuery: req.URL.RawQuery}
	if x.head {
		v.Method = http.MethodGet
	}
	setBody(v, body)
	if len(body) > 0 && v.Header.Get("Content-Type") == "" {
		v.Header.Set("Content-Type", "application/json")
	}
	route, params, err := tr.spec.router.FindRoute(v)
	if err != nil {
		x.missing = "its path"
		if errors.Is(err, routers.ErrMethodNotAllowed) {
			x.missing = "this method of its path"
		}
		return x
	}
	// gorillamux matches the escaped path and gives parameters as sent.
	for k, p := range params {
		if u, err := url.PathUnescape(p); err == nil {
			params[k] = u
		}
	}
	x.input = &openapi3filter.RequestValidationInput{Request: v, PathParams: params, Route: route, Options: requestOptions}
	x.reqErr = openapi3filter.ValidateRequest(context.Background(), x.input)
	return x
}

// checkResponse validates an answer against the document.
func (tr *transport) checkResponse(x *exchange, resp *http.Response, body []byte) {
	code := resp.StatusCode
	if x.reqErr != nil && (code < 400 || code > 499) {
		tr.report("%s: the API document refuses the request (%s), but it was answered %d", x.label, oneLine(x.reqErr), code)
	}
	op := x.input.Route.Operation
	ref := op.Responses.Status(code)
	if ref == nil || ref.Value == nil {
		tr.report("%s: answered %d, a status the API document does not list for %s %s%s",
			x.label, code, x.input.Request.Method, x.input.Route.Path, excerpt(body))
		return
	}
	problems := checkHeaders(ref.Value, resp.Header)
	switch {
	case x.head || code == http.StatusNotModified:
		// No body to check (openapi3filter skips these answers entirely).
		if len(body) > 0 && x.head {
			problems = append(problems, "a body in answer to HEAD")
		} else if len(body) > 0 {
			problems = append(problems, "a body where the API document has none")
		}
	case len(body) > 0 && len(ref.Value.Content) == 0:
		problems = append(problems, "a body where the API document has none")
	default:
		ri := *x.input
		route := *ri.Route
		route.Operation = tr.spec.bodies[route.Operation]
		ri.Route = &route
		in := &openapi3filter.ResponseValidationInput{
			RequestValidationInput: &ri,
			Status:                 code,
			Header:                 resp.Header,
			Body:                   io.NopCloser(bytes.NewReader(body)),
			Options:                responseOptions,
		}
		if err := openapi3filter.ValidateResponse(context.Background(), in); err != nil {
			problems = append(problems, oneLine(err))
		}
	}
	if len(problems) > 0 {
		tr.report("%s: answered %d, not as the API document says: %s%s", x.label, code, strings.Join(problems, "; "), excerpt(body))
	}
}

// withoutHeaders is a copy of op whose responses describe no headers.
func withoutHeaders(op *openapi3.Operation) *openapi3.Operation {
	c := *op
	c.Responses = openapi3.NewResponses()
	for code, ref := range op.Responses.Map() {
		r := *ref.Value
		r.Headers = nil
		c.Responses.Set(code, &openapi3.ResponseRef{Value: &r})
	}
	return &c
}

// checkHeaders checks that the headers r requires are in h, and that those
// r describes fit their schemas.
func checkHeaders(r *openapi3.Response, h http.Header) []string {
	var problems []string
	names := make([]string, 0, len(r.Headers))
	for name := range r.Headers {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		hv := r.Headers[name].Value
		vals := h.Values(name)
		if len(vals) == 0 {
			if hv != nil && hv.Required {
				problems = append(problems, fmt.Sprintf("response header %q missing", name))
			}
			continue
		}
		if hv == nil || hv.Schema == nil || hv.Schema.Value == nil {
			continue
		}
		s := hv.Schema.Value
		var value any = vals[0]
		if s.Type.Is(openapi3.TypeInteger) || s.Type.Is(openapi3.TypeNumber) {
			f, err := strconv.ParseFloat(vals[0], 64)
			if err != nil {
				problems = append(problems, fmt.Sprintf("response header %q is not a number: %q", name, vals[0]))
				continue
			}
			value = f
		}
		if err := s.VisitJSON(value, schemaOptions...); err != nil {
			problems = append(problems, fmt.Sprintf("response header %q doesn't match schema: %s", name, oneLine(err)))
		}
	}
	return problems
}

// oneLine is an error's message on one line.
func oneLine(err error) string {
	return strings.Join(strings.Fields(err.Error()), " ")
}

// excerpt is the start of a body, to show with a problem.
func excerpt(body []byte) string {
	const max = 300
	if len(body) == 0 {
		return ""
	}
	if len(body) > max {
		return fmt.Sprintf(" (body: %s…)", body[:max])
	}
	return fmt.Sprintf(" (body: %s)", body)
}
