package metrics_test

import (
	"testing"

	"github.com/parley/parley/internal/metrics"
)

func TestCheckAddr(t *testing.T) {
	for _, tc := range []struct {
		addr, listen string
		ok           bool
	}{
		{"", "127.0.0.1:8081", true},
		{"127.0.0.1:9181", "127.0.0.1:8081", true},
		{"0.0.0.0:9090", "0.0.0.0:8091", true},
		{":9090", "127.0.0.1:8081", true},
		{"127.0.0.1", "127.0.0.1:8081", false},
		{"127.0.0.1:8081", "127.0.0.1:8081", false},
	} {
		if err := metrics.CheckAddr(tc.addr, tc.listen); (err == nil) != tc.ok {
			t.Errorf("CheckAddr(%q, %q): %v", tc.addr, tc.listen, err)
		}
	}
}

// TestRegistry: the registry is each app's own, with the runtime's and the
// process's collectors.
func TestRegistry(t *testing.T) {
	a, b := metrics.NewRegistry(), metrics.NewRegistry()
	if _, err := metrics.NewHTTP(a); err != nil {
		t.Fatal(err)
	}
	if _, err := metrics.NewHTTP(b); err != nil {
		t.Fatalf("a second app's registry: %v", err)
	}
	fams, err := a.Gather()
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, f := range fams {
		seen[f.GetName()] = true
	}
	for _, n := range []string{"go_goroutines", "process_cpu_seconds_total"} {
		if !seen[n] {
			t.Errorf("no %s", n)
		}
	}
}
