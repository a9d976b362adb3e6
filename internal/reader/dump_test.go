package reader

import (
	"bytes"
	"fmt"
	"math"
	"slices"

	"github.com/parley/parley/internal/reader/topictree"
)

// State is a complete, ordered copy of what a projection holds, for
// comparing two readers: same log position, same State. Only the
// projection's bookkeeping (topic versions, residency, read times) is left
// out, because it legitimately differs between readers.
type State struct {
	Applied    int64
	Topics     []TopicState // by topic id
	ByActivity []string     // topic ids, most recent first
	ByHot      []string     // topic ids, hottest first
	Users      []UserState  // by name
	Voters     []UserState  // by voter id; entries "topic/id@time=vote"
	Top        []string     // voted comments, "topic/id score", top first
}

// TopicState is one topic's summary and, if resident, its tree as JSON.
type TopicState struct {
	ID      string
	Count   int32
	LastAct int64
	HotKey  float64
	Root    string // the root's /topic_comments item
	Tree    string // the whole topic as /topic_comments renders it; "" when evicted
}

// UserState is one user's list.
type UserState struct {
	Name    string
	Entries []string // "topic/id@update", oldest first
}

// Dump copies the state.
func (p *Projection) Dump() State {
	p.mu.RLock()
	defer p.mu.RUnlock()
	s := State{Applied: p.Applied()}
	for _, t := range p.topics {
		ts := TopicState{ID: t.id.String(), Count: t.count, LastAct: t.lastAct, HotKey: t.heat.key,
			Root: string(t.root().AppendJSON(nil, topictree.TopicItem, t.id))}
		if t.tree != nil {
			b := []byte{'['}
			t.tree.Walk(func(n *topictree.Node) bool {
				if len(b) > 1 {
					b = append(b, ',')
				}
				b = n.AppendJSON(b, topictree.TopicItem, t.id)
				return true
			})
			ts.Tree = string(append(b, ']'))
		}
		s.Topics = append(s.Topics, ts)
	}
	slices.SortFunc(s.Topics, func(a, b TopicState) int { return bytes.Compare([]byte(a.ID), []byte(b.ID)) })
	p.ranks.latest(Window{From: math.MinInt64, Before: math.MaxInt64}, func(t *topic) bool { s.ByActivity = append(s.ByActivity, t.id.String()); return true })
	p.ranks.hottest(func(t *topic) bool { s.ByHot = append(s.ByHot, t.id.String()); return true })
	for name, l := range p.users {
		if len(l.entries) == 0 {
			continue
		}
		u := UserState{Name: name}
		for _, e := range l.entries {
			u.Entries = append(u.Entries, fmt.Sprintf("%s/%d@%d", e.topic.id, e.id, e.update))
		}
		s.Users = append(s.Users, u)
	}
	slices.SortFunc(s.Users, func(a, b UserState) int { return bytes.Compare([]byte(a.Name), []byte(b.Name)) })
	for id, l := range p.voters {
		if len(l.entries) == 0 {
			continue
		}
		u := UserState{Name: id}
		for _, e := range l.entries {
			u.Entries = append(u.Entries, fmt.Sprintf("%s/%d@%d=%d", e.topic.id, e.id, e.update, e.vote))
		}
		s.Voters = append(s.Voters, u)
	}
	slices.SortFunc(s.Voters, func(a, b UserState) int { return bytes.Compare([]byte(a.Name), []byte(b.Name)) })
	p.top.all.Ascend(func(it topItem) bool {
		s.Top = append(s.Top, fmt.Sprintf("%s/%d %d@%d", it.topic.id, it.id, it.score, it.create))
		return true
	})
	return s
}
