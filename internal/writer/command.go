package writer

import (
	"bytes"
	"cmp"
	"encoding/json"
	"slices"
	"time"

	"github.com/parley/parley/internal/comment"
	"github.com/parley/parley/internal/errs"
	"github.com/parley/parley/internal/store"
)

// Command is one kind of write. Each lives in its own file: what it must
// read before it can decide, and what it decides against the state a batch
// holds. A new kind of write is one new type.
type Command interface {
	// Topic is the topic the command writes to, which picks its worker;
	// ok is false for a command that spans topics.
	Topic() (id comment.TopicID, ok bool)
	// Reads names what the command must read.
	Reads(r *reads)
	// Decide checks the command against the batch's state (as the earlier
	// commands of the batch left it), changes that state and appends the
	// command's event. It returns the response body, whose position is
	// filled in once the batch commits.
	Decide(b *batch) (Result, error)
	// NewResult is an empty result of the command's kind, to decode a
	// stored response into.
	NewResult() Result
}

// Result is the body of a successful write.
type Result interface {
	setPosition(int64)
}

// PositionResult is the body of the writes that answer only a position.
type PositionResult struct {
	Position int64 `json:"position,omitempty"`
}

func (r *PositionResult) setPosition(p int64) { r.Position = p }

// Request is a command on its way through a batch, with its Idempotency-Key
// and the fingerprint of the request that carried it.
type Request struct {
	Cmd         Command
	Key         string
	Fingerprint []byte
}

// Outcome is what a request's sender gets back.
type Outcome struct {
	Body     []byte // JSON, position included
	Position int64
	Result   Result // the body, decoded: the command's own result type
}

// MaxDepth is how deep replies may nest below the root. A path is stored
// with each comment, so unbounded depth would make a long reply chain cost
// memory quadratic in its length.
const MaxDepth = 100

// ActivityBucket is the width of the activity buckets hot-topic scores are
// computed from.
const ActivityBucket = time.Minute

// reads collects what a batch must read to decide, each thing once.
type reads struct {
	lk          store.Lookup
	topics      map[comment.TopicID]bool
	refs        map[store.CommentRef]bool
	keys        map[string]bool
	knownTopics map[comment.TopicID]bool
	bans        map[string]bool
	votes       map[store.VoteRef]bool
}

// comment asks for the comment c names in topic t, and the topic.
func (r *reads) comment(t comment.TopicID, c Ref) {
	if !r.topics[t] {
		r.topics[t] = true
		r.lk.Topics = append(r.lk.Topics, t)
	}
	ref := store.CommentRef{Topic: t, ID: c.ID}
	if !r.refs[ref] {
		r.refs[ref] = true
		r.lk.Comments = append(r.lk.Comments, ref)
	}
}

// known asks whether topic t exists, and its next id, without locking it.
func (r *reads) known(t comment.TopicID) {
	if !r.topics[t] && !r.knownTopics[t] {
		r.knownTopics[t] = true
		r.lk.Known = append(r.lk.Known, t)
	}
}

// vote asks for a user's vote on a comment; the comment's own read
// (comment) locks its topic.
func (r *reads) vote(v store.VoteRef) {
	if !r.votes[v] {
		r.votes[v] = true
		r.lk.Votes = append(r.lk.Votes, v)
	}
}

// lookup lists what a batch must read.
func lookup(reqs []*Request) store.Lookup {
	r := &reads{topics: map[comment.TopicID]bool{}, refs: map[store.CommentRef]bool{}, keys: map[string]bool{}, knownTopics: map[comment.TopicID]bool{}, bans: map[string]bool{}, votes: map[store.VoteRef]bool{}}
	for _, q := range reqs {
		if q.Key != "" && !r.keys[q.Key] {
			r.keys[q.Key] = true
			r.lk.Keys = append(r.lk.Keys, q.Key)
		}
		q.Cmd.Reads(r)
	}
	return r.lk
}

// decision is what deciding made of one request.
type decision struct {
	result Result           // the response, position not yet set
	event  int              // index of the request's event in the batch
	replay *store.KeyRecord // a stored response to send again instead
	err    error
}

