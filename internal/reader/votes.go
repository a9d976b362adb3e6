package reader

import (
	"bytes"
	"cmp"
	"context"
	"math"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/google/btree"

	"github.com/parley/parley/internal/comment"
	"github.com/parley/parley/internal/reader/topictree"
)

// topItem ranks a live comment with votes: by up − down, highest first,
// then older first, then by topic and id, so that the order is total. It
// is 24 bytes, one per voted comment.
type topItem struct {
	create int64 // unix ms
	topic  *topic
	score  int32 // up − down
	id     int32
}

func lessTop(a, b topItem) bool { return compareTop(a, b) < 0 }

// compareTop orders voted comments, comparing no further than it must: a
// start-up load ranks a million of them.
func compareTop(a, b topItem) int {
	switch {
	case a.score != b.score:
		return cmp.Compare(b.score, a.score)
	case a.create != b.create:
		return cmp.Compare(a.create, b.create)
	case a.topic != b.topic:
		return bytes.Compare(a.topic.id[:], b.topic.id[:])
	}
	return cmp.Compare(a.id, b.id)
}

// topComments ranks the live comments whose up − down is above zero,
// site-wide (/top_comments): every comment left out scores no higher
// than every comment listed. The projection's lock guards it.
type topComments struct {
	all *btree.BTreeG[topItem]
}

func newTopComments() topComments { return topComments{all: btree.NewG(32, lessTop)} }

// set moves a comment from its old counts to its new ones; a score of
// zero or less is unranked. live is false for a deleted comment, which
// leaves.
func (r *topComments) set(t *topic, id int32, create int64, oldUp, oldDown, up, down int32, live bool) {
	if oldUp > oldDown {
		r.all.Delete(topItem{score: oldUp - oldDown, create: create, topic: t, id: id})
	}
	if live && up > down {
		r.insert(topItem{score: up - down, create: create, topic: t, id: id})
	}
}

func (r *topComments) insert(it topItem) { r.all.ReplaceOrInsert(it) }

func (r *topComments) clear() { r.all.Clear(false) }

// applyVoted applies a vote to the tree and beside it: the ranking of
// voted comments, the voter's list, the hot score.
func (p *Projection) applyVoted(e *comment.Event) {
	t := p.inTree(e, "vote")
	if t == nil {
		return
	}
	v := e.Voted
	id := v.Path.ID()
	oldUp, oldDown := v.Before()
	p.top.set(t, id, v.Created.UnixMilli(), oldUp, oldDown, v.Up, v.Down, true)
	l := p.voter(v.Voter)
	if v.Was != 0 {
		l.remove(userEntry{update: v.WasAt.UnixMilli(), topic: t, id: id})
	}
	if v.Value != 0 {
		l.insert(userEntry{update: e.At.UnixMilli(), topic: t, id: id, vote: v.Value})
	}
	if v.Value != 0 && v.Value != v.Was {
		p.ranks.addHeat(t, e.At, activity{votes: 1})
	}
}

func (p *Projection) voter(id string) *userList { return listOf(p.voters, id) }

// TopComments answers /top_comments: live comments with up − down above
// zero, created after from (unix ms), highest first, in topic (site-wide
// when nil).
func (p *Projection) TopComments(ctx context.Context, topic *comment.TopicID, from int64, limit int) ([]byte, int64, error) {
	if from >= maxTextTime {
		return []byte("[]"), p.Applied(), nil
	}
	if topic != nil {
		return p.topOfTopic(ctx, *topic, from, limit)
	}
	p.mu.RLock()
	pos := p.Applied()
	entries := p.top.scan(&p.mu, from, limit)
	body, err := p.renderEntries(ctx, entries, appendRanked)
	return body, pos, err
}

// maxTextTime is the first unix millisecond whose time takes more than
// four digits of year: no comment is created after it.
var maxTextTime = time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC).UnixMilli()

// scanStep bounds the items a scan of the ranking visits under one hold
// of the read lock: an old from_time may skip most of a million.
const scanStep = 4096

