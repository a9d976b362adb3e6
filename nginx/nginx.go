// Package nginx renders Parley's nginx configuration from one template, for
// a native run (any number of readers on local ports) and for docker
// compose (service names, re-resolved; limits from the environment).
package nginx

import (
	"bytes"
	"embed"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"text/template"

	"github.com/parley/parley/internal/comment"
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
	Static    string   // the directory holding api/openapi.json and web/ (the repository, or compose's mount)
	User      string   // native: the user nginx's workers run as, when it starts as root
	AccessLog bool
	// FrameAncestors is the CSP frame-ancestors source list of the embed's
	// frame page (/embed): the sites that may show it; "*" (any site) when
	// empty. Every other page may be framed by none.
	FrameAncestors string
}

// Config is what cmd/nginxconf reads from the environment (its flags may
// override each value). MAX_CONTENT_BYTES is the writer's variable, read
// here to size client_max_body_size; its default must be the writer's.
type Config struct {
	MaxContentBytes int `env:"MAX_CONTENT_BYTES" envDefault:"65536" help:"the writer's content limit; nginx's 'client_max_body_size' is 6× that + 8192"`
	PostRateLimit   int `env:"POST_RATE_LIMIT" envDefault:"1000" help:"POSTs per second per client address (429 beyond the burst)"`
	PostRateBurst   int `env:"POST_RATE_BURST" envDefault:"2000" help:"POSTs let through at once above the rate"`
	// EmbedFrameAncestors names the sites whose pages may frame the embed.
	EmbedFrameAncestors string `env:"EMBED_FRAME_ANCESTORS" envDefault:"*" help:"the sites that may show the embed (/embed), as a CSP frame-ancestors source list: '*' for any, or e.g. 'https://blog.example https://*.example.org'"`
}

// MaxBody is nginx's client_max_body_size for the writer's content limit:
// the writer's own body limit, comment.MaxBodyBytes, so that a body nginx
// lets through is one the writer reads.
func MaxBody(maxContentBytes int) int64 { return comment.MaxBodyBytes(maxContentBytes) }

// Server renders the http-level part: limits, upstreams and the server.
func Server(p Params) ([]byte, error) {
	if len(p.Readers) == 0 || len(p.Writers) == 0 {
		return nil, errors.New("nginx: need at least one reader and one writer")
	}
	if p.Static == "" {
		return nil, errors.New("nginx: need the directory of the static files")
	}
	if p.FrameAncestors == "" {
		p.FrameAncestors = "*"
	}
	if err := CheckFrameAncestors(p.FrameAncestors); err != nil {
		return nil, err
	}
	// What goes into the header is the checked sources, one space apart:
	// no other whitespace (a newline would end the header) reaches it.
	p.FrameAncestors = strings.Join(strings.Fields(p.FrameAncestors), " ")
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

// ComposeStatic is where docker-compose.yml mounts the repository's api/
// and web/ directories in the nginx container.
const ComposeStatic = "/usr/share/parley"

// ComposeParams are the parameters of the compose file: service names, and
// limits as ${VARS} that the nginx image fills from its environment at start.
func ComposeParams() Params {
	return Params{
		Compose: true, Listen: "8080", Readers: []string{"reader:8091"}, Writers: []string{"writer:8081"},
		MaxBody: "${CLIENT_MAX_BODY_SIZE}", PostRate: "${POST_RATE_LIMIT}", PostBurst: "${POST_RATE_BURST}",
		Static: ComposeStatic, AccessLog: true,
	}
}

// frameSource is one source of a CSP frame-ancestors list: *, 'self',
// 'none', a scheme ("https:"), or a host with an optional scheme, wildcard
// subdomain, port and path. Nothing that could end the header or the
// directive (quotes, ";", ",", "$", braces, spaces) gets through.
var frameSource = regexp.MustCompile(`^(\*|'self'|'none'|[a-z][a-z0-9+.-]*:|([a-z][a-z0-9+.-]*://)?(\*\.)?[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*(:([0-9]+|\*))?(/[A-Za-z0-9._~%!&()*+=:@/-]*)?)$`)

// CheckFrameAncestors checks a frame-ancestors source list
// (EMBED_FRAME_ANCESTORS) before it goes into a header.
func CheckFrameAncestors(list string) error {
	for _, r := range list {
		if r != ' ' && (r < '!' || r > '~') {
			return fmt.Errorf("EMBED_FRAME_ANCESTORS: sources are separated by spaces and made of printable ASCII; %q is neither", r)
		}
	}
	fields := strings.Fields(list)
	if len(fields) == 0 {
		return errors.New("EMBED_FRAME_ANCESTORS: empty; '*' allows every site, 'none' none")
	}
	for _, f := range fields {
		if !frameSource.MatchString(f) {
			return fmt.Errorf("EMBED_FRAME_ANCESTORS: %q is not a frame-ancestors source (e.g. https://blog.example, https://*.example.org, *)", f)
		}
		if f == "'none'" && len(fields) > 1 {
			return errors.New("EMBED_FRAME_ANCESTORS: 'none' must stand alone")
		}
	}
	return nil
}