// batch is the state one batch builds up while it decides its requests in
// order: rows as the earlier commands of the batch left them, and what to
// write.
type batch struct {
	at       time.Time
	st       store.State
	topics   map[comment.TopicID]*store.TopicWrite
	comments map[store.CommentRef]*store.CommentWrite
	keys     map[string]int // key → index of the request that used it first
	ch       store.Changes
	views    map[viewKey]int // index in ch.Views
	activity map[activityKey]int
	touched  map[*store.CommentWrite]bool
	bans     map[string]store.BanState // bans given earlier in the batch
	votes    map[store.VoteRef]int     // index in ch.Votes
	counted  map[*store.CommentWrite]bool
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

var errKeyReused = errs.Conflict.New("Idempotency-Key was already used with a different request")

// decide runs the requests of one batch against the state read for it, in
// order, and returns what to write and each request's decision. It is
// pure: a retried batch calls it again from scratch.
func decide(reqs []*Request, st store.State, at time.Time) (store.Changes, []decision) {
	b := &batch{
		at:       at,
		st:       st,
		topics:   map[comment.TopicID]*store.TopicWrite{},
		comments: map[store.CommentRef]*store.CommentWrite{},
		keys:     map[string]int{},
		views:    map[viewKey]int{},
		activity: map[activityKey]int{},
		touched:  map[*store.CommentWrite]bool{},
		bans:     map[string]store.BanState{},
		votes:    map[store.VoteRef]int{},
		counted:  map[*store.CommentWrite]bool{},
	}
	out := make([]decision, len(reqs))
	for i, q := range reqs {
		if q.Key != "" {
			if d, ok := b.replayed(q, reqs, out); ok {
				out[i] = d
				continue
			}
		}
		d := decision{event: -1}
		before := len(b.ch.Events)
		d.result, d.err = q.Cmd.Decide(b)
		if d.err == nil && len(b.ch.Events) > before {
			d.event = len(b.ch.Events) - 1
		}
		out[i] = d
		if q.Key != "" && d.err == nil {
			b.keys[q.Key] = i
			res, _ := json.Marshal(d.result)
			b.ch.Keys = append(b.ch.Keys, store.KeyWrite{Key: q.Key, Fingerprint: q.Fingerprint, Result: res, Event: d.event})
		}
	}
	return b.changes(), out
}

// changes is what the batch writes: each touched row once, in its final
// state, and the upserts in a fixed order, so that two batches touching the
// same rows lock them in the same order and cannot deadlock.
func (b *batch) changes() store.Changes {
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
			if r.New || b.touched[r] {
				b.ch.Comments = append(b.ch.Comments, *r)
			}
			if b.counted[r] {
				b.ch.Counts = append(b.ch.Counts, store.CountWrite{Topic: r.Topic, ID: r.Path.ID(), Up: r.Up, Down: r.Down})
			}
		}
	}
	return b.ch
}

// replayed answers a request whose key was used before, in an earlier batch
// or earlier in this one: the first response if the request is the same,
// else a conflict. It reports whether it answered.
func (b *batch) replayed(q *Request, reqs []*Request, out []decision) (decision, bool) {
	if i, ok := b.keys[q.Key]; ok {
		if !bytes.Equal(reqs[i].Fingerprint, q.Fingerprint) {
			return decision{err: errKeyReused}, true
		}
		return out[i], true
	}
	rec, ok := b.st.Keys[q.Key]
	if !ok {
		return decision{}, false
	}
	if !bytes.Equal(rec.Fingerprint, q.Fingerprint) {
		return decision{err: errKeyReused}, true
	}
	return decision{replay: &rec, event: -1}, true
}

// topic is the topic as the batch has left it, or nil if it does not exist.
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

// nextID is the id a topic's next comment gets, as the batch has left it;
// ok is false when the topic does not exist. It reads without touching.
func (b *batch) nextID(id comment.TopicID) (next int32, ok bool) {
	if t, ok := b.topics[id]; ok {
		return t.NextID, true
	}
	row, ok := b.st.Topics[id]
	return row.NextID, ok
}

