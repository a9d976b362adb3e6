package reader

import (
	"time"

	"go.uber.org/zap"

	"github.com/parley/parley/internal/comment"
	"github.com/parley/parley/internal/reader/topictree"
	"github.com/parley/parley/internal/store"
)

// appliers apply each kind of event to the projection's summaries, users'
// lists and rankings; the topic's tree takes the event in applyTree. A new
// kind of event is one entry here and one method.
var appliers = map[comment.EventKind]func(*Projection, *comment.Event){
	comment.EventCreated: (*Projection).applyCreated,
	comment.EventEdited:  (*Projection).applyEdited,
	comment.EventDeleted: (*Projection).applyDeleted,
	comment.EventViews:   (*Projection).applyViews,
	comment.EventBanned:  (*Projection).applyBanned,
	comment.EventVoted:   (*Projection).applyVoted,
}

// apply applies one event; the caller holds the write lock.
func (p *Projection) apply(e *comment.Event) {
	if fn := appliers[e.Kind]; fn != nil {
		fn(p, e)
	}
}

func (p *Projection) corrupt(e *comment.Event, err error) {
	p.log.Error("skipping an event that does not fit the state", zap.Int64("position", e.Position),
		zap.String("kind", string(e.Kind)), zap.Stringer("topic", e.Topic), zap.Error(err))
}

func (p *Projection) applyCreated(e *comment.Event) {
	c := e.Created
	name := p.user(c.User).name
	var t *topic
	if len(c.Path) == 1 {
		if _, dup := p.topics[e.Topic]; dup {
			p.corrupt(e, topictree.CorruptError("topic created twice"))
			return
		}
		tr := topictree.New()
		if err := tr.Apply(e, nil); err != nil {
			p.corrupt(e, err)
			return
		}
		t = &topic{id: e.Topic, keyJSON: keyJSON(c.Key), count: 1, lastAct: e.At.UnixMilli(), heat: newHeat(), tree: tr, version: e.Position}
		t.lastRead.Store(time.Now().UnixNano())
		p.topics[t.id] = t
		p.ranks.add(t)
		p.res.bytes += tr.Bytes()
	} else {
		if t = p.inTree(e, "reply"); t == nil {
			return
		}
		t.count++
		p.ranks.setActivity(t, e.At.UnixMilli())
	}
	p.ranks.addHeat(t, e.At, activity{comments: 1})
	p.users[name].insert(userEntry{update: e.At.UnixMilli(), topic: t, id: c.Path.ID()})
}

// inTree applies an event about a comment of an existing topic to the
// topic's tree and returns the topic; nil, the event logged and skipped,
// when it does not fit (what names it in the log).
func (p *Projection) inTree(e *comment.Event, what string) *topic {
	t := p.topics[e.Topic]
	if t == nil {
		p.corrupt(e, topictree.CorruptError(what+" in an unknown topic"))
		return nil
	}
	if err := p.applyTree(t, e, nil); err != nil {
		p.corrupt(e, err)
		return nil
	}
	return t
}

func (p *Projection) applyEdited(e *comment.Event) {
	t := p.inTree(e, "edit")
	if t == nil {
		return
	}
	ed := e.Edited
	p.ranks.setActivity(t, e.At.UnixMilli())
	l := p.user(ed.User)
	l.remove(userEntry{update: ed.Was.UnixMilli(), topic: t, id: ed.Path.ID()})
	l.insert(userEntry{update: e.At.UnixMilli(), topic: t, id: ed.Path.ID()})
}

func (p *Projection) applyDeleted(e *comment.Event) {
	t := p.inTree(e, "delete")
	if t == nil {
		return
	}
	d := e.Deleted
	p.user(d.User).remove(userEntry{update: d.Was.UnixMilli(), topic: t, id: d.Path.ID()})
	p.top.set(t, d.Path.ID(), d.Created.UnixMilli(), d.Up, d.Down, 0, 0, false)
}

func (p *Projection) applyViews(e *comment.Event) {
	for i := range e.Views.Ranges {
		r := &e.Views.Ranges[i]
		t := p.topics[r.Topic]
		if t == nil {
			continue // a range from a buggy reader; nothing to count
		}
		_ = p.applyTree(t, e, r)
		p.ranks.addHeat(t, e.At, activity{views: r.Count})
	}
}

// applyTree applies an event to the topic's tree: directly when resident;
// while evicted, to the topic's root, and kept for the tree if a load is in
// flight (the next load otherwise reads the state that includes it).
func (p *Projection) applyTree(t *topic, e *comment.Event, r *comment.ViewRange) error {
	if t.tree != nil {
		before := t.tree.Bytes()
		if err := t.tree.Apply(e, r); err != nil {
			return err
		}
		p.res.bytes += t.tree.Bytes() - before
		t.follow(e)
	} else {
		t.cold.Apply(e, r)
		if t.pending != nil {
			t.pending.add(e, r)
		}
	}
	t.version = e.Position
	for i := range t.sorts {
		t.sorts[i].full.Store(nil) // no longer current; let its memory go
	}
	return nil
}

// follow keeps the topic's sibling orders up to date with an event its
// resident tree has just applied: a new comment takes its place among its
// siblings, a vote moves its comment among its siblings only.
func (t *topic) follow(e *comment.Event) {
	for i := range t.sorts {
		o := t.sorts[i].order.Load()
		if o == nil {
			continue
		}
		switch e.Kind {
		case comment.EventCreated:
			o.Added(t.tree, t.tree.Node(e.Created.Path.ID()))
		case comment.EventVoted:
			o.Voted(t.tree, t.tree.Node(e.Voted.Path.ID()))
		}
	}
}

func (p *Projection) applyBanned(e *comment.Event) {
	b := e.Banned
	p.bans[b.User] = store.BanRow{User: b.User, Until: b.Until, Reason: b.Reason, By: b.By, At: e.At}
}
