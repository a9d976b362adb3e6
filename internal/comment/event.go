package comment

import (
	"encoding/json"
	"fmt"
	"math"
	"time"

	jsonv2 "github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"

	"github.com/parley/parley/internal/errs"
)

// EventKind names what an event in the log records.
type EventKind string

// The kinds of event. Each accepted command appends exactly one.
const (
	EventCreated EventKind = "created" // a comment was posted (a new topic when its id is 0)
	EventEdited  EventKind = "edited"  // a comment's content was replaced
	EventDeleted EventKind = "deleted" // a comment was soft-deleted
	EventViews   EventKind = "views"   // a reader's batch of view counts
	EventBanned  EventKind = "banned"  // a moderator banned a user, or lifted a ban
	EventVoted   EventKind = "voted"   // a user voted on a comment, changed or withdrew a vote
)

// Event is one entry of the log. Exactly one of the payload fields is set,
// as Kind says. At is the time the writer gave the command; for a created
// or edited comment it is also the comment's create or update time.
type Event struct {
	Position int64
	Kind     EventKind
	Topic    TopicID // zero for view batches, which span topics
	At       time.Time
	Created  *Created
	Edited   *Edited
	Deleted  *Deleted
	Views    *Views
	Banned   *Banned
	Voted    *Voted
}

// Created is the payload of a posted comment. Author is the author's
// stable id (a token's sub); events from before identities have none, and
// then the author is User.
type Created struct {
	Path    Path   `json:"path"`
	User    string `json:"user"`
	Content string `json:"content"`
	Author  string `json:"author,omitempty"`
	Key     string `json:"key,omitempty"` // a new keyed topic's key, on its root (SPEC §13)
}

// Edited is the payload of an edit. User and Was (the update time before
// the edit) let a reader that does not hold the topic's tree find the
// comment in the user's list.
type Edited struct {
	Path    Path      `json:"path"`
	Content string    `json:"content"`
	User    string    `json:"user"`
	Was     time.Time `json:"was"`
}

// Deleted is the payload of a soft delete; User and Was as for Edited. By
// is who deleted it (its author, or a moderator), when known. Up, Down and
// Created (when it has votes) let a reader without the tree take the
// comment out of the rankings of voted comments.
type Deleted struct {
	Path    Path      `json:"path"`
	User    string    `json:"user"`
	Was     time.Time `json:"was"`
	By      string    `json:"by,omitempty"`
	Up      int32     `json:"up,omitempty"`
	Down    int32     `json:"down,omitempty"`
	Created time.Time `json:"created,omitzero"`
}

// Banned is the payload of a ban: the user's writes are refused until
// Until (for good when nil); an Until in the past lifts the ban.
type Banned struct {
	User   string     `json:"user_id"`
	Until  *time.Time `json:"until,omitempty"`
	Reason string     `json:"reason,omitempty"`
	By     string     `json:"by"`
}

// Voted is the payload of a vote: Voter's vote on the comment at Path is
// Value from now on (0: none, withdrawn), and was Was, given at WasAt
// (when Was is not 0). Up and Down are the comment's counts after it, and
// Created is the comment's create time: a reader that does not hold the
// topic's tree still ranks the comment and moves the voter's list.
type Voted struct {
	Path    Path      `json:"path"`
	Voter   string    `json:"voter"`
	Value   int8      `json:"value"`
	Was     int8      `json:"was,omitempty"`
	WasAt   time.Time `json:"was_at,omitzero"`
	Up      int32     `json:"up"`
	Down    int32     `json:"down"`
	Created time.Time `json:"created"`
}

// Tally is what a vote of value v counts: one up, one down, or nothing.
func Tally(v int8) (up, down int32) {
	switch v {
	case 1:
		return 1, 0
	case -1:
		return 0, 1
	}
	return 0, 0
}

// Before is the comment's counts before the vote.
func (v *Voted) Before() (up, down int32) {
	nu, nd := Tally(v.Value)
	wu, wd := Tally(v.Was)
	return v.Up - nu + wu, v.Down - nd + wd
}

// Views is the payload of a reader's view batch.
type Views struct {
	Ranges []ViewRange `json:"ranges"`
}

// ViewRange counts Count GET responses that each returned the same comments
// of one topic: those from First to Last in tree order, both included, whose
// id is at most MaxID. MaxID is the topic's newest comment id when the
// response was made, so comments created after the view never receive it.
//
// Any response to /topic_comments, paged or not, is such a range, so the
// size of a record does not depend on how many comments it covers.
type ViewRange struct {
	Topic TopicID `json:"topic_id"`
	First Path    `json:"first"`
	Last  Path    `json:"last"`
	MaxID int32   `json:"max_id"`
	Count int64   `json:"count"`
}

// MaxViewRanges is the most ranges one view batch may carry; readers split
// larger flushes.
const MaxViewRanges = 10000

// MaxViewBatchBytes is the largest body of a view batch: the writer's
// limit on POST /internal/views (its own, not the public routes'), and the
// size readers split their flushes at, besides MaxViewRanges. A range takes
// at most a few kilobytes, so one always fits.
const MaxViewBatchBytes = 1 << 20

// MaxViewCount is the most responses one range may count. A reader flushes
// every second or so, so a real count is far below; the bound keeps any sum
// of counts far from overflowing.
const MaxViewCount = 1_000_000_000

