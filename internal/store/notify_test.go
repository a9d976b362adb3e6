package store_test

import (
	"context"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/parley/parley/internal/comment"
	"github.com/parley/parley/internal/pgtest"
	"github.com/parley/parley/internal/store"
)

// TestNotificationCarriesEvents: a small batch's NOTIFY carries its events,
// which are the log's to the last field; a batch too large to carry sends
// the head alone.
func TestNotificationCarriesEvents(t *testing.T) {
	ctx := context.Background()
	url := pgtest.NewDatabase(t)
	pool := pgtest.Pool(t, url)
	a := store.NewAppender(pool, pgtest.StoreConfig(url))
	r := store.NewReader(pool, pgtest.StoreConfig(url))
	listener, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer listener.Close(ctx)
	if _, err := listener.Exec(ctx, "LISTEN "+store.NotifyChannel); err != nil {
		t.Fatal(err)
	}
	next := func() store.Notification {
		t.Helper()
		wctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		n, err := listener.WaitForNotification(wctx)
		if err != nil {
			t.Fatal(err)
		}
		return store.ParseNotification(n.Payload)
	}

	tests := []struct {
		name    string
		content string
		topics  int
		carried bool
	}{
		{"one comment", "hello", 1, true},
		{"three topics, quotes and newlines", "a \"b\"\nc\u2028", 3, true},
		{"too large to carry", strings.Repeat("x", 9000), 1, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var ch store.Changes
			for i := range tt.topics {
				one := newTopic(fmt.Sprint("user", i))
				one.Comments[0].Content, one.Events[0].Created.Content = tt.content, tt.content
				ch.Topics = append(ch.Topics, one.Topics...)
				ch.Comments = append(ch.Comments, one.Comments...)
				ch.Events = append(ch.Events, one.Events...)
			}
			first, err := appendChanges(ctx, a, ch)
			if err != nil {
				t.Fatal(err)
			}
			head := first + int64(tt.topics) - 1
			n := next()
			if n.Head != head {
				t.Fatalf("notified head %d, want %d", n.Head, head)
			}
			if !tt.carried {
				if n.Events != nil {
					t.Fatalf("a %d-byte batch carried %d events", len(tt.content), len(n.Events))
				}
				return
			}
			logged, err := r.Events(ctx, first-1, 100)
			if err != nil {
				t.Fatal(err)
			}
			if len(n.Events) != len(logged) {
				t.Fatalf("notified %d events, the log holds %d", len(n.Events), len(logged))
			}
			for i, e := range n.Events {
				l := logged[i]
				if e.Position != l.Position || e.Kind != l.Kind || e.Topic != l.Topic || !e.At.Equal(l.At) ||
					!reflect.DeepEqual(e.Created, l.Created) {
					t.Fatalf("notified %+v %+v, logged %+v %+v", e, *e.Created, l, *l.Created)
				}
			}
		})
	}
}

func TestParseNotification(t *testing.T) {
	topic := comment.NewTopicID()
	created := `{"k":"created","t":"` + topic.String() + `","at":1700000000123000,"p":{"path":"0/3","user":"ann","content":"hi"}}`
	tests := []struct {
		payload string
		head    int64
		events  int
	}{
		{"", 0, 0},
		{"17", 17, 0},
		{"17\n[" + created + "]", 17, 1},
		{"17\n[" + created + "," + created + "]", 17, 2},
		{"1\n[" + created + "," + created + "]", 1, 0}, // more events than positions
		{"17\n[]", 17, 0},                                   // none
		{"17\n[" + created[:40], 17, 0},                     // cut short
		{"17\n[{\"k\":\"nope\",\"at\":1,\"p\":{}}]", 17, 0}, // unknown kind
		{"-3\n[" + created + "]", 0, 0},
		{"x\n[" + created + "]", 0, 0},
	}
	for _, tt := range tests {
		n := store.ParseNotification(tt.payload)
		if n.Head != tt.head || len(n.Events) != tt.events {
			t.Errorf("%.60q: head %d, %d events; want %d, %d", tt.payload, n.Head, len(n.Events), tt.head, tt.events)
			continue
		}
		for i, e := range n.Events {
			if want := tt.head - int64(tt.events) + int64(i) + 1; e.Position != want || e.Topic != topic ||
				e.Created.User != "ann" || !e.At.Equal(time.UnixMicro(1700000000123000)) {
				t.Errorf("%.60q: event %d is %+v at position %d, want %d", tt.payload, i, e, e.Position, want)
			}
		}
	}
}

// FuzzParseNotification: any payload parses without a panic, into events
// at consecutive positions that end at the head.
func FuzzParseNotification(f *testing.F) {
	f.Add("12\n[{\"k\":\"created\",\"at\":1,\"p\":{\"path\":\"0\",\"user\":\"a\",\"content\":\"b\"}}]")
	f.Add("3\n[{\"k\":\"views\",\"at\":1,\"p\":{\"ranges\":[]}}]")
	f.Add("9")
	f.Fuzz(func(t *testing.T, payload string) {
		n := store.ParseNotification(payload)
		if n.Head < 0 {
			t.Fatalf("head %d", n.Head)
		}
		for i, e := range n.Events {
			if want := n.Head - int64(len(n.Events)) + int64(i) + 1; e.Position != want || e.Position < 1 {
				t.Fatalf("event %d at %d, want %d (head %d)", i, e.Position, want, n.Head)
			}
		}
	})
}
