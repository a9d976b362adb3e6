package e2e

import (
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/parley/parley/internal/platform"
	"github.com/parley/parley/internal/procs"
	"github.com/parley/parley/internal/reader"
	"github.com/parley/parley/internal/writer"
	"github.com/parley/parley/nginx"
)

// No Docker engine runs where the tests do, so these tests check what can
// be checked without one: that docker-compose.yml, the Dockerfile, the nginx
// template mounted in compose and the services' configuration agree.

type composeFile struct {
	Services map[string]struct {
		Image       string            `yaml:"image"`
		Build       any               `yaml:"build"`
		Command     []string          `yaml:"command"`
		Environment map[string]string `yaml:"environment"`
		Ports       []string          `yaml:"ports"`
		Volumes     []string          `yaml:"volumes"`
		DependsOn   any               `yaml:"depends_on"`
		Healthcheck map[string]any    `yaml:"healthcheck"`
		Container   string            `yaml:"container_name"`
	} `yaml:"services"`
	Volumes map[string]any `yaml:"volumes"`
}

func readRepoFile(t *testing.T, name string) []byte {
	t.Helper()
	root, err := procs.ModuleRoot()
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(root, name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func loadCompose(t *testing.T) composeFile {
	t.Helper()
	var c composeFile
	if err := yaml.Unmarshal(readRepoFile(t, "docker-compose.yml"), &c); err != nil {
		t.Fatalf("docker-compose.yml: %v", err)
	}
	return c
}

// composeDefault is the value of "${NAME:-default}", or the literal.
func composeDefault(v string) string {
	if m := regexp.MustCompile(`^\$\{[A-Z_]+:-(.*)\}$`).FindStringSubmatch(v); m != nil {
		return m[1]
	}
	return v
}

func TestComposeServices(t *testing.T) {
	c := loadCompose(t)
	for _, name := range []string{"postgres", "writer", "reader", "nginx"} {
		if _, ok := c.Services[name]; !ok {
			t.Fatalf("no %s service", name)
		}
	}
	pg := c.Services["postgres"]
	if pg.Healthcheck == nil || len(pg.Volumes) == 0 || c.Volumes == nil {
		t.Error("postgres needs a healthcheck and a named volume")
	}
	w, r, n := c.Services["writer"], c.Services["reader"], c.Services["nginx"]
	if w.Build == nil || w.Image == "" || r.Image != w.Image {
		t.Errorf("writer builds the image (%q) the reader runs (%q)", w.Image, r.Image)
	}
	if len(r.Ports) != 0 || r.Container != "" {
		t.Error("reader must publish no port and have no container_name, or --scale cannot run several")
	}
	if len(n.Ports) != 1 || !strings.HasPrefix(n.Ports[0], "8080:") {
		t.Errorf("nginx ports %v, want 8080 published", n.Ports)
	}
	if len(w.Ports) != 0 || len(pg.Ports) != 0 {
		t.Error("only nginx is public")
	}
	if !strings.Contains(w.Command[0], "writer") || !strings.Contains(r.Command[0], "reader") {
		t.Errorf("commands %v %v", w.Command, r.Command)
	}

	// Every knob of each service is passed through.
	for svc, cfg := range map[string]reflect.Type{"writer": reflect.TypeFor[writer.Config](), "reader": reflect.TypeFor[reader.Config]()} {
		env := c.Services[svc].Environment
		for _, name := range platform.EnvVars(cfg) {
			if _, ok := env[name]; !ok {
				t.Errorf("%s: %s is not in its environment", svc, name)
			}
		}
	}
	// Addresses agree: services listen where the others look for them.
	if w.Environment["LISTEN_ADDR"] != "0.0.0.0:8081" || r.Environment["LISTEN_ADDR"] != "0.0.0.0:8091" {
		t.Errorf("listen addresses %q %q", w.Environment["LISTEN_ADDR"], r.Environment["LISTEN_ADDR"])
	}
	// The writer listens beyond loopback there: the token must be given,
	// and both services get the same one.
	for _, svc := range []string{"writer", "reader"} {
		if tok := c.Services[svc].Environment["INTERNAL_TOKEN"]; !strings.HasPrefix(tok, "${INTERNAL_TOKEN:?") {
			t.Errorf("%s INTERNAL_TOKEN %q: compose must refuse to start without one", svc, tok)
		}
	}
	if r.Environment["WRITER_URL"] != "http://writer:8081" {
		t.Errorf("reader WRITER_URL %q", r.Environment["WRITER_URL"])
	}
	for _, svc := range []string{"writer", "reader"} {
		if u := c.Services[svc].Environment["DATABASE_URL"]; !strings.Contains(u, "@postgres:5432/") {
			t.Errorf("%s DATABASE_URL %q does not point at the postgres service", svc, u)
		}
	}
	// nginx's body limit agrees with the writer's content limit.
	maxContent, err := strconv.Atoi(composeDefault(w.Environment["MAX_CONTENT_BYTES"]))
	if err != nil {
		t.Fatal(err)
	}
	if got, want := composeDefault(n.Environment["CLIENT_MAX_BODY_SIZE"]), strconv.FormatInt(nginx.MaxBody(maxContent), 10); got != want {
		t.Errorf("CLIENT_MAX_BODY_SIZE %s, want %s for MAX_CONTENT_BYTES %d", got, want, maxContent)
	}
	if (writer.Config{MaxContentBytes: maxContent}).MaxBodyBytes() != nginx.MaxBody(maxContent) {
		t.Error("nginx.MaxBody and the writer's body limit disagree")
	}
}

// TestComposeNginxTemplate: the file compose mounts is the one the template
// renders, its upstreams are the compose services on their ports, and every
// ${VAR} in it is set in the nginx service's environment.
func TestComposeNginxTemplate(t *testing.T) {
	c := loadCompose(t)
	n := c.Services["nginx"]
	mounted := ""
	for _, v := range n.Volumes {
		parts := strings.Split(v, ":")
		if len(parts) >= 2 && parts[1] == "/etc/nginx/templates/default.conf.template" {
			mounted = strings.TrimPrefix(parts[0], "./")
		}
	}
	if mounted == "" {
		t.Fatal("nginx does not mount the template into /etc/nginx/templates")
	}
	want, err := nginx.Server(nginx.ComposeParams())
	if err != nil {
		t.Fatal(err)
	}
	got := readRepoFile(t, mounted)
	if string(got) != string(want) {
		t.Fatalf("%s is stale: run `go run ./cmd/nginxconf -compose > %s`", mounted, mounted)
	}
	text := string(got)
	for _, server := range []string{"server reader:8091 ", "server writer:8081 "} {
		if !strings.Contains(text, server) {
			t.Errorf("template lacks %q", server)
		}
	}
	for _, m := range regexp.MustCompile(`\$\{([A-Z_]+)\}`).FindAllStringSubmatch(text, -1) {
		if _, ok := n.Environment[m[1]]; !ok {
			t.Errorf("template uses ${%s}, which the nginx service does not set", m[1])
		}
	}
	// The image must support `resolve` in upstream servers (nginx ≥ 1.27.3).
	if m := regexp.MustCompile(`^nginx:1\.(\d+)`).FindStringSubmatch(n.Image); m == nil {
		t.Errorf("nginx image %q: pin a 1.x version", n.Image)
	} else if minor, _ := strconv.Atoi(m[1]); minor < 27 {
		t.Errorf("nginx image %q is older than 1.27, which `resolve` needs", n.Image)
	}
}

// TestDockerfile: multi-stage, static binaries of both services, a non-root
// runtime, and the Go version go.mod asks for.
func TestDockerfile(t *testing.T) {
	df := string(readRepoFile(t, "Dockerfile"))
	gomod := string(readRepoFile(t, "go.mod"))
	goVersion := regexp.MustCompile(`(?m)^go (\d+\.\d+)`).FindStringSubmatch(gomod)
	froms := regexp.MustCompile(`(?m)^FROM (\S+)`).FindAllStringSubmatch(df, -1)
	if len(froms) < 2 {
		t.Fatal("not a multi-stage build")
	}
	if goVersion == nil || !strings.HasPrefix(froms[0][1], "golang:"+goVersion[1]) {
		t.Errorf("build stage %s, go.mod wants go %v", froms[0][1], goVersion)
	}
	for _, want := range []string{"CGO_ENABLED=0", "./cmd/writer", "./cmd/reader", "USER nonroot"} {
		if !strings.Contains(df, want) {
			t.Errorf("Dockerfile lacks %q", want)
		}
	}
	if !strings.Contains(froms[len(froms)-1][1], "nonroot") {
		t.Errorf("runtime image %s is not a non-root one", froms[len(froms)-1][1])
	}
}

// TestNativeNginxConfig: `nginx -t` accepts the native rendering for any
// number of readers.
func TestNativeNginxConfig(t *testing.T) {
	ngx := nginxBin(t)
	for _, readers := range [][]string{{"127.0.0.1:8091"}, {"127.0.0.1:8091", "127.0.0.1:8092"}, {"127.0.0.1:8091", "127.0.0.1:8092", "127.0.0.1:8093", "127.0.0.1:8094", "127.0.0.1:8095"}} {
		dir := t.TempDir()
		p := nginx.Params{Listen: "127.0.0.1:8080", Readers: readers, Writers: []string{"127.0.0.1:8081"},
			MaxBody: "401408", PostRate: "1000", PostBurst: "2000", Prefix: dir, Static: dir}
		server, err := nginx.Server(p)
		if err != nil {
			t.Fatal(err)
		}
		main, err := nginx.Main(p)
		if err != nil {
			t.Fatal(err)
		}
		_ = os.MkdirAll(filepath.Join(dir, "tmp"), 0o755)
		_ = os.WriteFile(filepath.Join(dir, "parley.conf"), server, 0o644)
		_ = os.WriteFile(filepath.Join(dir, "nginx.conf"), main, 0o644)
		if out, err := runNginxTest(ngx, dir); err != nil {
			t.Fatalf("%d readers: nginx -t: %v\n%s", len(readers), err, out)
		}
		if strings.Count(string(server), "server 127.0.0.1:809") != 2*len(readers) {
			t.Errorf("%d readers: not every reader is in both read upstreams", len(readers))
		}
	}
}
