package platform

import (
	"net/http"
	"net/http/pprof"

	"go.uber.org/fx"
	"go.uber.org/zap"
)

// ServeDebug serves net/http/pprof on addr (DEBUG_ADDR), a port of its own
// that nginx never routes to; an empty addr serves nothing.
func ServeDebug(lc fx.Lifecycle, addr string, log *zap.Logger) {
	if addr == "" {
		return
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	Serve(lc, &http.Server{Handler: mux}, addr, "debug server", log, nil)
}
