package reader

import (
	"strings"
	"testing"
	"time"
)

func TestLoadConfig(t *testing.T) {
	cfg, err := LoadConfig()
	if err != nil {
		t.Fatal(err)
	}
	if cfg.ListenAddr != "127.0.0.1:8091" || cfg.RefreshInterval != time.Second || !cfg.RefreshNotify ||
		cfg.MinPositionWait != 2*time.Second || cfg.ViewFlushInterval != time.Second {
		t.Fatalf("defaults: %+v", cfg)
	}
	for name, value := range map[string]string{
		"REFRESH_INTERVAL":   "often",
		"REFRESH_NOTIFY":     "maybe",
		"WRITER_URL":         "localhost:8081",
		"CACHE_MAX_BYTES":    "1GB",
		"HOT_HALF_LIFE":      "10s",
		"HOT_VIEW_WEIGHT":    "-1",
		"VIEW_PENDING_MAX":   "0",
		"MIN_POSITION_WAIT":  "-1s",
		"DB_CONNECT_TIMEOUT": "0s",
		"LOG_LEVEL":          "chatty",
		"TIMER_SLACK":        "1s",
	} {
		t.Run(name, func(t *testing.T) {
			t.Setenv(name, value)
			if _, err := LoadConfig(); err == nil || !strings.Contains(err.Error(), name) {
				t.Fatalf("%s=%q: error %v does not name the variable", name, value, err)
			}
		})
	}
}

// TestReaderInternalTokenRequired: like the writer, a reader reachable
// beyond this machine refuses to start without INTERNAL_TOKEN, or its
// /internal/ routes would be open to anyone.
func TestReaderInternalTokenRequired(t *testing.T) {
	for _, tc := range []struct {
		addr, token string
		ok          bool
	}{
		{"127.0.0.1:8091", "", true},
		{"localhost:8091", "", true},
		{"[::1]:8091", "", true},
		{"0.0.0.0:8091", "", false},
		{":8091", "", false},
		{"10.1.2.3:8091", "", false},
		{"reader:8091", "", false},
		{"0.0.0.0:8091", "0123456789abcdef0123456789abcdef", true},
	} {
		t.Setenv("LISTEN_ADDR", tc.addr)
		t.Setenv("INTERNAL_TOKEN", tc.token)
		_, err := LoadConfig()
		if (err == nil) != tc.ok || (err != nil && !strings.Contains(err.Error(), "INTERNAL_TOKEN")) {
			t.Errorf("LISTEN_ADDR=%s INTERNAL_TOKEN=%q: %v, want ok=%v", tc.addr, tc.token, err, tc.ok)
		}
	}
}

// TestRenderWaitPositive: RENDER_WAIT=0 would make every large page 503.
func TestRenderWaitPositive(t *testing.T) {
	for _, value := range []string{"0s", "-1s"} {
		t.Setenv("RENDER_WAIT", value)
		if _, err := LoadConfig(); err == nil || !strings.Contains(err.Error(), "RENDER_WAIT") {
			t.Errorf("RENDER_WAIT=%s: error %v does not name the variable", value, err)
		}
	}
}
