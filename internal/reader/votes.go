package reader

import (
	"bytes"
	"cmp"
	"context"
	"math"
	"slices"
	"strconv"
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

// topComments ranks the live comments that have votes, site-wide
// (/top_comments). Comments nobody voted on are not ranked: a comment
// with no votes is nobody's top comment. The projection's lock guards it.
type topComments struct {
	all *btree.BTreeG[topItem]
}

func newTopComments() topComments { return topComments{all: btree.NewG(32, lessTop)} }

// set moves a comment from its old counts to its new ones; a count of
// (0, 0) is unranked. live is false for a deleted comment, which leaves.
func (r *topComments) set(t *topic, id int32, create int64, oldUp, oldDown, up, down int32, live bool) {
	if oldUp != 0 || oldDown != 0 {
		r.all.Delete(topItem{score: oldUp - oldDown, create: create, topic: t, id: id})
	}
	if live && (up != 0 || down != 0) {
		r.insert(topItem{score: up - down, create: create, topic: t, id: id})
	}
}

func (r *topComments) insert(it topItem) { r.all.ReplaceOrInsert(it) }

func (r *topComments) clear() { r.all.Clear(false) }

// votes is the part of a vote the projection applies beside the tree: the
// rankings, the voter's list, the hot score.
func (p *Projection) applyVoted(e *comment.Event) {
	t := p.topics[e.Topic]
	if t == nil {
		p.corrupt(e, topictree.CorruptError("vote in an unknown topic"))
		return
	}
	if err := p.applyTree(t, e, nil); err != nil {
		p.corrupt(e, err)
		return
	}
	v := e.Voted
	id := v.Path.ID()
	oldUp := v.Up - count(v.Value, 1) + count(v.Was, 1)
	oldDown := v.Down - count(v.Value, -1) + count(v.Was, -1)
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

// count is 1 when a vote of value v counts as one of kind k.
func count(v, k int8) int32 {
	if v == k {
		return 1
	}
	return 0
}

func (p *Projection) voter(id string) *userList { return listOf(p.voters, id) }

// TopComments answers /top_comments: live comments with votes created
// after from (unix ms), by up − down, in topic (site-wide when nil).
func (p *Projection) TopComments(ctx context.Context, topic *comment.TopicID, from int64, limit int) ([]byte, int64, error) {
	if topic != nil {
		return p.topOfTopic(ctx, *topic, from, limit)
	}
	p.mu.RLock()
	pos := p.Applied()
	var entries []userEntry
	p.top.all.Ascend(func(it topItem) bool {
		if it.create > from {
			entries = append(entries, userEntry{update: it.create, topic: it.topic, id: it.id})
		}
		return len(entries) < limit
	})
	body, err := p.renderEntries(ctx, entries, appendRanked)
	return body, pos, err
}

func appendRanked(b []byte, n *topictree.Node, e userEntry) []byte {
	return n.AppendJSON(b, topictree.RankedItem, e.topic.id)
}

// topOfTopic is TopComments in one topic, from its tree: within a topic,
// ids are in creation order, so the order is up − down, then id.
func (p *Projection) topOfTopic(ctx context.Context, id comment.TopicID, from int64, limit int) ([]byte, int64, error) {
	p.mu.RLock()
	t := p.topics[id]
	p.mu.RUnlock()
	if t == nil {
		return nil, 0, errTopicNotFound
	}
	after := string(comment.AppendTime(nil, time.UnixMilli(from)))
	var body []byte
	var pos int64
	err := p.withTree(ctx, t, func() error {
		pos = p.Applied()
		var top []*topictree.Node
		t.tree.Walk(func(n *topictree.Node) bool {
			if up, down := n.Votes(); (up != 0 || down != 0) && !n.Deleted() && (from == math.MinInt64 || n.CreatedText() > after) {
				top = append(top, n)
			}
			return true
		})
		slices.SortFunc(top, func(a, b *topictree.Node) int {
			au, ad := a.Votes()
			bu, bd := b.Votes()
			return cmp.Or(cmp.Compare(bu-bd, au-ad), cmp.Compare(a.ID(), b.ID()))
		})
		b := append(make([]byte, 0, 512*min(limit, len(top))), '[')
		for i, n := range top[:min(limit, len(top))] {
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
func (p *Projection) UserVotes(ctx context.Context, user string, before int64, limit int) ([]byte, int64, error) {
	p.mu.RLock()
	pos := p.Applied()
	var entries []userEntry
	if l := p.voters[user]; l != nil {
		entries = l.page(math.MinInt64, before, limit)
	}
	body, err := p.renderEntries(ctx, entries, func(b []byte, n *topictree.Node, e userEntry) []byte {
		b = n.AppendFields(b, topictree.RankedItem|topictree.FieldDeleted, e.topic.id)
		b = append(b, `,"vote":`...)
		b = strconv.AppendInt(b, int64(e.vote), 10)
		b = append(b, `,"voted_at":"`...)
		b = comment.AppendTime(b, time.UnixMilli(e.update))
		return append(b, `"}`...)
	})
	return body, pos, err
}
