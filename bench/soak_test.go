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
	if got, want := rateSpread([]float64{13372, 16456, 18002}), "13372–18002/s, median 16456/s: ±18.7%, 2 of 3 within ±10%"; got != want {
		t.Errorf("rateSpread = %q, want %q", got, want)
	}
}

func TestWithinOf(t *testing.T) {
	for _, tc := range []struct {
		xs   []float64
		frac float64
		want int
	}{
		{[]float64{100}, 0.1, 1},
		{[]float64{90, 100, 110}, 0.1, 3},
		{[]float64{89, 100, 111}, 0.1, 1},
		{[]float64{80, 100, 100, 120}, 0.1, 2},
	} {
		if got := withinOf(tc.xs, tc.frac); got != tc.want {
			t.Errorf("withinOf(%v, %v) = %d, want %d", tc.xs, tc.frac, got, tc.want)
		}
	}
}
