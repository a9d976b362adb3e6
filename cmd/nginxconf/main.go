// Command nginxconf writes Parley's nginx configuration from the template in
// nginx/: for a native run, a prefix directory with nginx.conf and
// parley.conf; with -compose, the file docker compose mounts (limits left as
// ${VARS} for the nginx image to fill from the environment).
package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/parley/parley/nginx"
)

func main() {
	compose := flag.Bool("compose", false, "print the docker compose template to stdout")
	prefix := flag.String("prefix", "", "native: directory to write nginx.conf and parley.conf into")
	listen := flag.String("listen", "127.0.0.1:8080", "native: address nginx listens on")
	readers := flag.String("readers", "127.0.0.1:8091,127.0.0.1:8092", "native: comma-separated reader addresses")
	writers := flag.String("writers", "127.0.0.1:8081", "native: comma-separated writer addresses")
	maxContent := flag.Int("max-content-bytes", envInt("MAX_CONTENT_BYTES", 65536), "the writer's MAX_CONTENT_BYTES")
	rate := flag.String("post-rate", envStr("POST_RATE_LIMIT", "1000"), "POSTs per second per client address")
	burst := flag.String("post-burst", envStr("POST_RATE_BURST", "2000"), "POSTs let through at once above the rate")
	workers := flag.String("workers", "auto", "native: worker_processes")
	accessLog := flag.Bool("access-log", false, "log every request")
	flag.Parse()

	if *compose {
		out, err := nginx.Server(nginx.ComposeParams())
		exitOn(err)
		_, err = os.Stdout.Write(out)
		exitOn(err)
		return
	}
	if *prefix == "" {
		exitOn(fmt.Errorf("-prefix or -compose is required"))
	}
	dir, err := filepath.Abs(*prefix)
	exitOn(err)
	p := nginx.Params{
		Listen: *listen, Readers: split(*readers), Writers: split(*writers),
		MaxBody: strconv.FormatInt(nginx.MaxBody(*maxContent), 10), PostRate: *rate, PostBurst: *burst,
		Prefix: dir, Workers: *workers, AccessLog: *accessLog,
	}
	server, err := nginx.Server(p)
	exitOn(err)
	main, err := nginx.Main(p)
	exitOn(err)
	exitOn(os.MkdirAll(filepath.Join(dir, "tmp"), 0o755))
	exitOn(os.WriteFile(filepath.Join(dir, "parley.conf"), server, 0o644))
	exitOn(os.WriteFile(filepath.Join(dir, "nginx.conf"), main, 0o644))
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

func envStr(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}

func envInt(name string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(name)); err == nil {
		return v
	}
	return def
}

func exitOn(err error) {
	if err != nil {
		fmt.Fprintln(os.Stderr, "nginxconf:", err)
		os.Exit(2)
	}
}
