package reader

import (
	"context"
	"slices"
	"time"

	"github.com/parley/parley/internal/comment"
	"github.com/parley/parley/internal/store"
)

// snapshotSource opens consistent snapshots of the current state.
type snapshotSource interface {
	Snapshot(ctx context.Context, fn func(*store.Snap) error) error
}

// loadChunk is how many topics' trees one query of the start-up load reads.
const loadChunk = 20000

// Load fills an empty projection from one snapshot: every topic's summary
// and activity, the users' lists, and the trees of the most recently active
// topics as far as the memory bound allows. Afterwards the projection is
// exactly the state at the snapshot's position, and the log is applied from
// there.
func (p *Projection) Load(ctx context.Context, src snapshotSource) error {
	err := src.Snapshot(ctx, func(s *store.Snap) error {
		p.mu.Lock()
		defer p.mu.Unlock()
		if len(p.topics) != 0 {
			panic("reader: Load on a projection that is not empty")
		}
		b := builder{p: p}
		if err := b.load(ctx, s); err != nil {
			p.reset() // the next attempt starts from nothing
			return err
		}
		p.applied.Store(s.Position)
		p.ready.Store(true)
		return nil
	})
	if err == nil {
		p.setApplied(p.applied.Load()) // wakes requests waiting for the load
	}
	return err
}

func (p *Projection) reset() {
	p.topics = map[comment.TopicID]*topic{}
	p.users = map[string]*userList{}
	p.loading = map[*topic]struct{}{}
	p.byActivity.Clear(false)
	p.byHot.Clear(false)
	p.resident = 0
}

type builder struct {
	p        *Projection
	order    []*topic // most recently active first
	resident []comment.TopicID
	cold     []comment.TopicID
}

func (b *builder) load(ctx context.Context, s *store.Snap) error {
	p := b.p
	now := time.Now().UnixNano()
	err := s.Summaries(ctx, func(r *store.SummaryRow) error {
		t := &topic{id: r.Topic, count: r.Count, lastAct: r.LastActivity.UnixMilli(), heat: newHeat()}
		t.lastRead.Store(now)
		root := &node{id: 0, user: p.user(r.Root.User).name, deleted: r.Root.Deleted}
		root.render(nil, r.Root.Content, r.Root.Create, r.Root.Update)
		t.root = root
		p.topics[t.id] = t
		b.order = append(b.order, t)
		return nil
	})
	if err != nil {
		return err
	}
	if err := b.loadTrees(ctx, s); err != nil {
		return err
	}
	if err := b.loadViews(ctx, s); err != nil {
		return err
	}
	err = s.Activity(ctx, func(r *store.ActivityRow) error {
		if t := p.topics[r.Topic]; t != nil {
			p.hot.add(&t.heat, r.Bucket, int64(r.Comments), r.Views)
		}
		return nil
	})
	if err != nil {
		return err
	}
	if err := b.loadUsers(ctx, s); err != nil {
		return err
	}
	for _, t := range b.order {
		p.byActivity.ReplaceOrInsert(actItem{at: t.lastAct, id: t.id, t: t})
		p.byHot.ReplaceOrInsert(hotItem{key: t.heat.key, id: t.id, t: t})
	}
	return nil
}

// loadTrees loads trees, most recently active topics first, until the
// memory bound is reached; the rest stay cold and load on demand.
func (b *builder) loadTrees(ctx context.Context, s *store.Snap) error {
	p := b.p
	i := 0
	for ; i < len(b.order) && p.resident < p.maxBytes; i += loadChunk {
		chunk := b.order[i:min(i+loadChunk, len(b.order))]
		ids := make([]comment.TopicID, len(chunk))
		for j, t := range chunk {
			ids[j] = t.id
			t.tree = &tree{}
		}
		var cur *topic
		err := s.Trees(ctx, ids, func(r *store.TreeRow) error {
			if cur == nil || cur.id != r.Topic {
				cur = p.topics[r.Topic]
			}
			before := cur.tree.bytes
			_, err := cur.tree.add(r.Path, p.user(r.User).name, r.Content, r.Deleted, r.Create, r.Update)
			p.resident += cur.tree.bytes - before
			return err
		})
		if err != nil {
			return err
		}
		for _, t := range chunk {
			t.root = t.tree.nodes[0]
			b.resident = append(b.resident, t.id)
		}
	}
	for _, t := range b.order[min(i, len(b.order)):] {
		b.cold = append(b.cold, t.id)
	}
	return nil
}

func (b *builder) loadViews(ctx context.Context, s *store.Snap) error {
	p := b.p
	ids := b.resident
	if len(b.cold) == 0 {
		ids = nil // all topics: no filter
	}
	err := s.Ranges(ctx, ids, func(r *store.RangeRow) error {
		if t := p.topics[r.Topic]; t != nil && t.tree != nil {
			t.tree.addViews(r)
		}
		return nil
	})
	if err != nil || len(b.cold) == 0 {
		return err
	}
	return s.RootViews(ctx, func(id comment.TopicID, n int64) error {
		if t := p.topics[id]; t != nil && t.tree == nil {
			t.root.views = n
		}
		return nil
	})
}

// loadUsers builds the users' lists: from the loaded trees, and for cold
// topics from a query that leaves content out. Each list is sorted once.
func (b *builder) loadUsers(ctx context.Context, s *store.Snap) error {
	p := b.p
	for _, id := range b.resident {
		t := p.topics[id]
		for _, n := range t.tree.nodes {
			if !n.deleted {
				l := p.users[n.user]
				l.entries = append(l.entries, userEntry{update: n.update, topic: t, id: n.id})
			}
		}
	}
	if len(b.cold) > 0 {
		err := s.UserEntries(ctx, b.cold, func(r *store.UserRow) error {
			l := p.user(r.User)
			l.entries = append(l.entries, userEntry{update: r.Update.UnixMilli(), topic: p.topics[r.Topic], id: r.ID})
			return nil
		})
		if err != nil {
			return err
		}
	}
	for _, l := range p.users {
		slices.SortFunc(l.entries, compareEntries)
	}
	return nil
}
