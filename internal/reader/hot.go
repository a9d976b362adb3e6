package reader

import (
	"math"
	"time"
)

// Hot-topic score (documented in docs/reader.md):
//
//	score(now) = Σ_i w_i · 2^(−(now − t_i)/H)
//
// over a topic's activity: each comment (w = HOT_COMMENT_WEIGHT) and each
// view, that is each /topic_comments response (w = HOT_VIEW_WEIGHT), at the
// start of the minute it happened in (the writer keeps activity per minute,
// so a restarted reader computes the same sum). H is HOT_HALF_LIFE.
//
// Every score decays by the same factor as time passes, so the ranking
// only changes when activity is added. The reader keeps each topic's score
// as a time-free key, key = log2(Σ_i w_i · 2^(t_i/H)), the ranking is the
// order of keys, and score(now) = 2^(key − now/H). Keys are kept in log
// space because 2^(t/H) overflows float64 for t in Unix seconds.
type hotParams struct {
	halfLife      float64 // seconds
	commentWeight float64
	viewWeight    float64
}

// noHeat is the key of a topic without activity: score 0.
var noHeat = math.Inf(-1)

// hotEpoch is where key time starts. Any fixed instant works; a recent one
// keeps t/H, and so the key, small enough that float64 resolves it to about
// 1e-9 of a score even with a one-minute half-life.
var hotEpoch = time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC).Unix()

// add returns the key after adding activity of weight w at time t.
func (h hotParams) add(key, w float64, t time.Time) float64 {
	if w <= 0 {
		return key
	}
	term := math.Log2(w) + float64(t.Unix()-hotEpoch)/h.halfLife
	return logAdd2(key, term)
}

// score is the decayed activity at now.
func (h hotParams) score(key float64, now time.Time) float64 {
	if math.IsInf(key, -1) {
		return 0
	}
	return math.Exp2(key - float64(now.UnixNano()-hotEpoch*1e9)/1e9/h.halfLife)
}

// logAdd2 is log2(2^a + 2^b) without overflow.
func logAdd2(a, b float64) float64 {
	if a < b {
		a, b = b, a
	}
	if math.IsInf(b, -1) {
		return a
	}
	return a + math.Log2(1+math.Exp2(b-a))
}
