package main

import (
	"testing"
	"time"
)

func TestSlowAndFailed(t *testing.T) {
	for _, tc := range []struct {
		name         string
		ss           []sample
		slow, failed int
	}{
		{"none", nil, 0, 0},
		{"fast and ok", []sample{{lat: time.Millisecond, ok: true}, {lat: time.Second, ok: true}}, 0, 0},
		{"over a second", []sample{{lat: time.Second + 1, ok: true}, {lat: 3 * time.Second, ok: true}}, 2, 0},
		{"failed, one slow", []sample{{lat: time.Millisecond}, {lat: 2 * time.Second}}, 1, 2},
	} {
		slow, failed := slowAndFailed(tc.ss)
		if slow != tc.slow || failed != tc.failed {
			t.Errorf("%s: slowAndFailed = %d, %d; want %d, %d", tc.name, slow, failed, tc.slow, tc.failed)
		}
	}
}

func TestRateSpread(t *testing.T) {
	if got, want := rateSpread([]float64{13372, 16456, 18002}), "13372–18002/s, median 16456/s: ±18.7%"; got != want {
		t.Errorf("rateSpread = %q, want %q", got, want)
	}
}
