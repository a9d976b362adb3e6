package writer

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/parley/parley/internal/comment"
	"github.com/parley/parley/internal/store"
)

// benchSink keeps the benchmarks' results alive, so the compiler cannot
// drop the work that produced them.
var benchSink int

// BenchmarkDecide decides one batch of 256 Post commands (150-byte contents,
// 50 users) replying into 16 existing topics of 100 comments each (the root
// and 99 replies to it), on hand-made state as command_test.go builds it.
// A third of the replies go to the root, a third to an existing reply, and
// a third to a comment posted earlier in the same batch. "keys" gives every
// command an Idempotency-Key, whose stored result decide encodes.
func BenchmarkDecide(b *testing.B) {
	const (
		nTopics   = 16
		nComments = 100
		nCmds     = 256
	)
	st := store.State{
		Keys:     map[string]store.KeyRecord{},
		Topics:   map[comment.TopicID]store.TopicRow{},
		Comments: map[store.CommentRef]store.CommentRow{},
	}
	topics := make([]comment.TopicID, nTopics)
	for i := range topics {
		topics[i] = comment.NewTopicID()
		st.Topics[topics[i]] = store.TopicRow{NextID: nComments, LastActivity: at.Add(-time.Hour)}
		for id := range int32(nComments) {
			path := comment.Path{0, id}
			if id == 0 {
				path = comment.RootPath
			}
			st.Comments[store.CommentRef{Topic: topics[i], ID: id}] = store.CommentRow{
				Path: path, User: fmt.Sprintf("user%d", id%50), Update: at.Add(-time.Duration(nComments-id) * time.Minute),
			}
		}
	}
	content := strings.Repeat("Lorem ipsum dolor sit amet. ", 6)[:150]

	commands := func(keys bool) []*Request {
		cmds := make([]*Request, nCmds)
		paths := make([]comment.Path, nCmds) // what each command posts
		for i := range cmds {
			j := i % nTopics
			var parent comment.Path
			switch {
			case i%3 == 0 || i < nTopics:
				parent = comment.RootPath
			case i%3 == 1:
				parent = comment.Path{0, int32(1 + i%(nComments-1))}
			default:
				parent = paths[i-nTopics] // the topic's previous command's comment
			}
			paths[i] = parent.Child(int32(nComments + i/nTopics))
			cmds[i] = &Request{Cmd: Post{TopicID: &topics[j], Parent: AtPath(parent), User: fmt.Sprintf("user%d", i%50), Content: content}}
			if keys {
				cmds[i].Key = fmt.Sprintf("key-%d", i)
				cmds[i].Fingerprint = []byte(cmds[i].Key)
			}
		}
		ch, out := decide(cmds, st, at)
		for i, d := range out {
			if d.err != nil {
				b.Fatalf("command %d: %v", i, d.err)
			}
			if r := d.result.(*PostResult); r.ParentPath != paths[i].String() {
				b.Fatalf("command %d posted at %s, want %s", i, r.ParentPath, paths[i])
			}
		}
		if len(ch.Events) != nCmds || len(ch.Topics) != nTopics || len(ch.Comments) != nCmds {
			b.Fatalf("%d events, %d topics, %d comments", len(ch.Events), len(ch.Topics), len(ch.Comments))
		}
		return cmds
	}

	for _, keys := range []bool{false, true} {
		b.Run(fmt.Sprintf("post256/topics16/keys=%t", keys), func(b *testing.B) {
			cmds := commands(keys)
			b.ReportAllocs()
			for b.Loop() {
				ch, _ := decide(cmds, st, at)
				benchSink += len(ch.Events) + len(ch.Comments)
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*nCmds), "ns/command")
		})
	}
}
