package reader

import (
	"bytes"
	"cmp"
	"time"

	"github.com/google/btree"

	"github.com/parley/parley/internal/comment"
)

// rankings orders the topics by last activity (/last_topics) and by hot
// score (/hot_topics). The projection's lock guards them.
type rankings struct {
	byActivity *btree.BTreeG[actItem]
	byHot      *btree.BTreeG[hotItem]
	hot        hotParams
}

type actItem struct {
	at int64
	id comment.TopicID
	t  *topic
}

func lessAct(a, b actItem) bool {
	return cmp.Or(cmp.Compare(a.at, b.at), bytes.Compare(a.id[:], b.id[:])) < 0
}

type hotItem struct {
	key float64
	id  comment.TopicID
	t   *topic
}

func lessHot(a, b hotItem) bool {
	return cmp.Or(cmp.Compare(a.key, b.key), bytes.Compare(a.id[:], b.id[:])) < 0
}

func newRankings(hot hotParams) rankings {
	return rankings{byActivity: btree.NewG(32, lessAct), byHot: btree.NewG(32, lessHot), hot: hot}
}

// add ranks a topic that was not ranked yet.
func (r *rankings) add(t *topic) {
	r.byActivity.ReplaceOrInsert(actItem{at: t.lastAct, id: t.id, t: t})
	r.byHot.ReplaceOrInsert(hotItem{key: t.heat.key, id: t.id, t: t})
}

// setActivity moves a topic to its new last activity, if later.
func (r *rankings) setActivity(t *topic, at int64) {
	if at <= t.lastAct {
		return
	}
	r.byActivity.Delete(actItem{at: t.lastAct, id: t.id})
	t.lastAct = at
	r.byActivity.ReplaceOrInsert(actItem{at: at, id: t.id, t: t})
}

// addHeat adds activity to a topic's hot score and moves it.
func (r *rankings) addHeat(t *topic, at time.Time, a activity) {
	r.byHot.Delete(hotItem{key: t.heat.key, id: t.id})
	r.hot.add(&t.heat, at, a)
	r.byHot.ReplaceOrInsert(hotItem{key: t.heat.key, id: t.id, t: t})
}

func (r *rankings) clear() {
	r.byActivity.Clear(false)
	r.byHot.Clear(false)
}

var maxTopicID = comment.TopicID{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}

// latest calls fn for the topics w selects by last activity, newest
// first, until it returns false.
func (r *rankings) latest(w Window, fn func(*topic) bool) {
	hi := actItem{at: w.Before - 1, id: maxTopicID}
	var after actItem
	if w.After != nil {
		after = actItem{at: w.After.At, id: w.After.Topic}
		if lessAct(after, hi) {
			hi = after
		}
	}
	lo := actItem{at: w.From, id: maxTopicID}
	r.byActivity.DescendRange(hi, lo, func(it actItem) bool {
		if w.After != nil && it.at == after.at && it.id == after.id {
			return true // the cursor's own topic: the page starts after it
		}
		return fn(it.t)
	})
}

// hottest calls fn for the topics, hottest first, until it returns false.
func (r *rankings) hottest(fn func(*topic) bool) {
	r.byHot.Descend(func(it hotItem) bool { return fn(it.t) })
}
