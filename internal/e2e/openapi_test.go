package e2e

import (
	"context"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/labstack/echo/v4"

	"github.com/parley/parley/api"
	"github.com/parley/parley/internal/reader"
	"github.com/parley/parley/internal/writer"
)

// apiDocument is the OpenAPI document nginx serves at /openapi.json.
func apiDocument(t *testing.T) *openapi3.T {
	t.Helper()
	doc, err := openapi3.NewLoader().LoadFromData(api.Document())
	if err != nil {
		t.Fatal(err)
	}
	if err := doc.Validate(context.Background()); err != nil {
		t.Fatal(err)
	}
	return doc
}

// notInDocument are the paths the document does not describe as API
// routes, or that no service registers (nginx serves them itself).
var notInDocument = []string{"/openapi.json", "/docs/"}

// service is the routes one service registers, as "METHOD /path/{param}".
type service struct {
	name   string
	routes map[string]bool
	// serves tells whether nginx sends a method to this service.
	serves func(method string) bool
}

func isRead(method string) bool { return method == http.MethodGet || method == http.MethodHead }

// services are the reader's and the writer's public routes, registered as
// the services register them. The operational routes (/internal/…,
// /healthz, /readyz) are left out, as nginx never routes them, and so are
// echo's own entries (a not-found route is not a method).
func services() []service {
	public := func(register func(*echo.Echo)) map[string]bool {
		e := echo.New()
		register(e)
		routes := map[string]bool{}
		for _, r := range e.Routes() {
			if !slices.Contains(httpMethods, r.Method) || strings.HasPrefix(r.Path, "/internal/") ||
				r.Path == "/healthz" || r.Path == "/readyz" {
				continue
			}
			routes[r.Method+" "+echoParam.ReplaceAllString(r.Path, "{$1}")] = true
		}
		return routes
	}
	return []service{
		{"reader", public(func(e *echo.Echo) { (&reader.Handlers{}).Register(e) }), isRead},
		{"writer", public(func(e *echo.Echo) { (&writer.Handlers{}).Register(e) }), func(m string) bool { return !isRead(m) }},
	}
}

var (
	httpMethods = []string{http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut,
		http.MethodPatch, http.MethodDelete, http.MethodOptions, http.MethodTrace, http.MethodConnect}
	echoParam = regexp.MustCompile(`:([A-Za-z0-9_]+)`)
)

// operations are the document's operations, "METHOD /path/{param}".
func operations(doc *openapi3.T) map[string]bool {
	ops := map[string]bool{}
	for path, item := range doc.Paths.Map() {
		for method := range item.Operations() {
			ops[method+" "+path] = true
		}
	}
	return ops
}

// TestEveryRouteDocumented: the OpenAPI document and the services agree on
// the public routes (SPEC §11). Every route the reader or the writer
// registers is an operation of the document (HEAD is documented by its
// path's GET), and every operation of the document is registered by the
// service nginx sends its method to, GETs with HEAD, so that neither side
// has a route the other lacks.
func TestEveryRouteDocumented(t *testing.T) {
	ops := operations(apiDocument(t))
	svcs := services()
	t.Run("registered routes are documented", func(t *testing.T) {
		for _, s := range svcs {
			for _, r := range sortedKeys(s.routes) {
				method, path, _ := strings.Cut(r, " ")
				if ops[r] || (method == http.MethodHead && ops[http.MethodGet+" "+path]) {
					continue
				}
				t.Errorf("the %s registers %s, which api/openapi.yaml does not document", s.name, r)
			}
		}
	})
	t.Run("documented routes are registered", func(t *testing.T) {
		for _, op := range sortedKeys(ops) {
			method, path, _ := strings.Cut(op, " ")
			if slices.Contains(notInDocument, path) {
				continue
			}
			want := []string{method}
			if method == http.MethodGet {
				want = append(want, http.MethodHead)
			}
			for _, s := range svcs {
				if !s.serves(method) {
					continue
				}
				for _, m := range want {
					if !s.routes[m+" "+path] {
						t.Errorf("api/openapi.yaml documents %s %s, but the %s (which nginx sends %s to) does not register %s %s",
							method, path, s.name, m, m, path)
					}
				}
			}
		}
	})
}

// TestEveryDocumentedPathServed: every path of the document, but those
// nginx serves itself, is a path some service registers.
func TestEveryDocumentedPathServed(t *testing.T) {
	doc := apiDocument(t)
	paths := map[string]bool{}
	for _, s := range services() {
		for r := range s.routes {
			_, path, _ := strings.Cut(r, " ")
			paths[path] = true
		}
	}
	for _, path := range doc.Paths.InMatchingOrder() {
		if !slices.Contains(notInDocument, path) && !paths[path] {
			t.Errorf("api/openapi.yaml documents %s, which no service registers", path)
		}
	}
}

func sortedKeys(m map[string]bool) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