// Validate checks what the writer can check of a range without the tree.
func (r ViewRange) Validate() error {
	switch {
	case len(r.First) == 0 || r.First[0] != 0 || len(r.Last) == 0 || r.Last[0] != 0:
		return errs.Invalid.New("view range paths must start at the root")
	case r.Last.Compare(r.First) < 0:
		return errs.Invalid.New("view range ends before it starts")
	case r.MaxID < r.First.ID() || r.MaxID < r.Last.ID():
		return errs.Invalid.New("view range max_id is below its own comments")
	case r.Count <= 0 || r.Count > MaxViewCount:
		return errs.Invalid.New("view range count must be between 1 and %d", MaxViewCount)
	}
	return nil
}

// payloads give each kind's payload field: as it is, to encode it, or
// set to a new payload first, to decode into. A new kind of event is one
// line here.
var payloads = map[EventKind]func(e *Event, fresh bool) any{
	EventCreated: payload(func(e *Event) **Created { return &e.Created }),
	EventEdited:  payload(func(e *Event) **Edited { return &e.Edited }),
	EventDeleted: payload(func(e *Event) **Deleted { return &e.Deleted }),
	EventViews:   payload(func(e *Event) **Views { return &e.Views }),
	EventBanned:  payload(func(e *Event) **Banned { return &e.Banned }),
	EventVoted:   payload(func(e *Event) **Voted { return &e.Voted }),
}

func payload[T any](field func(*Event) **T) func(*Event, bool) any {
	return func(e *Event, fresh bool) any {
		p := field(e)
		if fresh {
			*p = new(T)
		}
		return *p
	}
}

// Payload encodes the kind-specific part of the event for storage.
func (e *Event) Payload() ([]byte, error) {
	field, ok := payloads[e.Kind]
	if !ok {
		return nil, fmt.Errorf("unknown event kind %q", e.Kind)
	}
	return json.Marshal(field(e, false))
}

// DecodePayload fills the kind-specific field from stored JSON.
//
// Every reader decodes every event, so this is json v2's decoder: a
// comment's payload in 0.7 µs and 2 allocations against encoding/json's
// 2.2 µs and 8 (go test -bench, 2-vCPU VM; JSON decoding was a quarter of
// a reader's CPU in the write benchmark). Its options accept what
// encoding/json did, so no event in a log an older writer wrote can stop
// a reader.
func (e *Event) DecodePayload(b []byte) error {
	field, ok := payloads[e.Kind]
	if !ok {
		return fmt.Errorf("event %d: unknown kind %q", e.Position, e.Kind)
	}
	if err := jsonv2.Unmarshal(b, field(e, true), decodeLenient); err != nil {
		return fmt.Errorf("event %d: %w", e.Position, err)
	}
	return nil
}

// decodeLenient are encoding/json's leniencies that json v2 drops by
// default: names in any case, invalid UTF-8 and repeated names.
var decodeLenient = jsonv2.JoinOptions(
	jsonv2.MatchCaseInsensitiveNames(true),
	jsontext.AllowInvalidUTF8(true),
	jsontext.AllowDuplicateNames(true),
)

// MarshalText lets paths travel as "0/4/17" in JSON.
func (p Path) MarshalText() ([]byte, error) { return p.AppendText(nil), nil }

// UnmarshalText parses the "0/4/17" form.
func (p *Path) UnmarshalText(b []byte) error {
	q, err := ParsePath(string(b))
	if err != nil {
		return err
	}
	*p = q
	return nil
}

// MarshalText lets topic ids travel in their canonical form in JSON.
func (id TopicID) MarshalText() ([]byte, error) { return id.AppendText(nil), nil }

// UnmarshalText parses a topic id.
func (id *TopicID) UnmarshalText(b []byte) error {
	v, err := ParseTopicID(string(b))
	if err != nil {
		return err
	}
	*id = v
	return nil
}

// TimeLayout is how every time leaves the service: RFC 3339, UTC, milliseconds.
const TimeLayout = "2006-01-02T15:04:05.000Z07:00"

// AppendTime appends t as clients see it (TimeLayout), without allocating:
// it runs for every comment a reader loads.
func AppendTime(b []byte, t time.Time) []byte {
	t = t.UTC()
	year, month, day := t.Date()
	hour, minute, sec := t.Clock()
	if year < 0 || year > 9999 {
		return t.AppendFormat(b, TimeLayout)
	}
	ms := t.Nanosecond() / 1e6
	b = append(b, byte('0'+year/1000), byte('0'+year/100%10), byte('0'+year/10%10), byte('0'+year%10), '-',
		byte('0'+int(month)/10), byte('0'+int(month)%10), '-', byte('0'+day/10), byte('0'+day%10), 'T',
		byte('0'+hour/10), byte('0'+hour%10), ':', byte('0'+minute/10), byte('0'+minute%10), ':',
		byte('0'+sec/10), byte('0'+sec%10), '.', byte('0'+ms/100), byte('0'+ms/10%10), byte('0'+ms%10), 'Z')
	return b
}

// Now is the writer's clock, truncated to what clients can see, so that a
// time a client reads back compares exactly with the stored one.
func Now() time.Time { return time.Now().UTC().Truncate(time.Millisecond) }

// AddCount adds two non-negative counts, stopping at the largest int64
// instead of wrapping: a view count never overflows, in the writer's sums
// or in a reader's.
func AddCount(a, b int64) int64 {
	if a > math.MaxInt64-b {
		return math.MaxInt64
	}
	return a + b
}
