package writer

import (
	"github.com/parley/parley/internal/comment"
	"github.com/parley/parley/internal/errs"
)

// RecordViews appends a reader's batch of view counts.
type RecordViews comment.Views

// Topic is none: a batch spans topics.
func (RecordViews) Topic() (comment.TopicID, bool) { return comment.TopicID{}, false }

// Reads asks whether the ranges' topics exist, and their newest ids.
func (op RecordViews) Reads(r *reads) {
	for _, rg := range op.Ranges {
		r.known(rg.Topic)
	}
}

// NewResult is an empty PositionResult.
func (RecordViews) NewResult() Result { return &PositionResult{} }

// Decide checks every range against its topic, then adds them to the
// stored ones and to the topics' activity: a batch with one bad range is
// refused whole.
func (op RecordViews) Decide(b *batch) (Result, error) {
	for _, r := range op.Ranges {
		next, ok := b.nextID(r.Topic)
		switch {
		case !ok:
			return nil, errs.Invalid.New("view range of topic %s, which does not exist", r.Topic)
		case r.MaxID >= next:
			return nil, errs.Invalid.New("view range max_id %d is past the topic's newest comment", r.MaxID)
		}
	}
	for _, r := range op.Ranges {
		b.addViews(r)
	}
	b.event(comment.Event{Kind: comment.EventViews, Views: &comment.Views{Ranges: op.Ranges}})
	return &PositionResult{}, nil
}
