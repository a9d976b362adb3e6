package client_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"testing"

	"github.com/parley/parley/client"
)

// v1Write is one /v1 write of a test, and what it answered.
type v1Write struct {
	name    string
	target  string // the method and URL the writer should see
	ifMatch string
	call    func(ctx context.Context, c *client.Client) (position int64, err error)
}

var v1Writes = []v1Write{
	{"create", "POST /v1/topics/t/comments", "", func(ctx context.Context, c *client.Client) (int64, error) {
		r, err := c.CreateComment(ctx, "t", 1, "hello", "ann")
		if err == nil && r.Location != "/v1/topics/t/comments/1" {
			err = fmt.Errorf("Location %q", r.Location)
		}
		return r.Position, err
	}},
	{"update", "PATCH /v1/topics/t/comments/1", `"7"`, func(ctx context.Context, c *client.Client) (int64, error) {
		r, err := c.UpdateComment(ctx, "t", 1, "edited", `"7"`)
		if err == nil && r.ETag != `"1041"` {
			err = fmt.Errorf("ETag %q", r.ETag)
		}
		return r.Position, err
	}},
	{"remove", "DELETE /v1/topics/t/comments/1", `"7"`, func(ctx context.Context, c *client.Client) (int64, error) {
		r, err := c.RemoveComment(ctx, "t", 1, `"7"`)
		return r.Position, err
	}},
	{"vote", "PUT /v1/topics/t/comments/1/vote", "", func(ctx context.Context, c *client.Client) (int64, error) {
		r, err := c.PutVote(ctx, "t", 1, -1, "ann")
		return r.Position, err
	}},
}

// TestV1WriteRetries: a /v1 write of any method is retried under one key,
// with its If-Match, and committed once; its position, from the body or
// from X-Log-Position (DELETE's 204), is the session's.
func TestV1WriteRetries(t *testing.T) {
	for _, w := range v1Writes {
		t.Run(w.name, func(t *testing.T) {
			f, srv := newFlaky(t, "503-after", "reset", "502", "524")
			c := client.New(srv.URL, fast(client.WithSession())...)
			pos, err := w.call(context.Background(), c)
			if err != nil {
				t.Fatal(err)
			}
			if f.writes != 1 || pos != 41 || c.Position() != 41 {
				t.Fatalf("%d writes, position %d, the session's %d", f.writes, pos, c.Position())
			}
			for i, k := range f.seen {
				if k == "" || k != f.seen[0] || f.ifMatch[i] != w.ifMatch || f.targets[i] != w.target {
					t.Fatalf("attempts %q under keys %q, If-Match %q", f.targets, f.seen, f.ifMatch)
				}
			}
			if _, err := c.Comments(context.Background(), client.V1ThreadQuery{TopicID: "t", Limit: 5}); err != nil {
				t.Fatal(err)
			}
			if q := f.queries[len(f.queries)-1]; q != "limit=5&min_position=41" {
				t.Fatalf("the read after the write: %q", q)
			}
		})
	}
}

// TestV1PreconditionFailed: a 412 is final, whatever the method.
func TestV1PreconditionFailed(t *testing.T) {
	for _, w := range v1Writes[1:3] {
		t.Run(w.name, func(t *testing.T) {
			f, srv := newFlaky(t, "412")
			c := client.New(srv.URL, fast()...)
			_, err := w.call(context.Background(), c)
			var e *client.Error
			if !client.IsStatus(err, http.StatusPreconditionFailed) || !errors.As(err, &e) || e.Message != "scripted" {
				t.Fatalf("%v", err)
			}
			if len(f.seen) != 1 || f.writes != 0 || c.Stats().Retries.Load() != 0 || c.Position() != 0 {
				t.Fatalf("%d attempts, %d writes, position %d", len(f.seen), f.writes, c.Position())
			}
		})
	}
}

// TestV1Pages: a list follows its Link to the end, with the path's
// escapes and the min_position it was asked with.
func TestV1Pages(t *testing.T) {
	items := []client.Comment{{Content: "e"}, {Content: "d"}, {Content: "c"}, {Content: "b"}, {Content: "a"}}
	var mu sync.Mutex
	var got []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		got = append(got, r.URL.RequestURI())
		mu.Unlock()
		from, _ := strconv.Atoi(r.URL.Query().Get("before"))
		end := min(from+2, len(items))
		if end < len(items) {
			w.Header().Set("Link", fmt.Sprintf(`</v1/users/a%%2Fb/comments?before=%d&limit=2>; rel="next"`, end))
		}
		_ = json.NewEncoder(w).Encode(items[from:end])
	}))
	t.Cleanup(srv.Close)
	c := client.New(srv.URL, fast()...)
	first, err := c.UserComments(context.Background(), "a/b", client.ListQuery{Limit: 2, MinPosition: 7})
	if err != nil {
		t.Fatal(err)
	}
	all, err := first.All(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	var contents string
	for _, cm := range all {
		contents += cm.Content
	}
	want := []string{
		"/v1/users/a%2Fb/comments?limit=2&min_position=7",
		"/v1/users/a%2Fb/comments?before=2&limit=2&min_position=7",
		"/v1/users/a%2Fb/comments?before=4&limit=2&min_position=7",
	}
	if contents != "edcba" || len(first.Items) != 2 || fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("read %q in %q", contents, got)
	}
}
