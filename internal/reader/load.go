package reader

import (
	"context"
	"runtime"
	"slices"
	"time"
	"unsafe"

	"github.com/parley/parley/internal/comment"
	"github.com/parley/parley/internal/reader/topictree"
	"github.com/parley/parley/internal/store"
)

// snapshotSource opens consistent snapshots of the current state.
type snapshotSource interface {
	Snapshot(ctx context.Context, fn func(*store.Snap) error) error
}

// loadChunk is how many topics' trees one query of the start-up load reads
// when not all of them fit in memory.
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
		// The last chunk may have gone past the bound (a chunk is loaded
		// whole, and one tree may be larger than the bound on its own).
		p.evict(nil)
		p.prog.applied.Store(s.Position)
		p.prog.ready.Store(true)
		return nil
	})
	if err == nil {
		p.prog.set(p.Applied()) // wakes requests waiting for the load
	}
	return err
}

func (p *Projection) reset() {
	p.topics = map[comment.TopicID]*topic{}
	p.users = map[string]*userList{}
	p.voters = map[string]*userList{}
	p.top.clear()
	p.bans = map[string]store.BanRow{}
	p.res.loading = map[*topic]struct{}{}
	p.res.bytes = 0
	p.ranks.clear()
}

type builder struct {
	p        *Projection
	phases   []phase
	order    []*topic // most recently active first
	comments int64    // comments in all topics
	cold     []comment.TopicID
}

// phase is how long one step of the load took, for the start-up log.
type phase struct {
	Name string        `json:"name"`
	Took time.Duration `json:"took"`
}

func (b *builder) mark(name string, since *time.Time) {
	now := time.Now()
	b.phases = append(b.phases, phase{name, now.Sub(*since)})
	*since = now
}

func (b *builder) load(ctx context.Context, s *store.Snap) error {
	p := b.p
	since := time.Now()
	now := since.UnixNano()
	err := s.Summaries(ctx, func(r *store.SummaryRow) error {
		t := &topic{id: r.Topic, keyJSON: keyJSON(r.Key), count: r.Count, lastAct: r.LastActivity.UnixMilli(), heat: newHeat()}
		t.lastRead.Store(now)
		t.cold = topictree.NewRoot(r.User, r.Content, r.Deleted, r.Create, r.Update)
		t.cold.Node().SetVotes(r.Up, r.Down)
		p.topics[t.id] = t
		b.order = append(b.order, t)
		b.comments += int64(r.Count)
		return nil
	})
	if err != nil {
		return err
	}
	b.mark("summaries", &since)
	// The voters' lists are read beside the trees, on a connection of
	// their own: they touch nothing the trees' load does.
	vctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var votesTook time.Duration
	waitVotes, err := s.Alongside(vctx, func(vs *store.Snap) error {
		began := time.Now()
		defer func() { votesTook = time.Since(began) }()
		return b.loadVotes(vctx, vs)
	})
	if err != nil {
		return err
	}
	defer func() { // on every early return: stop the votes' load and wait for it
		if waitVotes != nil {
			cancel()
			_ = waitVotes()
		}
	}()
	if err := b.loadTrees(ctx, s); err != nil {
		return err
	}
	b.mark("trees", &since)
	if err := b.loadViews(ctx, s); err != nil {
		return err
	}
	b.mark("views", &since)
	err = s.Activity(ctx, func(r *store.ActivityRow) error {
		if t := p.topics[r.Topic]; t != nil {
			p.ranks.hot.add(&t.heat, r.Bucket, activity{comments: int64(r.Comments), views: r.Views, votes: int64(r.Votes)})
		}
		return nil
	})
	if err != nil {
		return err
	}
	b.mark("activity", &since)
	if err := s.Bans(ctx, func(r *store.BanRow) error {
		p.bans[r.User] = *r
		return nil
	}); err != nil {
		return err
	}
	if err := b.loadColdUsers(ctx, s); err != nil {
		return err
	}
	for _, l := range p.users {
		slices.SortFunc(l.entries, compareEntries)
	}
	b.mark("users", &since)
	err, waitVotes = waitVotes(), nil
	if err != nil {
		return err
	}
	for _, l := range p.voters {
		slices.SortFunc(l.entries, compareEntries)
	}
	b.mark("votes", &since)
	b.phases = append(b.phases, phase{"votes (beside the trees)", votesTook})
	for _, t := range b.order {
		p.ranks.add(t)
	}
	b.mark("rankings", &since)
	p.lastLoad = b.phases
	return nil
}

