package writer

import "github.com/parley/parley/internal/comment"

// RecordViews appends a reader's batch of view counts.
type RecordViews comment.Views

// Topic is none: a batch spans topics.
func (RecordViews) Topic() (comment.TopicID, bool) { return comment.TopicID{}, false }

// Reads asks for nothing.
func (RecordViews) Reads(*reads) {}

// NewResult is an empty PositionResult.
func (RecordViews) NewResult() Result { return &PositionResult{} }

// Decide adds the ranges to the stored ones and to the topics' activity.
func (op RecordViews) Decide(b *batch) (Result, error) {
	for _, r := range op.Ranges {
		b.addViews(r)
	}
	b.event(comment.Event{Kind: comment.EventViews, Views: &comment.Views{Ranges: op.Ranges}})
	return &PositionResult{}, nil
}
