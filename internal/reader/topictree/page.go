package topictree

import (
	"math"

	"github.com/parley/parley/internal/comment"
	"github.com/parley/parley/internal/errs"
)

// Page is one rendered page of a subtree.
type Page struct {
	Chunks      [][]byte // together, a JSON array of TopicItem objects
	First, Last *Node    // the page's first and last comments; nil when empty
	More        bool     // comments of the subtree follow Last
}

// Render renders the subtree at parent in tree order: from its root, or
// from the comment after after, at most limit comments (0: all), in one go.
func (t *Tree) Render(parent, after comment.Path, limit int) (Page, error) {
	pg, err := t.Pager(parent, after, limit)
	if err != nil {
		return Page{}, err
	}
	for !pg.Next(math.MaxInt, math.MaxInt) {
	}
	return pg.Page(), nil
}

// Pager renders a page a chunk of comments at a time, so that its owner can
// let the tree change between chunks (and apply events) instead of holding
// it for a whole large page. Each chunk is allocated at its exact size.
// Comments created after the pager started are left out, so a page never
// holds a comment newer than its range's max id; edits and deletes made
// between chunks show in the chunks rendered after them.
type Pager struct {
	top, x, last, first *Node
	left                int   // comments the limit still allows
	maxID               int32 // the newest id when the pager started
	chunks              [][]byte
	size                int
	index               *index // where each item is, when rendering a Full
}

// Pager starts a page of the subtree at parent, as Render would render it.
func (t *Tree) Pager(parent, after comment.Path, limit int) (Pager, error) {
	top := t.Find(parent)
	if top == nil {
		return Pager{}, errs.NotFound.New("no comment at parent_path in this topic")
	}
	start := top
	if after != nil {
		a := t.Find(after)
		if a == nil || !after.Within(parent) {
			return Pager{}, errs.Invalid.New("after must be a comment in the requested subtree")
		}
		start = next(a, top)
	}
	if limit <= 0 {
		limit = math.MaxInt
	}
	return Pager{top: top, x: start, left: limit, maxID: int32(len(t.nodes) - 1)}, nil
}

// skipNew moves past comments newer than the pager.
func (p *Pager) skipNew() {
	for p.x != nil && p.x.id > p.maxID {
		p.x = next(p.x, p.top)
	}
}

// Next renders up to n more comments, and about maxBytes at most (at least
// one comment), as one chunk and reports whether the page is complete.
func (p *Pager) Next(n, maxBytes int) bool {
	p.skipNew()
	size, k := 0, 0
	for x := p.x; x != nil && k < n && k < p.left && (k == 0 || size < maxBytes); x = next(x, p.top) {
		if x.id <= p.maxID {
			size += len(x.buf) + itemOverhead
			k++
		}
	}
	if k > 0 {
		b := make([]byte, 0, size+2)
		for k2 := 0; k2 < k; p.x = next(p.x, p.top) {
			if p.x.id > p.maxID {
				continue
			}
			if p.first == nil {
				p.first = p.x
				b = append(b, '[')
			} else {
				b = append(b, ',')
			}
			start := len(b)
			b = p.x.AppendJSON(b, TopicItem, comment.TopicID{})
			if p.index != nil {
				p.index.add(p.x, len(p.chunks), start, len(b))
			}
			p.last = p.x
			k2++
		}
		p.left -= k
		p.size += len(b)
		p.chunks = append(p.chunks, b)
	}
	p.skipNew()
	return p.x == nil || p.left == 0
}

// MaxID is the newest comment id the page may hold: the topic's newest
// when the pager started.
func (p *Pager) MaxID() int32 { return p.maxID }

// Measure walks up to n more comments of the page without rendering them
// and returns the bytes they would take, and whether the page ends there.
// Call it on a copy of a fresh Pager to size a page before rendering it.
func (p *Pager) Measure(n int) (size int, done bool) {
	for k := 0; p.x != nil && k < n && p.left > 0; p.x = next(p.x, p.top) {
		if p.x.id <= p.maxID {
			size += len(p.x.buf) + itemOverhead
			k++
			p.left--
		}
	}
	p.skipNew()
	return size, p.x == nil || p.left == 0
}

// EstimateAll is about the bytes of the whole tree rendered, for budgeting
// a rendering before it starts.
func EstimateAll(t *Tree) int64 { return t.bytes + int64(len(t.nodes))*(itemOverhead-nodeOverhead) + 2 }

// Size is the number of bytes rendered so far.
func (p *Pager) Size() int { return p.size }

// Page closes the array and returns the page; call it once Next has
// reported the page complete.
func (p *Pager) Page() Page {
	if p.first == nil {
		p.chunks = append(p.chunks, []byte("[]"))
	} else {
		last := &p.chunks[len(p.chunks)-1]
		*last = append(*last, ']') // room was reserved
	}
	return Page{Chunks: p.chunks, First: p.first, Last: p.last, More: p.x != nil}
}