// newTopic creates a topic.
func (b *batch) newTopic(id comment.TopicID) *store.TopicWrite {
	t := &store.TopicWrite{ID: id, New: true}
	b.topics[id] = t
	b.order = append(b.order, t)
	return t
}

// comment finds the comment r names in topic, as the batch has left it.
func (b *batch) comment(topic comment.TopicID, r Ref) *store.CommentWrite {
	ref := store.CommentRef{Topic: topic, ID: r.ID}
	if c, ok := b.comments[ref]; ok {
		if r.Path != nil && !c.Path.Equal(r.Path) {
			return nil
		}
		return c
	}
	row, ok := b.st.Comments[ref]
	if !ok || (r.Path != nil && !row.Path.Equal(r.Path)) {
		return nil
	}
	c := &store.CommentWrite{Topic: topic, Path: row.Path, User: row.User, Author: row.Author,
		Create: row.Create, Update: row.Update, Deleted: row.Deleted, Up: row.Up, Down: row.Down}
	b.comments[ref] = c
	return c
}

// newComment adds a comment posted in this batch.
func (b *batch) newComment(c *store.CommentWrite) {
	c.New = true
	b.comments[store.CommentRef{Topic: c.Topic, ID: c.Path.ID()}] = c
	b.order = append(b.order, c)
}

// touch records that an existing comment changes, once, in order.
func (b *batch) touch(c *store.CommentWrite) {
	if !c.New && !b.touched[c] {
		b.touched[c] = true
		if !b.counted[c] {
			b.order = append(b.order, c)
		}
	}
}

// voteOf is a user's vote on a comment as the batch has left it; Value 0
// when there is none.
func (b *batch) voteOf(ref store.VoteRef) store.VoteState {
	if i, ok := b.votes[ref]; ok {
		v := b.ch.Votes[i]
		return store.VoteState{Value: v.Value, At: v.At}
	}
	return b.st.Votes[ref]
}

// setVote records a user's vote on comment c, whose counts it changed.
func (b *batch) setVote(ref store.VoteRef, v store.VoteState, c *store.CommentWrite) {
	w := store.VoteWrite{VoteRef: ref, Value: v.Value, At: v.At}
	if i, ok := b.votes[ref]; ok {
		b.ch.Votes[i] = w
	} else {
		b.votes[ref] = len(b.ch.Votes)
		b.ch.Votes = append(b.ch.Votes, w)
	}
	if !b.counted[c] {
		b.counted[c] = true
		if !c.New && !b.touched[c] {
			b.order = append(b.order, c)
		}
	}
}

// event appends the command's event, at the batch's time.
func (b *batch) event(e comment.Event) { b.eventAt(e, b.at) }

// eventAt appends the command's event, dated at.
func (b *batch) eventAt(e comment.Event, at time.Time) {
	e.At = at
	b.ch.Events = append(b.ch.Events, e)
}

// activity is what a command adds to its topic's activity.
type activity struct {
	comments int32
	views    int64
	votes    int32
}

// addActivity counts comments, views and votes in the topic's current minute.
func (b *batch) addActivity(topic comment.TopicID, a activity) {
	k := activityKey{topic: topic, bucket: b.at.Truncate(ActivityBucket)}
	i, ok := b.activity[k]
	if !ok {
		i = len(b.ch.Activity)
		b.activity[k] = i
		b.ch.Activity = append(b.ch.Activity, store.Activity{Topic: topic, Bucket: k.bucket})
	}
	b.ch.Activity[i].Comments += a.comments
	b.ch.Activity[i].Votes += a.votes
	b.ch.Activity[i].Views = comment.AddCount(b.ch.Activity[i].Views, a.views)
}

// addViews adds a view range, merged with an equal one of the batch.
func (b *batch) addViews(r comment.ViewRange) {
	k := viewKey{topic: r.Topic, first: r.First.String(), last: r.Last.String(), maxID: r.MaxID}
	if i, ok := b.views[k]; ok {
		b.ch.Views[i].Count = comment.AddCount(b.ch.Views[i].Count, r.Count)
	} else {
		b.views[k] = len(b.ch.Views)
		b.ch.Views = append(b.ch.Views, r)
	}
	b.addActivity(r.Topic, activity{views: r.Count})
}

func later(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}