// loadVotes fills the voters' lists. Rows come in storage order, where a
// topic's votes mostly sit together: the last topic and voter are kept,
// and a voter's name is copied once, when its list is made.
func (b *builder) loadVotes(ctx context.Context, s *store.Snap) error {
	p := b.p
	var t *topic
	var l *userList
	return s.Votes(ctx, func(r *store.VoteRow) error {
		if t == nil || t.id != r.Topic {
			if t = p.topics[r.Topic]; t == nil {
				return nil // a vote row without its topic: nothing to list it under
			}
		}
		if l == nil || l.name != string(r.User) {
			if l = p.voters[string(r.User)]; l == nil {
				l = listOf(p.voters, string(r.User))
			}
		}
		l.entries = append(l.entries, userEntry{update: r.At.UnixMilli(), topic: t, id: r.ID, vote: r.Value})
		return nil
	})
}

// estimatedNodeBytes guesses a comment's memory before it is loaded, to
// decide whether every tree fits under the bound.
const estimatedNodeBytes = 600

// loadTrees loads trees: all of them in one scan when they should fit
// under the memory bound, otherwise the most recently active topics first,
// a chunk at a time, until the bound is reached; the rest stay cold and
// load on demand.
func (b *builder) loadTrees(ctx context.Context, s *store.Snap) error {
	p := b.p
	if b.comments*estimatedNodeBytes <= p.res.maxBytes {
		return b.loadAll(ctx, s, max(2, min(4, runtime.GOMAXPROCS(0))))
	}
	i := 0
	for ; i < len(b.order) && p.res.bytes < p.res.maxBytes; i += loadChunk {
		chunk := b.order[i:min(i+loadChunk, len(b.order))]
		ids := make([]comment.TopicID, len(chunk))
		for j, t := range chunk {
			ids[j] = t.id
		}
		if err := b.loadChunk(ctx, s, chunk, ids); err != nil {
			return err
		}
	}
	for _, t := range b.order[min(i, len(b.order)):] {
		b.cold = append(b.cold, t.id)
	}
	return nil
}

// loadChunk loads the trees of topics, with their users' entries.
func (b *builder) loadChunk(ctx context.Context, s *store.Snap, topics []*topic, ids []comment.TopicID) error {
	pt := newLoadPart()
	if err := s.Trees(ctx, ids, func(r *store.TreeRow) error { return pt.add(b.p.topics, r) }); err != nil {
		return err
	}
	return b.finish(topics, []*loadPart{pt})
}

// loadAll loads every tree, reading the comments in parts at once, each
// on its own connection and goroutine (parts share the snapshot).
func (b *builder) loadAll(ctx context.Context, s *store.Snap, parts int) error {
	ps := make([]*loadPart, parts)
	for i := range ps {
		ps[i] = newLoadPart()
	}
	topics := b.p.topics // only read while the parts run
	if err := s.AllTreesParallel(ctx, parts, func(i int, r *store.TreeRow) error { return ps[i].add(topics, r) }); err != nil {
		return err
	}
	return b.finish(b.order, ps)
}

// loadPart is what one stream of comment rows builds: its own trees and
// users' entries, touching nothing shared, so parts can run at once.
type loadPart struct {
	builders map[*topic]*topictree.Builder
	users    map[string][]userEntry
	top      []topItem // live comments with more up than down votes
	cur      *topic    // the topic of the last row; rows of a topic mostly come together
	tb       *topictree.Builder
}

func newLoadPart() *loadPart {
	return &loadPart{builders: map[*topic]*topictree.Builder{}, users: map[string][]userEntry{}}
}

