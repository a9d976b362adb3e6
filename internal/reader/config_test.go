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
	} {
		t.Run(name, func(t *testing.T) {
			t.Setenv(name, value)
			if _, err := LoadConfig(); err == nil || !strings.Contains(err.Error(), name) {
				t.Fatalf("%s=%q: error %v does not name the variable", name, value, err)
			}
		})
	}
}
