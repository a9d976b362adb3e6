package platform

import (
	"context"
	"errors"
	"net"
	"net/http"

	"go.uber.org/fx"
	"go.uber.org/zap"
)

// Serve registers srv's lifecycle: OnStart binds addr (so a port in use
// fails the start, which `go srv.ListenAndServe()` would hide), calls
// listening with the listener, and serves in a goroutine; OnStop shuts down
// gracefully, waiting for requests in flight, and for that goroutine.
func Serve(lc fx.Lifecycle, srv *http.Server, addr, name string, log *zap.Logger, listening func(net.Listener)) {
	done := make(chan struct{})
	lc.Append(fx.Hook{
		OnStart: func(ctx context.Context) error {
			var lcfg net.ListenConfig
			ln, err := lcfg.Listen(ctx, "tcp", addr)
			if err != nil {
				return err
			}
			if listening != nil {
				listening(ln)
			}
			log.Info(name+" listening", zap.String("addr", ln.Addr().String()))
			go func() {
				defer close(done)
				if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
					log.Error(name+" stopped", zap.Error(err))
				}
			}()
			return nil
		},
		OnStop: func(ctx context.Context) error {
			err := srv.Shutdown(ctx)
			<-done
			return err
		},
	})
}