func (pt *loadPart) add(topics map[comment.TopicID]*topic, r *store.TreeRow) error {
	if pt.cur == nil || pt.cur.id != r.Topic {
		if pt.cur = topics[r.Topic]; pt.cur == nil {
			return topictree.CorruptError("comment of an unknown topic")
		}
		if pt.tb = pt.builders[pt.cur]; pt.tb == nil {
			pt.tb = topictree.NewBuilder(pt.cur.count)
			pt.builders[pt.cur] = pt.tb
		}
	}
	if err := pt.tb.Put(treeRow(r)); err != nil {
		return err
	}
	if !r.Deleted {
		pt.users[string(r.User)] = append(pt.users[string(r.User)], userEntry{update: r.Update.UnixMilli(), topic: pt.cur, id: r.ID})
		if r.Up > r.Down {
			pt.top = append(pt.top, topItem{score: r.Up - r.Down, create: r.Create.UnixMilli(), topic: pt.cur, id: r.ID})
		}
	}
	return nil
}

// finish merges the parts' trees of topics, links and installs them, and
// adds the parts' users' entries.
func (b *builder) finish(topics []*topic, ps []*loadPart) error {
	p := b.p
	for _, t := range topics {
		var tb *topictree.Builder
		for _, pt := range ps {
			switch o := pt.builders[t]; {
			case o == nil:
			case tb == nil:
				tb = o
			default:
				if err := tb.Merge(o); err != nil {
					return err
				}
			}
		}
		if tb == nil {
			return topictree.CorruptError("topic without comments")
		}
		tr, err := tb.Link()
		if err != nil {
			return err
		}
		t.tree, t.cold = tr, nil
		p.res.bytes += tr.Bytes()
	}
	var top []topItem
	for _, pt := range ps {
		for name, entries := range pt.users {
			l := p.user(name)
			l.entries = append(l.entries, entries...)
		}
		top = append(top, pt.top...)
	}
	// In order, each insert lands where the last one did: a million
	// voted comments rank in a fraction of the time random inserts take.
	slices.SortFunc(top, compareTop)
	for _, it := range top {
		p.top.insert(it)
	}
	return nil
}

func (b *builder) loadViews(ctx context.Context, s *store.Snap) error {
	p := b.p
	var ids []comment.TopicID // nil: all topics
	if len(b.cold) > 0 {
		for _, t := range b.order {
			if t.tree != nil {
				ids = append(ids, t.id)
			}
		}
	}
	err := s.Ranges(ctx, ids, func(r *store.RangeRow) error {
		if t := p.topics[r.Topic]; t != nil && t.tree != nil {
			t.tree.AddViews(r)
		}
		return nil
	})
	if err != nil || len(b.cold) == 0 {
		return err
	}
	return s.RootViews(ctx, func(id comment.TopicID, n int64) error {
		if t := p.topics[id]; t != nil && t.tree == nil {
			t.cold.SetViews(n)
		}
		return nil
	})
}

// loadColdUsers adds the users' entries of cold topics, from a query that
// leaves content out.
func (b *builder) loadColdUsers(ctx context.Context, s *store.Snap) error {
	if len(b.cold) == 0 {
		return nil
	}
	p := b.p
	return s.UserEntries(ctx, b.cold, func(r *store.UserRow) error {
		t := p.topics[r.Topic]
		l := p.user(r.User)
		l.entries = append(l.entries, userEntry{update: r.Update.UnixMilli(), topic: t, id: r.ID})
		if r.Up > r.Down {
			p.top.insert(topItem{score: r.Up - r.Down, create: r.Create.UnixMilli(), topic: t, id: r.ID})
		}
		return nil
	})
}

// treeRow is a loaded row as the tree takes it; its strings point into
// the driver's buffer (bytesString).
func treeRow(r *store.TreeRow) topictree.Row {
	return topictree.Row{ID: r.ID, Parent: r.Parent, Path: bytesString(r.Path), User: bytesString(r.User),
		Content: bytesString(r.Content), Deleted: r.Deleted, Create: r.Create, Update: r.Update, Up: r.Up, Down: r.Down, Views: r.Views}
}

// bytesString views b as a string without copying. Only for bytes that stay
// unchanged while the string is used: rows from the driver, read within
// their callback and copied into a node.
func bytesString(b []byte) string { return unsafe.String(unsafe.SliceData(b), len(b)) }
