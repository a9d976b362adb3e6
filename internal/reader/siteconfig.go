package reader

import (
	"encoding/json"
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/parley/parley/internal/httpx"
)

// SiteConfig is what a browser client needs to know about the deployment
// it talks to (GET /v1/config).
type SiteConfig struct {
	// AuthMode is AUTH_MODE: "none" (the client sends a name) or "jwt"
	// (the host site hands the client a token).
	AuthMode string `json:"auth_mode"`
}

// siteConfig is this reader's SiteConfig.
func (h *Handlers) siteConfig() SiteConfig {
	return SiteConfig{AuthMode: h.cfg.Auth.Mode}
}

// GET /v1/config. It changes only with a redeploy, so clients may keep it
// a minute; it does not depend on the projection, so it answers while the
// reader loads too.
func (h *Handlers) v1Config(c echo.Context) error {
	body, err := json.Marshal(h.siteConfig())
	if err != nil {
		return err
	}
	c.Response().Header().Set("Cache-Control", "max-age=60")
	return httpx.WriteJSON(c, http.StatusOK, body)
}
