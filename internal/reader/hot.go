package reader

import (
	"math"
	"slices"
	"time"

	"github.com/parley/parley/internal/comment"
)

// Hot-topic score (docs/reader.md):
//
//	score(now) = Σ_b (Wc·comments_b + Wv·views_b + Wu·votes_b) · 2^(−(now − b)/H)
//
// over a topic's activity buckets b: the minutes in which comments were
// posted, /topic_comments responses were served and votes given (the
// writer keeps activity per minute, so a restarted reader sees the same
// buckets). H is HOT_HALF_LIFE, Wc, Wv and Wu are HOT_COMMENT_WEIGHT,
// HOT_VIEW_WEIGHT and HOT_VOTE_WEIGHT. A vote counts when it is given or
// changed (up to down or back), not when it is withdrawn or given again.
//
// Every score decays by the same factor as time passes, so the ranking only
// changes when activity is added. Each topic's score is kept as a time-free
// key, key = log2(Σ_b w_b · 2^((b−E)/H)) for a fixed epoch E; the ranking is
// the order of keys, and score(now) = 2^(key − (now−E)/H). Keys live in log
// space because 2^(t/H) overflows float64.
//
// The key is always folded bucket by bucket in ascending time, over the
// buckets no older than hotHorizon half-lives before the topic's newest
// one. A reader applying the log and a reader loading a snapshot therefore
// perform the same float operations in the same order and get the same
// bits, whatever order events arrived in, and rankings agree exactly.
type hotParams struct {
	halfLife      float64 // seconds
	commentWeight float64
	viewWeight    float64
	voteWeight    float64
}

// activity is what an event adds to a topic's activity.
type activity struct {
	comments, views, votes int64
}

// hotHorizon bounds the buckets a topic keeps, in half-lives. Activity that
// old weighs less than 2^-128 of the newest and cannot change a float64 key.
const hotHorizon = 128

// noHeat is the key of a topic without activity: score 0.
var noHeat = math.Inf(-1)

// hotEpoch is where key time starts. Any fixed instant works; a recent one
// keeps keys small, so that float64 resolves them finely.
var hotEpoch = time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC).Unix()

// heat is a topic's activity by minute and its key.
type heat struct {
	buckets []heatBucket // ascending
	prefix  float64      // key of every bucket but the last
	key     float64
}

type heatBucket struct {
	minute   int64 // unix minutes
	comments int64
	views    int64
	votes    int64
}

// addTo adds a's activity to the bucket.
func (b *heatBucket) addTo(a activity) {
	b.comments += a.comments
	b.views = comment.AddCount(b.views, a.views)
	b.votes += a.votes
}

func newHeat() heat { return heat{prefix: noHeat, key: noHeat} }

func (h hotParams) term(b heatBucket) float64 {
	w := h.commentWeight*float64(b.comments) + h.viewWeight*float64(b.views) + h.voteWeight*float64(b.votes)
	if w <= 0 {
		return noHeat
	}
	return math.Log2(w) + float64(b.minute*60-hotEpoch)/h.halfLife
}

// add records activity at time at.
func (h hotParams) add(s *heat, at time.Time, a activity) {
	m := at.Unix() / 60
	if at.Unix() < 0 && at.Unix()%60 != 0 {
		m-- // floor for times before 1970, to match the writer's minute buckets
	}
	n := len(s.buckets)
	horizon := func(newest int64) int64 { return newest - int64(math.Ceil(hotHorizon*h.halfLife/60)) }
	switch {
	case n > 0 && s.buckets[n-1].minute == m:
		s.buckets[n-1].addTo(a)
	case n == 0 || s.buckets[n-1].minute < m:
		s.prefix = s.key
		s.buckets = append(s.buckets, heatBucket{minute: m})
		s.buckets[n].addTo(a)
		if oldest := horizon(m); s.buckets[0].minute < oldest {
			i, _ := slices.BinarySearchFunc(s.buckets, oldest, func(b heatBucket, t int64) int { return int(b.minute - t) })
			s.buckets = slices.Delete(s.buckets, 0, i)
			h.refold(s)
		}
	case m < horizon(s.buckets[n-1].minute):
		return // too old to matter, and dropped by the snapshot's fold too
	default: // an older minute, from a batch that committed late
		i, found := slices.BinarySearchFunc(s.buckets, m, func(b heatBucket, t int64) int { return int(b.minute - t) })
		if !found {
			s.buckets = slices.Insert(s.buckets, i, heatBucket{minute: m})
		}
		s.buckets[i].addTo(a)
		h.refold(s)
	}
	s.key = logAdd2(s.prefix, h.term(s.buckets[len(s.buckets)-1]))
}

// refold recomputes the prefix from the buckets, in order.
func (h hotParams) refold(s *heat) {
	s.prefix = noHeat
	for _, b := range s.buckets[:len(s.buckets)-1] {
		s.prefix = logAdd2(s.prefix, h.term(b))
	}
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
