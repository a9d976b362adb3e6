package reader

import (
	"encoding/json"
	"net/url"

	"github.com/labstack/echo/v4"

	"github.com/parley/parley/internal/comment"
	"github.com/parley/parley/internal/errs"
)

// MaxCountTopics is the most topics one /topic_counts call names.
const MaxCountTopics = 100

// GET /topic_counts?topic_id=…&topic_key=…&min_position= (each repeatable)
func (h *Handlers) topicCounts(c echo.Context) error {
	q := c.QueryParams()
	asked, err := countParams(q)
	if err != nil {
		return err
	}
	if err := h.ready(c, q); err != nil {
		return err
	}
	body, pos, err := h.proj.TopicCounts(asked)
	if err != nil {
		return err
	}
	// The counts are fixed by the position: the list's ETag fits.
	return h.list(c, List{Body: body, Pos: pos}, q, "")
}

// CountQuery names one topic of a /topic_counts call, as the call named
// it: by id, or by the site's key (Key set).
type CountQuery struct {
	ID  comment.TopicID
	Key *string
}

// countParams reads the topics a /topic_counts call names: every topic_id,
// then every topic_key, in the order given; 1 to MaxCountTopics of them.
func countParams(q url.Values) ([]CountQuery, error) {
	ids, keys := q["topic_id"], q["topic_key"]
	switch n := len(ids) + len(keys); {
	case n == 0:
		return nil, errs.Invalid.New("topic_id or topic_key is required (each may be repeated)")
	case n > MaxCountTopics:
		return nil, errs.Invalid.New("%d topics asked for, over the limit of %d", n, MaxCountTopics)
	}
	out := make([]CountQuery, 0, len(ids)+len(keys))
	for _, s := range ids {
		id, err := comment.ParseTopicID(s)
		if err != nil {
			return nil, err
		}
		out = append(out, CountQuery{ID: id})
	}
	for _, k := range keys {
		id, err := comment.ParseTopicKey(k)
		if err != nil {
			return nil, err
		}
		out = append(out, CountQuery{ID: id, Key: &k})
	}
	return out, nil
}

// topicCount is an item of /topic_counts.
type topicCount struct {
	Topic comment.TopicID `json:"topic_id"`
	Key   *string         `json:"topic_key"` // null when asked by id
	Count int32           `json:"comment_count"`
}

// TopicCounts answers /topic_counts: each topic's count of comments ever
// posted, deleted ones included (/last_topics' comment_count), in the
// order asked, all read at one position. A topic that does not exist
// counts 0: a site asks for its pages' threads, most of them perhaps
// without a comment yet.
func (p *Projection) TopicCounts(asked []CountQuery) ([]byte, int64, error) {
	out := make([]topicCount, len(asked))
	p.mu.RLock()
	pos := p.Applied()
	for i, a := range asked {
		out[i] = topicCount{Topic: a.ID, Key: a.Key}
		if t := p.topics[a.ID]; t != nil {
			out[i].Count = t.count
		}
	}
	p.mu.RUnlock()
	body, err := json.Marshal(out)
	return body, pos, err
}
