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
	t.Setenv("GOGC", "") // as unset: the writer's default applies
	cfg, err = LoadConfig()
	if err != nil {
		t.Fatal(err)
	}
	if cfg.ListenAddr != "127.0.0.1:8081" || cfg.MaxContentBytes != 65536 || !cfg.Migrate || cfg.FaultRate != 0 || cfg.GOGC != "400" {
		t.Fatalf("defaults: %+v", cfg)
	}
	cases := map[string]string{
		"MAX_CONTENT_BYTES":    "lots",
		"DB_STATEMENT_TIMEOUT": "5 parsecs",
		"MIGRATE":              "perhaps",
		"WRITE_WORKERS":        "0",
		"IDEMPOTENCY_TTL":      "1h",
		"LOG_LEVEL":            "loud",
		"GOGC":                 "fast",
		"FAULT_RATE":           "1.5",
		"FAULT_DELAY":          "0s",
		"TIMER_SLACK":          "-1ms",
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

// TestInternalTokenRequired: a writer reachable beyond this machine refuses
// to start without INTERNAL_TOKEN (SPEC §9); on loopback it may run without.
func TestInternalTokenRequired(t *testing.T) {
	for _, tc := range []struct {
		addr, token string
		ok          bool
	}{
		{"127.0.0.1:8081", "", true},
		{"localhost:8081", "", true},
		{"[::1]:8081", "", true},
		{"0.0.0.0:8081", "", false},
		{":8081", "", false},
		{"10.1.2.3:8081", "", false},
		{"[::]:8081", "", false},
		{"writer:8081", "", false},
		{"0.0.0.0:8081", "0123456789abcdef0123456789abcdef", true},
		{"127.0.0.1:8081", "short", false},
	} {
		t.Setenv("LISTEN_ADDR", tc.addr)
		t.Setenv("INTERNAL_TOKEN", tc.token)
		_, err := LoadConfig()
		if (err == nil) != tc.ok || (err != nil && !strings.Contains(err.Error(), "INTERNAL_TOKEN")) {
			t.Errorf("LISTEN_ADDR=%s INTERNAL_TOKEN=%q: %v, want ok=%v", tc.addr, tc.token, err, tc.ok)
		}
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
