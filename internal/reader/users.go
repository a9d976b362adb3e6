package reader

import (
	"bytes"
	"cmp"
	"slices"
)

// userEntry places one live comment in its user's list, or one vote in
// its voter's list.
type userEntry struct {
	update int64 // unix milliseconds: the comment's update time, or the vote's time
	topic  *topic
	id     int32
	vote   int8 // the vote, in a voter's list; not part of the order
}

func compareEntries(a, b userEntry) int {
	return cmp.Or(cmp.Compare(a.update, b.update), bytes.Compare(a.topic.id[:], b.topic.id[:]), cmp.Compare(a.id, b.id))
}

// userList is a user's live comments, oldest update first, or a voter's
// votes, oldest first. New entries are the newest, so they append; only
// edits and votes given again move an entry.
type userList struct {
	name    string
	entries []userEntry
}

func (l *userList) insert(e userEntry) {
	n := len(l.entries)
	if n == 0 || compareEntries(l.entries[n-1], e) < 0 {
		l.entries = append(l.entries, e)
		return
	}
	i, found := slices.BinarySearchFunc(l.entries, e, compareEntries)
	if !found {
		l.entries = slices.Insert(l.entries, i, e)
	}
}

func (l *userList) remove(e userEntry) {
	if i, found := slices.BinarySearchFunc(l.entries, e, compareEntries); found {
		l.entries = slices.Delete(l.entries, i, i+1)
	}
}

// page returns the entries w selects, newest first.
func (l *userList) page(w Window) []userEntry {
	hi, _ := slices.BinarySearchFunc(l.entries, w.Before, func(e userEntry, t int64) int { return cmp.Compare(e.update, t) })
	if w.After != nil {
		key := userEntry{update: w.After.At, topic: &topic{id: w.After.Topic}, id: w.After.ID}
		at, _ := slices.BinarySearchFunc(l.entries, key, compareEntries)
		hi = min(hi, at) // entries[:at] come strictly before the cursor's
	}
	out := make([]userEntry, 0, min(w.Limit, hi))
	for i := hi - 1; i >= 0 && len(out) < w.Limit; i-- {
		if l.entries[i].update <= w.From {
			break
		}
		out = append(out, l.entries[i])
	}
	return out
}

// cursor is the entry's place in its list.
func (e userEntry) cursor() *Cursor { return &Cursor{At: e.update, Topic: e.topic.id, ID: e.id} }
