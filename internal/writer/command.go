package writer

import (
	"bytes"
	"cmp"
	"encoding/json"
	"net/http"
	"slices"
	"time"

	"github.com/parley/parley/internal/comment"
	"github.com/parley/parley/internal/errs"
	"github.com/parley/parley/internal/store"
)

// MaxDepth is how deep replies may nest below the root. A path is stored
// with each comment, so unbounded depth would make a long reply chain cost
// memory quadratic in its length.
const MaxDepth = 100

// Post posts a comment: a new topic when Topic is nil, else a reply to the
// comment at Parent.
type Post struct {
	Topic    *comment.TopicID
	NewTopic comment.TopicID // the id a new topic gets, chosen up front
	Parent   comment.Path
	User     string
	Content  string
}

// Edit replaces a comment's content.
type Edit struct {
	Topic   comment.TopicID
	Path    comment.Path
	Content string
}

// Delete soft-deletes a comment.
type Delete struct {
	Topic comment.TopicID
	Path  comment.Path
}

// RecordViews appends a reader's batch of view counts.
type RecordViews struct {
	Ranges []comment.ViewRange
}

// PostResult is the body of a successful /post_comment.
type PostResult struct {
	CommentID  int32           `json:"comment_id"`
	ParentPath string          `json:"parent_path"`
	TopicID    comment.TopicID `json:"topic_id"`
	NewTopic   bool            `json:"new_topic"`
	Position   int64           `json:"position,omitempty"`
}

// PositionResult is the body of the other successful writes.
type PositionResult struct {
	Position int64 `json:"position,omitempty"`
}

// Command is one request on its way through a batch: what to do, its
// idempotency key, and where its outcome goes.
type Command struct {
	Op          any // Post, Edit, Delete or RecordViews
	Key         string
	Fingerprint []byte

	// Set by decide.
	status int
	result any // *PostResult or *PositionResult, position not yet known
	event  int // index of the command's event in the batch, -1 if none
	replay *store.KeyRecord
	err    error
}

// Outcome is what a command's sender gets back.
type Outcome struct {
	Status   int
	Body     []byte // JSON, position included
	Position int64
}

// lookup lists what a batch must read to decide.
func lookup(cmds []*Command) store.Lookup {
	var lk store.Lookup
	topics := map[comment.TopicID]bool{}
	refs := map[store.CommentRef]bool{}
	ref := func(t comment.TopicID, p comment.Path) {
		if !topics[t] {
			topics[t] = true
			lk.Topics = append(lk.Topics, t)
		}
		r := store.CommentRef{Topic: t, ID: p.ID()}
		if !refs[r] {
			refs[r] = true
			lk.Comments = append(lk.Comments, r)
		}
	}
	keys := map[string]bool{}
	for _, c := range cmds {
		if c.Key != "" && !keys[c.Key] {
			keys[c.Key] = true
			lk.Keys = append(lk.Keys, c.Key)
		}
		switch op := c.Op.(type) {
		case Post:
			if op.Topic != nil {
				ref(*op.Topic, op.Parent)
			}
		case Edit:
			ref(op.Topic, op.Path)
		case Delete:
			ref(op.Topic, op.Path)
		}
	}
	return lk
}

// batch is the state one batch builds up while it decides its commands in
// order: rows as the earlier commands of the batch left them.
type batch struct {
	at       time.Time
	st       store.State
	topics   map[comment.TopicID]*store.TopicWrite
	comments map[store.CommentRef]*store.CommentWrite
	keys     map[string]*Command
	ch       store.Changes
	views    map[viewKey]int // index in ch.Views
	activity map[activityKey]int
	touched  map[*store.CommentWrite]bool
	order    []any // touched rows in first-touch order: *TopicWrite or *CommentWrite
}

type viewKey struct {
	topic       comment.TopicID
	first, last string
	maxID       int32
}

type activityKey struct {
	topic  comment.TopicID
	bucket time.Time
}

// ActivityBucket is the width of the activity buckets hot-topic scores are
// computed from.
const ActivityBucket = time.Minute

