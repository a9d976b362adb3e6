package writer

import (
	"strings"
	"testing"
)

func TestLoadConfig(t *testing.T) {
	cfg, err := LoadConfig()
	if err != nil {
		t.Fatal(err)
	}
	if cfg.ListenAddr != "127.0.0.1:8081" || cfg.MaxContentBytes != 65536 || !cfg.Migrate {
		t.Fatalf("defaults: %+v", cfg)
	}
	cases := map[string]string{
		"MAX_CONTENT_BYTES":    "lots",
		"DB_STATEMENT_TIMEOUT": "5 parsecs",
		"MIGRATE":              "perhaps",
		"WRITE_WORKERS":        "0",
		"IDEMPOTENCY_TTL":      "1h",
		"LOG_LEVEL":            "loud",
	}
	for name, value := range cases {
		t.Run(name, func(t *testing.T) {
			t.Setenv(name, value)
			_, err := LoadConfig()
			if err == nil || !strings.Contains(err.Error(), name) {
				t.Fatalf("%s=%q: error %v does not name the variable", name, value, err)
			}
		})
	}
}

// TestMaxBodyBytes pins the body limit: 401408 for the default content
// limit is CLIENT_MAX_BODY_SIZE's default in docker-compose.yml.
func TestMaxBodyBytes(t *testing.T) {
	for _, tc := range []struct {
		maxContent int
		want       int64
	}{
		{1, 8198},
		{65536, 401408},
		{16 << 20, 6*(16<<20) + 8192},
	} {
		if got := (Config{MaxContentBytes: tc.maxContent}).MaxBodyBytes(); got != tc.want {
			t.Errorf("MAX_CONTENT_BYTES %d: body limit %d, want %d", tc.maxContent, got, tc.want)
		}
	}
}
