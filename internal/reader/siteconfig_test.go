package reader_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/parley/parley/internal/auth"
	"github.com/parley/parley/internal/reader"
	"github.com/parley/parley/internal/stacktest"
)

// TestConfigEndpoint: /v1/config names the reader's AUTH_MODE, may be kept
// a minute, and answers HEAD without a body.
func TestConfigEndpoint(t *testing.T) {
	e := newEnv(t)
	cases := []struct {
		mode string
		tune func(*reader.Config)
	}{
		{auth.ModeNone, func(*reader.Config) {}},
		{auth.ModeJWT, func(c *reader.Config) {
			c.Auth.Mode, c.Auth.JWTSecret = auth.ModeJWT, strings.Repeat("s", auth.MinSecretLen)
		}},
	}
	for _, tc := range cases {
		t.Run(tc.mode, func(t *testing.T) {
			r := e.reader(t, tc.tune)
			res := stacktest.Get(t, r.Base+"/v1/config")
			if want := `{"auth_mode":"` + tc.mode + `"}`; res.Status != http.StatusOK || string(res.Body) != want {
				t.Fatalf("%d %s, want %s", res.Status, res.Body, want)
			}
			if cc := res.Header.Get("Cache-Control"); cc != "max-age=60" {
				t.Errorf("Cache-Control %q", cc)
			}
			if ct := res.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
				t.Errorf("Content-Type %q", ct)
			}
			head := stacktest.Do(t, http.MethodHead, r.Base+"/v1/config", nil)
			if head.Status != http.StatusOK || len(head.Body) != 0 || head.Header.Get("Cache-Control") != "max-age=60" {
				t.Errorf("HEAD: %d %v", head.Status, head.Header)
			}
			if post := stacktest.Do(t, http.MethodPost, r.Base+"/v1/config", "{}"); post.Status != http.StatusMethodNotAllowed {
				t.Errorf("POST to the reader: %d", post.Status)
			}
		})
	}
}
