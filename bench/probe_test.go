package main

import (
	"math"
	"testing"
	"time"
)

func TestSpreadOf(t *testing.T) {
	for _, tc := range []struct {
		xs                     []float64
		lo, hi, mid, spreadPct float64
	}{
		{[]float64{100}, 100, 100, 100, 0},
		{[]float64{90, 100, 105}, 90, 105, 100, 10},
		{[]float64{100, 130, 95, 100}, 95, 130, 100, 30},
	} {
		lo, hi, mid, spread := spreadOf(tc.xs)
		if lo != tc.lo || hi != tc.hi || mid != tc.mid || math.Abs(spread*100-tc.spreadPct) > 1e-9 {
			t.Errorf("spreadOf(%v) = %v, %v, %v, %v; want %v, %v, %v, %v%%", tc.xs, lo, hi, mid, spread, tc.lo, tc.hi, tc.mid, tc.spreadPct)
		}
	}
}

func TestCorrelation(t *testing.T) {
	for _, tc := range []struct {
		name   string
		xs, ys []float64
		want   float64
	}{
		{"rising together", []float64{1, 2, 3, 4}, []float64{10, 20, 30, 40}, 1},
		{"opposite", []float64{1, 2, 3, 4}, []float64{4, 3, 2, 1}, -1},
		{"unrelated", []float64{1, 2, 3, 4}, []float64{1, -1, -1, 1}, 0},
		{"one does not vary", []float64{1, 2, 3}, []float64{5, 5, 5}, 0},
	} {
		if got := correlation(tc.xs, tc.ys); math.Abs(got-tc.want) > 1e-9 {
			t.Errorf("%s: correlation = %v, want %v", tc.name, got, tc.want)
		}
	}
}

func TestAllPositive(t *testing.T) {
	for _, tc := range []struct {
		xs   []float64
		want bool
	}{
		{nil, false},
		{[]float64{1, 2.5}, true},
		{[]float64{1, 0}, false}, // a half minute the probe did not run in
		{[]float64{-1, 2}, false},
	} {
		if got := allPositive(tc.xs); got != tc.want {
			t.Errorf("allPositive(%v) = %v, want %v", tc.xs, got, tc.want)
		}
	}
}

// TestProbeMeasuresItsWork runs the probe for about 3 s: each run is
// counted in the second it ran, and costs CPU time.
func TestProbeMeasuresItsWork(t *testing.T) {
	p := startProbe()
	deadline := time.Now().Add(10 * time.Second)
	for {
		if _, _, n := p.median(0, time.Hour); n >= 3 || time.Now().After(deadline) {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	p.Stop()
	cpu, memory, n := p.median(0, time.Hour)
	if n < 3 || cpu <= 0 || memory <= 0 {
		t.Fatalf("after up to 10 s: %d runs, medians %v and %v", n, cpu, memory)
	}
	if _, _, n := p.median(time.Hour, 2*time.Hour); n != 0 {
		t.Fatalf("%d runs counted an hour in", n)
	}
}
