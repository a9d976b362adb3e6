// Package nginx renders Parley's nginx configuration from one template, for
// a native run (any number of readers on local ports) and for docker
// compose (service names, re-resolved; limits from the environment).
package nginx

import (
	"bytes"
	"embed"
	"errors"
	"text/template"
)

//go:embed parley.conf.tmpl nginx.conf.tmpl
var files embed.FS

var tmpl = template.Must(template.ParseFS(files, "*.tmpl"))

// Params fill the templates.
type Params struct {
	Compose   bool     // render for docker compose
	Listen    string   // "127.0.0.1:8080", or "8080" in compose
	Readers   []string // host:port of each reader (compose: the service name)
	Writers   []string // host:port of each writer
	MaxBody   string   // client_max_body_size
	PostRate  string   // POSTs per second per client address
	PostBurst string   // POSTs above the rate let through at once
	Prefix    string   // native: directory for pid, logs and temp files
	Workers   string   // native: worker_processes
	AccessLog bool
}

// MaxBody is the writer's body limit for a content limit: content at its
// limit may grow six-fold as \u00XX escapes, plus room for the other fields.
// It must agree with writer.Config.MaxBodyBytes.
func MaxBody(maxContentBytes int) int64 { return int64(maxContentBytes)*6 + 8192 }

// Server renders the http-level part: limits, upstreams and the server.
func Server(p Params) ([]byte, error) {
	if len(p.Readers) == 0 || len(p.Writers) == 0 {
		return nil, errors.New("nginx: need at least one reader and one writer")
	}
	var b bytes.Buffer
	err := tmpl.ExecuteTemplate(&b, "parley.conf.tmpl", p)
	return b.Bytes(), err
}

// Main renders the main nginx.conf of a native run, which includes
// Prefix/parley.conf.
func Main(p Params) ([]byte, error) {
	if p.Prefix == "" {
		return nil, errors.New("nginx: a native run needs a prefix directory")
	}
	if p.Workers == "" {
		p.Workers = "auto"
	}
	var b bytes.Buffer
	err := tmpl.ExecuteTemplate(&b, "nginx.conf.tmpl", p)
	return b.Bytes(), err
}

// ComposeParams are the parameters of the compose file: service names, and
// limits as ${VARS} that the nginx image fills from its environment at start.
func ComposeParams() Params {
	return Params{
		Compose: true, Listen: "8080", Readers: []string{"reader:8091"}, Writers: []string{"writer:8081"},
		MaxBody: "${CLIENT_MAX_BODY_SIZE}", PostRate: "${POST_RATE_LIMIT}", PostBurst: "${POST_RATE_BURST}",
	}
}