// decide runs the commands of one batch against the state read for it, in
// order, and returns what to write. Each command gets its status and result
// or its error. It is pure: a retried batch calls it again from scratch.
func decide(cmds []*Command, st store.State, at time.Time) store.Changes {
	b := &batch{
		at:       at,
		st:       st,
		topics:   map[comment.TopicID]*store.TopicWrite{},
		comments: map[store.CommentRef]*store.CommentWrite{},
		keys:     map[string]*Command{},
		views:    map[viewKey]int{},
		activity: map[activityKey]int{},
		touched:  map[*store.CommentWrite]bool{},
	}
	for _, c := range cmds {
		c.status, c.result, c.event, c.replay, c.err = 0, nil, -1, nil, nil
		if c.Key != "" && b.replayed(c) {
			continue
		}
		b.run(c)
		if c.Key != "" && c.err == nil {
			b.keys[c.Key] = c
			res, _ := json.Marshal(c.result)
			b.ch.Keys = append(b.ch.Keys, store.KeyWrite{
				Key: c.Key, Fingerprint: c.Fingerprint, Status: c.status, Result: res, Event: c.event,
			})
		}
	}
	// Upserts go in a fixed order so two batches touching the same rows
	// lock them in the same order and cannot deadlock.
	slices.SortFunc(b.ch.Activity, func(x, y store.Activity) int {
		return cmp.Or(bytes.Compare(x.Topic[:], y.Topic[:]), x.Bucket.Compare(y.Bucket))
	})
	slices.SortFunc(b.ch.Views, func(x, y comment.ViewRange) int {
		return cmp.Or(bytes.Compare(x.Topic[:], y.Topic[:]), x.First.Compare(y.First), x.Last.Compare(y.Last), cmp.Compare(x.MaxID, y.MaxID))
	})
	for _, row := range b.order {
		switch r := row.(type) {
		case *store.TopicWrite:
			b.ch.Topics = append(b.ch.Topics, *r)
		case *store.CommentWrite:
			b.ch.Comments = append(b.ch.Comments, *r)
		}
	}
	return b.ch
}

// replayed answers a command whose key was used before, in an earlier batch
// or earlier in this one: the first response if the request is the same,
// else a conflict. It reports whether it answered.
func (b *batch) replayed(c *Command) bool {
	if prev, ok := b.keys[c.Key]; ok {
		if !bytes.Equal(prev.Fingerprint, c.Fingerprint) {
			c.err = errs.Conflict.New("Idempotency-Key was already used with a different request")
			return true
		}
		c.status, c.result, c.event = prev.status, prev.result, prev.event
		return true
	}
	rec, ok := b.st.Keys[c.Key]
	if !ok {
		return false
	}
	if !bytes.Equal(rec.Fingerprint, c.Fingerprint) {
		c.err = errs.Conflict.New("Idempotency-Key was already used with a different request")
		return true
	}
	c.replay = &rec
	return true
}

func (b *batch) run(c *Command) {
	switch op := c.Op.(type) {
	case Post:
		c.err = b.post(c, op)
	case Edit:
		c.err = b.edit(c, op)
	case Delete:
		c.err = b.delete(c, op)
	case RecordViews:
		b.recordViews(c, op)
	default:
		panic("writer: unknown command")
	}
}

func (b *batch) topic(id comment.TopicID) *store.TopicWrite {
	if t, ok := b.topics[id]; ok {
		return t
	}
	row, ok := b.st.Topics[id]
	if !ok {
		return nil
	}
	t := &store.TopicWrite{ID: id, NextID: row.NextID, LastActivity: row.LastActivity}
	b.topics[id] = t
	b.order = append(b.order, t)
	return t
}

// comment finds the comment at path in topic, as the batch has left it.
func (b *batch) comment(topic comment.TopicID, path comment.Path) *store.CommentWrite {
	ref := store.CommentRef{Topic: topic, ID: path.ID()}
	if c, ok := b.comments[ref]; ok {
		if !c.Path.Equal(path) {
			return nil
		}
		return c
	}
	row, ok := b.st.Comments[ref]
	if !ok || !row.Path.Equal(path) {
		return nil
	}
	c := &store.CommentWrite{Topic: topic, Path: row.Path, User: row.User, Update: row.Update, Deleted: row.Deleted}
	b.comments[ref] = c
	return c
}

// touch records that an existing comment changes, once, in order.
func (b *batch) touch(c *store.CommentWrite) {
	if !c.New && !b.touched[c] {
		b.touched[c] = true
		b.order = append(b.order, c)
	}
}

func (b *batch) event(e comment.Event) int {
	b.ch.Events = append(b.ch.Events, e)
	return len(b.ch.Events) - 1
}

