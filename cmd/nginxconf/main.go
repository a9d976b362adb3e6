// Command nginxconf writes Parley's nginx configuration from the template in
// nginx/: for a native run, a prefix directory with nginx.conf and
// parley.conf; with -compose, the file docker compose mounts (limits left as
// ${VARS} for the nginx image to fill from the environment). A native run's
// limits come from nginx.Config's variables, which flags override; -help
// lists both.
package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/parley/parley/internal/platform"
	"github.com/parley/parley/nginx"
)

func main() {
	fs := flag.NewFlagSet("nginxconf", flag.ContinueOnError)
	compose := fs.Bool("compose", false, "print the docker compose template to stdout")
	prefix := fs.String("prefix", "", "native: directory to write nginx.conf and parley.conf into")
	listen := fs.String("listen", "127.0.0.1:8080", "native: address nginx listens on")
	readers := fs.String("readers", "127.0.0.1:8091,127.0.0.1:8092", "native: comma-separated reader addresses")
	writers := fs.String("writers", "127.0.0.1:8081", "native: comma-separated writer addresses")
	maxContent := fs.Int("max-content-bytes", 0, "overrides MAX_CONTENT_BYTES")
	rate := fs.Int("post-rate", 0, "overrides POST_RATE_LIMIT")
	burst := fs.Int("post-burst", 0, "overrides POST_RATE_BURST")
	frameAncestors := fs.String("frame-ancestors", "", "overrides EMBED_FRAME_ANCESTORS")
	workers := fs.String("workers", "auto", "native: worker_processes")
	accessLog := fs.Bool("access-log", false, "log every request")
	static := fs.String("static", "", "native: the repository, whose api/ and web/ nginx serves (default: the one holding the working directory)")
	platform.ParseFlags[nginx.Config](fs, "writes Parley's nginx configuration: -prefix DIR for a native run, -compose for docker compose", os.Args[1:])

	if *compose {
		// Compose leaves the limits as ${VARS} for the nginx image to fill,
		// so this environment's values are neither used nor checked.
		out, err := nginx.Server(nginx.ComposeParams())
		exitOn(err)
		_, err = os.Stdout.Write(out)
		exitOn(err)
		return
	}

	cfg, err := platform.LoadConfig(func(cfg *nginx.Config, c *platform.Checks) {
		// A flag given overrides its variable, before the values are checked.
		fs.Visit(func(f *flag.Flag) {
			switch f.Name {
			case "max-content-bytes":
				cfg.MaxContentBytes = *maxContent
			case "post-rate":
				cfg.PostRateLimit = *rate
			case "post-burst":
				cfg.PostRateBurst = *burst
			case "frame-ancestors":
				cfg.EmbedFrameAncestors = *frameAncestors
			}
		})
		// The writer refuses the same range, so nginx never admits a body it would not.
		c.Check(cfg.MaxContentBytes >= 1 && cfg.MaxContentBytes <= 16<<20, "MAX_CONTENT_BYTES (-max-content-bytes)", "must be between 1 and 16777216")
		c.Check(cfg.PostRateLimit >= 1, "POST_RATE_LIMIT (-post-rate)", "must be at least 1")
		c.Check(cfg.PostRateBurst >= 1, "POST_RATE_BURST (-post-burst)", "must be at least 1 (nginx refuses burst=0)")
		if err := nginx.CheckFrameAncestors(cfg.EmbedFrameAncestors); err != nil {
			c.Check(false, "EMBED_FRAME_ANCESTORS (-frame-ancestors)", strings.TrimPrefix(err.Error(), "EMBED_FRAME_ANCESTORS: "))
		}
	})
	exitOn(err)

	if *prefix == "" {
		exitOn(fmt.Errorf("-prefix or -compose is required"))
	}
	dir, err := filepath.Abs(*prefix)
	exitOn(err)
	if *static == "" {
		*static, err = repository()
		exitOn(err)
	}
	root, err := filepath.Abs(*static)
	exitOn(err)
	p := nginx.Params{
		Listen: *listen, Readers: split(*readers), Writers: split(*writers),
		MaxBody:  strconv.FormatInt(nginx.MaxBody(cfg.MaxContentBytes), 10),
		PostRate: strconv.Itoa(cfg.PostRateLimit), PostBurst: strconv.Itoa(cfg.PostRateBurst),
		Prefix: dir, Workers: *workers, AccessLog: *accessLog, Static: root,
		FrameAncestors: cfg.EmbedFrameAncestors,
	}
	if os.Geteuid() == 0 {
		p.User = "root"
	}
	server, err := nginx.Server(p)
	exitOn(err)
	main, err := nginx.Main(p)
	exitOn(err)
	exitOn(os.MkdirAll(filepath.Join(dir, "tmp"), 0o755))
	exitOn(os.WriteFile(filepath.Join(dir, "parley.conf"), server, 0o644))
	exitOn(os.WriteFile(filepath.Join(dir, "nginx.conf"), main, 0o644))
}

// repository is the first directory holding api/openapi.json, from the
// working directory up.
func repository() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "api", "openapi.json")); err == nil {
			return dir, nil
		}
		up := filepath.Dir(dir)
		if up == dir {
			return "", fmt.Errorf("no api/openapi.json in the working directory or above it: give -static")
		}
		dir = up
	}
}

func split(s string) []string {
	var out []string
	for _, part := range strings.Split(s, ",") {
		if part = strings.TrimSpace(part); part != "" {
			out = append(out, part)
		}
	}
	return out
}

func exitOn(err error) {
	if err != nil {
		fmt.Fprintln(os.Stderr, "nginxconf:", err)
		os.Exit(2)
	}
}