// scan returns up to limit ranked comments created after from, best
// first. It is called with mu read-locked, and lets go of it every
// scanStep items, so that applying the log does not wait for a long scan;
// a comment that moved meanwhile is listed once.
func (r *topComments) scan(mu *sync.RWMutex, from int64, limit int) []userEntry {
	var out []userEntry
	seen := map[topItem]bool{}
	var last topItem
	for resumed := false; ; resumed = true {
		n := 0
		visit := func(it topItem) bool {
			if resumed && !lessTop(last, it) {
				return true // the item the last step ended at
			}
			n++
			key := topItem{topic: it.topic, id: it.id}
			if it.create > from && !seen[key] {
				seen[key] = true
				out = append(out, userEntry{update: it.create, topic: it.topic, id: it.id})
			}
			last = it
			return len(out) < limit && n < scanStep
		}
		if resumed {
			r.all.AscendGreaterOrEqual(last, visit)
		} else {
			r.all.Ascend(visit)
		}
		if len(out) >= limit || n < scanStep {
			return out
		}
		mu.RUnlock()
		mu.RLock()
	}
}

func appendRanked(b []byte, n *topictree.Node, e userEntry) []byte {
	return n.AppendJSON(b, topictree.RankedItem, e.topic.id)
}

// topOfTopic is TopComments in one topic, from its tree: within a topic,
// ids are in creation order, so the order is up − down, then id. It keeps
// the best limit comments as it walks, never sorting them all.
func (p *Projection) topOfTopic(ctx context.Context, id comment.TopicID, from int64, limit int) ([]byte, int64, error) {
	p.mu.RLock()
	t := p.topics[id]
	p.mu.RUnlock()
	if t == nil {
		return nil, 0, errTopicNotFound
	}
	after := string(comment.AppendTime(nil, time.UnixMilli(from)))
	better := func(a, b *topictree.Node) int { // < 0 when a ranks first
		au, ad := a.Votes()
		bu, bd := b.Votes()
		return cmp.Or(cmp.Compare(bu-bd, au-ad), cmp.Compare(a.ID(), b.ID()))
	}
	var body []byte
	var pos int64
	err := p.withTree(ctx, t, func() error {
		pos = p.Applied()
		top := make([]*topictree.Node, 0, limit+1)
		t.tree.Walk(func(n *topictree.Node) bool {
			up, down := n.Votes()
			if up <= down || n.Deleted() || (from != math.MinInt64 && n.CreatedText() <= after) {
				return true
			}
			if len(top) == limit && better(n, top[limit-1]) >= 0 {
				return true
			}
			i, _ := slices.BinarySearchFunc(top, n, better)
			top = slices.Insert(top, i, n)
			if len(top) > limit {
				top = top[:limit]
			}
			return true
		})
		b := append(make([]byte, 0, 512*len(top)), '[')
		for i, n := range top {
			if i > 0 {
				b = append(b, ',')
			}
			b = n.AppendJSON(b, topictree.RankedItem, t.id)
		}
		body = append(b, ']')
		return nil
	})
	return body, pos, err
}

// UserVotes answers /user_votes: the comments a user voted on, with
// before < the vote's time (unix ms), newest vote first, each with the
// vote and its time.
func (p *Projection) UserVotes(ctx context.Context, user string, w Window) (List, error) {
	p.mu.RLock()
	pos := p.Applied()
	var entries []userEntry
	if l := p.voters[user]; l != nil {
		entries = l.page(w)
	}
	body, err := p.renderEntries(ctx, entries, func(b []byte, n *topictree.Node, e userEntry) []byte {
		b = n.AppendFields(b, topictree.RankedItem|topictree.FieldDeleted, e.topic.id)
		b = append(b, `,"vote":`...)
		b = strconv.AppendInt(b, int64(e.vote), 10)
		b = append(b, `,"voted_at":"`...)
		b = comment.AppendTime(b, time.UnixMilli(e.update))
		return append(b, `"}`...)
	})
	return entriesList(body, pos, entries, w.Limit), err
}