func (b *batch) addActivity(topic comment.TopicID, comments int32, views int64) {
	k := activityKey{topic: topic, bucket: b.at.Truncate(ActivityBucket)}
	i, ok := b.activity[k]
	if !ok {
		i = len(b.ch.Activity)
		b.activity[k] = i
		b.ch.Activity = append(b.ch.Activity, store.Activity{Topic: topic, Bucket: k.bucket})
	}
	b.ch.Activity[i].Comments += comments
	b.ch.Activity[i].Views += views
}

func (b *batch) post(c *Command, op Post) error {
	var (
		t      *store.TopicWrite
		path   comment.Path
		topic  comment.TopicID
		isRoot = op.Topic == nil
	)
	if isRoot {
		topic = op.NewTopic
		t = &store.TopicWrite{ID: topic, New: true, NextID: 0}
		b.topics[topic] = t
		b.order = append(b.order, t)
		path = comment.RootPath
	} else {
		topic = *op.Topic
		if t = b.topic(topic); t == nil {
			return errs.NotFound.New("topic not found")
		}
		parent := b.comment(topic, op.Parent)
		switch {
		case parent == nil:
			return errs.NotFound.New("parent comment not found")
		case parent.Deleted:
			return errs.Conflict.New("cannot reply to a deleted comment")
		case op.Parent.Depth() >= MaxDepth:
			return errs.Invalid.New("replies may nest at most %d levels deep", MaxDepth)
		}
		path = op.Parent.Child(t.NextID)
	}
	t.NextID++
	t.LastActivity = later(t.LastActivity, b.at)
	nc := &store.CommentWrite{
		Topic: topic, Path: path, New: true, User: op.User, Content: op.Content, Create: b.at, Update: b.at,
	}
	b.comments[store.CommentRef{Topic: topic, ID: path.ID()}] = nc
	b.order = append(b.order, nc)
	b.addActivity(topic, 1, 0)
	c.event = b.event(comment.Event{
		Kind: comment.EventCreated, Topic: topic, At: b.at,
		Created: &comment.Created{Path: path, User: op.User, Content: op.Content},
	})
	c.status = http.StatusCreated
	c.result = &PostResult{CommentID: path.ID(), ParentPath: path.String(), TopicID: topic, NewTopic: isRoot}
	return nil
}

func (b *batch) edit(c *Command, op Edit) error {
	t := b.topic(op.Topic)
	if t == nil {
		return errs.NotFound.New("topic not found")
	}
	cm := b.comment(op.Topic, op.Path)
	switch {
	case cm == nil:
		return errs.NotFound.New("comment not found")
	case cm.Deleted:
		return errs.Conflict.New("cannot edit a deleted comment")
	}
	b.touch(cm)
	was := cm.Update
	cm.Content, cm.Update = op.Content, b.at
	t.LastActivity = later(t.LastActivity, b.at)
	c.event = b.event(comment.Event{
		Kind: comment.EventEdited, Topic: op.Topic, At: b.at,
		Edited: &comment.Edited{Path: op.Path, Content: op.Content, User: cm.User, Was: was},
	})
	c.status, c.result = http.StatusOK, &PositionResult{}
	return nil
}

func (b *batch) delete(c *Command, op Delete) error {
	if b.topic(op.Topic) == nil {
		return errs.NotFound.New("topic not found")
	}
	cm := b.comment(op.Topic, op.Path)
	if cm == nil {
		return errs.NotFound.New("comment not found")
	}
	// Deleting again is accepted and logged like the first time; it changes
	// nothing, and its update time stays what the last edit set.
	if !cm.Deleted {
		b.touch(cm)
		cm.Deleted, cm.Content = true, ""
	}
	c.event = b.event(comment.Event{
		Kind: comment.EventDeleted, Topic: op.Topic, At: b.at,
		Deleted: &comment.Deleted{Path: op.Path, User: cm.User, Was: cm.Update},
	})
	c.status, c.result = http.StatusOK, &PositionResult{}
	return nil
}

func (b *batch) recordViews(c *Command, op RecordViews) {
	for _, r := range op.Ranges {
		k := viewKey{topic: r.Topic, first: r.First.String(), last: r.Last.String(), maxID: r.MaxID}
		if i, ok := b.views[k]; ok {
			b.ch.Views[i].Count += r.Count
		} else {
			b.views[k] = len(b.ch.Views)
			b.ch.Views = append(b.ch.Views, r)
		}
		b.addActivity(r.Topic, 0, r.Count)
	}
	c.event = b.event(comment.Event{Kind: comment.EventViews, At: b.at, Views: &comment.Views{Ranges: op.Ranges}})
	c.status, c.result = http.StatusOK, &PositionResult{}
}

func later(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}
