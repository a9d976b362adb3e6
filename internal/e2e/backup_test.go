package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/parley/parley/internal/cli"
	"github.com/parley/parley/internal/pgtest"
)

// backupCLI runs `parley export|import` against a database and returns
// its exit code and what it printed on stderr.
func backupCLI(t *testing.T, db string, args ...string) (int, string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code := cli.Run(context.Background(), args, &out, &errOut, func(k string) string {
		if k == "DATABASE_URL" {
			return db
		}
		return ""
	})
	return code, errOut.String()
}

// TestBackupRoundTrip (issue 13, point 8): a store filled through nginx —
// topics with and without keys, replies, edits, deletes, votes and views —
// is exported with `parley export`, imported into an empty database with
// `parley import`, and a second stack on it answers every read endpoint
// exactly as the first: same bodies, same log position.
func TestBackupRoundTrip(t *testing.T) {
	a := newStack(t, stackOpts{readers: 1})
	users := []string{"ann", "bob", "cy"}
	var topics []string
	for i := range 3 {
		body := map[string]any{"content": fmt.Sprintf("topic %d <i>", i), "user": users[i]}
		if i == 0 {
			body["topic_key"] = "https://site.example/a?b=1"
		}
		topics = append(topics, a.api.Post(t, a.nginx, "/post_comment", body, 201)["topic_id"].(string))
	}
	for i := range 12 {
		topic := topics[i%3]
		parent := "0"
		if i >= 6 {
			parent = fmt.Sprintf("0/%d", i/3-1)
		}
		a.api.Post(t, a.nginx, "/post_comment", map[string]any{"topic_id": topic, "parent_path": parent, "content": fmt.Sprint("reply ", i), "user": users[i%3]}, 201)
	}
	a.api.Post(t, a.nginx, "/edit_comment", map[string]any{"topic_id": topics[0], "parent_path": "0/1", "content": "edited"}, 200)
	a.api.Post(t, a.nginx, "/delete_comment", map[string]any{"topic_id": topics[1], "parent_path": "0/1"}, 200)
	for i, u := range users {
		a.api.Post(t, a.nginx, "/vote_comment", map[string]any{"topic_id": topics[0], "parent_path": "0/1", "value": 1 - 2*(i%2), "user": u}, 200)
		a.api.Post(t, a.nginx, "/vote_comment", map[string]any{"topic_id": topics[2], "parent_path": "0", "value": 1, "user": u}, 200)
	}
	for _, topic := range topics {
		for _, q := range []string{"", "&limit=2", "&sort=top", "&depth=1"} {
			if r := a.api.Get(t, a.nginx+"/topic_comments?topic_id="+topic+q); r.Status != 200 {
				t.Fatalf("GET: %d %s", r.Status, r.Body)
			}
		}
	}
	// A graceful stop sends the reader's counted views to the writer, so
	// the store holds every view before the export.
	a.procs["reader1"].Stop()

	file := filepath.Join(t.TempDir(), "parley.jsonl")
	if code, msg := backupCLI(t, a.db, "export", file); code != 0 {
		t.Fatalf("parley export: %d %s", code, msg)
	} else {
		t.Logf("parley export: %s", strings.TrimSpace(msg))
	}
	restored := pgtest.NewDatabase(t)
	if code, msg := backupCLI(t, restored, "import", file); code != 0 {
		t.Fatalf("parley import: %d %s", code, msg)
	} else {
		t.Logf("parley import: %s", strings.TrimSpace(msg))
	}
	if code, msg := backupCLI(t, restored, "import", file); code != 1 || !strings.Contains(msg, "not empty") {
		t.Fatalf("a second import into the restored store: %d %s", code, msg)
	}

	// Both stacks now read without counting views, so that reading one
	// changes nothing the other is compared with.
	a.env = append(a.env, "VIEW_COUNTING=false")
	a.startReader(t, 0)
	b := newStack(t, stackOpts{readers: 1, db: restored, env: []string{"VIEW_COUNTING=false"}})

	paths := []string{"/last_topics?limit=100", "/hot_topics?limit=100", "/top_comments?limit=100",
		"/topic_counts?" + url.Values{"topic_id": topics, "topic_key": {"https://site.example/a?b=1", "nobody"}}.Encode()}
	for _, topic := range topics {
		paths = append(paths, "/v1/topics/"+topic, "/feeds/topic?topic_id="+topic, "/top_comments?topic_id="+topic)
		for _, sort := range []string{"old", "new", "top", "best", "controversial"} {
			paths = append(paths, "/topic_comments?topic_id="+topic+"&sort="+sort)
		}
	}
	paths = append(paths, "/topic_comments?topic_key="+url.QueryEscape("https://site.example/a?b=1")+"&depth=1")
	for _, u := range users {
		paths = append(paths, "/last_user_comments?limit=100&user="+u, "/user_votes?limit=100&user="+u, "/feeds/user?user="+u)
	}
	hosts := regexp.MustCompile(`http://127\.0\.0\.1:\d+`)
	normal := func(path string, body []byte) string {
		if strings.HasPrefix(path, "/hot_topics") {
			// The score decays with the time of the request.
			var items []map[string]any
			if err := json.Unmarshal(body, &items); err != nil {
				t.Fatal(err)
			}
			for _, it := range items {
				delete(it, "score")
			}
			body, _ = json.Marshal(items)
		}
		return hosts.ReplaceAllString(string(body), "http://site")
	}
	for _, path := range paths {
		ra, rb := a.api.Get(t, a.nginx+path), b.api.Get(t, b.nginx+path)
		if ra.Status != http.StatusOK || rb.Status != http.StatusOK {
			t.Errorf("GET %s: %d before, %d after the restore (%s)", path, ra.Status, rb.Status, rb.Body)
			continue
		}
		if x, y := normal(path, ra.Body), normal(path, rb.Body); x != y {
			t.Errorf("GET %s differs after the restore:\n%s\nwas\n%s", path, y, x)
		}
		if x, y := ra.Header.Get("X-Log-Position"), rb.Header.Get("X-Log-Position"); x != y {
			t.Errorf("GET %s: X-Log-Position %s after the restore, %s before", path, y, x)
		}
	}
	if t.Failed() {
		return
	}
	viewed := a.api.Get(t, a.nginx+"/v1/topics/"+topics[0]).Object(t)["view_count"].(float64)
	if viewed < 4 {
		t.Fatalf("the root of the first topic shows %v views: the comparison saw no views", viewed)
	}
	t.Logf("%d read endpoints answered the same before and after the restore", len(paths))
}
