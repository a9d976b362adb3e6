package reader_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/parley/parley/internal/pgtest"
	"github.com/parley/parley/internal/reader"
	"github.com/parley/parley/internal/stacktest"
)

// env is a test database with one writer.
type env struct {
	db     string
	writer string
}

func newEnv(t *testing.T) env {
	t.Helper()
	db := pgtest.NewDatabase(t)
	return env{db: db, writer: stacktest.StartWriter(t, stacktest.WriterConfig(t, db))}
}

func (e env) reader(t *testing.T, tune ...func(*reader.Config)) *stacktest.Reader {
	t.Helper()
	cfg := stacktest.ReaderConfig(t, e.db, e.writer)
	for _, f := range tune {
		f(&cfg)
	}
	return stacktest.StartReader(t, cfg)
}

// head is the newest position in the log.
func (e env) head(t *testing.T) int64 {
	t.Helper()
	var p int64
	if err := pgtest.Pool(t, e.db).QueryRow(context.Background(), `SELECT position FROM log_head`).Scan(&p); err != nil {
		t.Fatal(err)
	}
	return p
}

type item struct {
	ID         int32   `json:"comment_id"`
	ParentID   *int32  `json:"parent_id"`
	TopicID    string  `json:"topic_id"`
	ParentPath string  `json:"parent_path"`
	User       string  `json:"user"`
	Content    string  `json:"content"`
	Views      int64   `json:"view_count"`
	Count      int     `json:"comment_count"`
	Update     string  `json:"update_time"`
	Deleted    bool    `json:"deleted"`
	Score      float64 `json:"score"`
}

func getItems(t *testing.T, u string) ([]item, stacktest.Response) {
	t.Helper()
	r := stacktest.Get(t, u)
	if r.Status != http.StatusOK {
		t.Fatalf("GET %s: %d %s", u, r.Status, r.Body)
	}
	var items []item
	r.JSON(t, &items)
	return items, r
}

func topicURL(base, topic string, params ...string) string {
	v := url.Values{"topic_id": {topic}}
	for i := 0; i+1 < len(params); i += 2 {
		v.Set(params[i], params[i+1])
	}
	return base + "/topic_comments?" + v.Encode()
}

func TestWriteVisibleOnBothReaders(t *testing.T) {
	e := newEnv(t)
	r1, r2 := e.reader(t), e.reader(t)
	c := stacktest.PostComment(t, e.writer, "", "", "ann", "hello")
	reply := stacktest.PostComment(t, e.writer, c.Topic, "0", "bob", "hi")
	for _, r := range []*stacktest.Reader{r1, r2} {
		stacktest.Eventually(t, 10*time.Second, func() bool {
			res := stacktest.Get(t, topicURL(r.Base, c.Topic))
			return res.Status == 200 && strings.Contains(string(res.Body), `"parent_path":"`+reply.Path+`"`)
		})
	}
}

func TestReadYourWrites(t *testing.T) {
	e := newEnv(t)
	// Neither polling nor notifications would bring the write in time:
	// only min_position does.
	r := e.reader(t, func(c *reader.Config) {
		c.RefreshInterval = time.Hour
		c.RefreshNotify = false
		c.MinPositionWait = 300 * time.Millisecond
	})
	r.WaitReady(t, 0)
	c := stacktest.PostComment(t, e.writer, "", "", "ann", "hello")
	items, res := getItems(t, topicURL(r.Base, c.Topic, "min_position", fmt.Sprint(c.Position)))
	if len(items) != 1 || items[0].Content != "hello" {
		t.Fatalf("read after write: %+v", items)
	}
	if got := res.Header.Get("X-Log-Position"); got != fmt.Sprint(c.Position) {
		t.Fatalf("X-Log-Position %s, want %d", got, c.Position)
	}
	for _, path := range []string{"/last_topics", "/hot_topics", "/last_user_comments?user=ann&"} {
		sep := "?"
		if strings.Contains(path, "?") {
			sep = ""
		}
		res := stacktest.Get(t, r.Base+path+sep+"min_position="+fmt.Sprint(c.Position+1000))
		if res.Status != http.StatusServiceUnavailable || !strings.Contains(string(res.Body), "min_position") {
			t.Fatalf("%s with a position never reached: %d %s", path, res.Status, res.Body)
		}
	}
}

// readError is a request a reader must refuse: its status and a word of
// its message.
type readError struct {
	url    string // after the reader's base
	status int
	msg    string
}

// wantErrors checks that a reader answers each request with its status,
// a JSON error naming msg, and X-Log-Position, as every answer has.
func wantErrors(t *testing.T, base string, cases []readError) {
	t.Helper()
	for _, tc := range cases {
		res := stacktest.Get(t, base+tc.url)
		var body map[string]string
		res.JSON(t, &body)
		if res.Status != tc.status || !strings.Contains(body["error"], tc.msg) {
			t.Errorf("GET %.80s: %d %s, want %d mentioning %q", tc.url, res.Status, res.Body, tc.status, tc.msg)
		}
		if !strings.HasPrefix(res.Header.Get("Content-Type"), "application/json") || res.Header.Get("X-Log-Position") == "" {
			t.Errorf("GET %.80s: Content-Type %q, X-Log-Position %q", tc.url, res.Header.Get("Content-Type"), res.Header.Get("X-Log-Position"))
		}
	}
}

func TestReadErrors(t *testing.T) {
	e := newEnv(t)
	r := e.reader(t)
	c := stacktest.PostComment(t, e.writer, "", "", "ann", "hello")
	r.WaitReady(t, c.Position)
	unknown := "6f1c0e0a-3d5e-4c1b-9a57-0b9d1c2e3f40"
	wantErrors(t, r.Base, []readError{
		{"/topic_comments", 400, "topic_id"},
		{"/topic_comments?topic_id=nope", 400, "UUID"},
		{"/topic_comments?topic_id=" + unknown, 404, "topic"},
		{"/topic_comments?topic_id=" + c.Topic + "&parent_path=0/", 400, "parent_path"},
		{"/topic_comments?topic_id=" + c.Topic + "&parent_path=0/7", 404, "parent_path"},
		{"/topic_comments?topic_id=" + c.Topic + "&limit=0", 400, "limit"},
		{"/topic_comments?topic_id=" + c.Topic + "&limit=-1", 400, "limit"},
		{"/topic_comments?topic_id=" + c.Topic + "&limit=1.5", 400, "limit"},
		{"/topic_comments?topic_id=" + c.Topic + "&limit=", 400, "limit"},
		{"/topic_comments?topic_id=" + c.Topic + "&after=x", 400, "after"},
		{"/topic_comments?topic_id=" + c.Topic + "&after=0/5", 400, "after"},
		{"/topic_comments?topic_id=" + c.Topic + "&min_position=x", 400, "min_position"},
		{"/topic_comments?topic_id=" + c.Topic + "&min_position=-1", 400, "min_position"},
		{"/topic_comments?topic_id=" + c.Topic + "&sort=hot", 400, "sort"},
		{"/topic_comments?topic_id=" + c.Topic + "&sort=", 400, "sort"},
		{"/topic_comments?topic_id=" + c.Topic + "&sort=BEST", 400, "sort"},
		{"/last_user_comments", 400, "user"},
		{"/last_user_comments?user=", 400, "user"},
		{"/last_user_comments?user=" + strings.Repeat("a", 65), 400, "user"},
		{"/last_user_comments?user=a%00b", 400, "control"},
		{"/last_user_comments?user=ann&from_time=yesterday", 400, "from_time"},
		{"/last_user_comments?user=ann&before=2026-13-01T00:00:00Z", 400, "before"},
		{"/last_topics?limit=abc", 400, "limit"},
		{"/last_topics?from_time=1e9", 400, "from_time"},
		{"/hot_topics?limit=0", 400, "limit"},
		{"/nope", 404, "not found"},
	})
	if res := stacktest.Do(t, http.MethodPost, r.Base+"/topic_comments", "{}"); res.Status != http.StatusMethodNotAllowed {
		t.Errorf("POST to the reader: %d", res.Status)
	}
	// Valid edge cases: big limits are clamped, times in both forms.
	for _, u := range []string{
		"/topic_comments?topic_id=" + strings.ToUpper(c.Topic) + "&limit=1000000",
		"/last_topics?limit=1000&from_time=0&before=2100-01-01T00:00:00Z",
		"/last_user_comments?user=ann&from_time=1700000000.5&before=4102444800",
		"/hot_topics?limit=101",
	} {
		if items, _ := getItems(t, r.Base+u); len(items) != 1 {
			t.Errorf("GET %s: %d items, want 1", u, len(items))
		}
	}
}

func TestListLimits(t *testing.T) {
	e := newEnv(t)
	r := e.reader(t)
	var last stacktest.Comment
	for i := range 105 {
		last = stacktest.PostComment(t, e.writer, "", "", "ann", fmt.Sprint("topic ", i))
	}
	r.WaitReady(t, last.Position)
	for _, tc := range []struct {
		url  string
		want int
	}{
		{"/last_topics", 10}, {"/last_topics?limit=3", 3}, {"/last_topics?limit=500", 100},
		{"/hot_topics?limit=500", 100}, {"/last_user_comments?user=ann&limit=100", 100},
	} {
		if items, _ := getItems(t, r.Base+tc.url); len(items) != tc.want {
			t.Errorf("%s: %d items, want %d", tc.url, len(items), tc.want)
		}
	}
	// Newest first. Topics posted in the same millisecond tie on
	// update_time (and are then ordered by topic id), so compare times.
	all, _ := getItems(t, r.Base+"/last_topics?limit=100")
	for i := 1; i < len(all); i++ {
		if all[i].Update > all[i-1].Update {
			t.Fatalf("not newest first at %d: %s after %s", i, all[i].Update, all[i-1].Update)
		}
	}
	newest := false // the last one posted is among those at the newest time
	for _, it := range all {
		newest = newest || (it.Content == "topic 104" && it.Update == all[0].Update)
	}
	if !newest {
		t.Fatalf("topic 104 is not at the top: %+v", all[:3])
	}
	// Paging back with before: strictly older than the given time.
	cut := all[10].Update
	older, _ := getItems(t, r.Base+"/last_topics?limit=100&before="+url.QueryEscape(cut))
	if len(older) == 0 || older[0].Update >= cut {
		t.Fatalf("before %s: %+v", cut, older)
	}
	for _, it := range all {
		if it.Update < cut && it.TopicID == older[0].TopicID {
			return
		}
	}
	t.Fatalf("before %s starts at %s, which the full list does not have below the cut", cut, older[0].TopicID)
}

func TestETagAndHead(t *testing.T) {
	e := newEnv(t)
	r := e.reader(t, func(c *reader.Config) { c.ViewFlushInterval = time.Hour })
	c := stacktest.PostComment(t, e.writer, "", "", "ann", "hello")
	r.WaitReady(t, c.Position)
	u := topicURL(r.Base, c.Topic)

	first := stacktest.Get(t, u)
	tag := first.Header.Get("ETag")
	if tag == "" {
		t.Fatal("no ETag")
	}
	if res := stacktest.Get(t, u, "If-None-Match", tag); res.Status != http.StatusNotModified || len(res.Body) != 0 {
		t.Fatalf("If-None-Match: %d %q", res.Status, res.Body)
	}
	head := stacktest.Do(t, http.MethodHead, u, nil)
	if head.Status != 200 || len(head.Body) != 0 || head.Header.Get("Content-Length") != fmt.Sprint(len(first.Body)) {
		t.Fatalf("HEAD: %d, %d bytes, Content-Length %s", head.Status, len(head.Body), head.Header.Get("Content-Length"))
	}
	reply := stacktest.PostComment(t, e.writer, c.Topic, "0", "bob", "hi")
	res := stacktest.Get(t, u+"&min_position="+fmt.Sprint(reply.Position), "If-None-Match", tag)
	if res.Status != 200 || res.Header.Get("ETag") == tag {
		t.Fatalf("after a change: %d, ETag %s", res.Status, res.Header.Get("ETag"))
	}
	lt := stacktest.Get(t, r.Base+"/last_topics")
	if res := stacktest.Get(t, r.Base+"/last_topics", "If-None-Match", lt.Header.Get("ETag")); res.Status != http.StatusNotModified {
		t.Fatalf("last_topics If-None-Match: %d", res.Status)
	}
	// Only the two full GETs returned comments: 304s and HEADs count no view.
	r.Stop() // flushes
	r2 := e.reader(t)
	r2.WaitReady(t, e.head(t))
	users, _ := getItems(t, r2.Base+"/last_user_comments?user=ann")
	if users[0].Views != 2 {
		t.Fatalf("root views %d, want 2 (GET, GET after the change)", users[0].Views)
	}
}

// viewCounts reads every comment's view count through last_user_comments,
// which counts no views itself. Each comment in these tests has its own user.
func viewCounts(t *testing.T, base string, users []string) map[string]int64 {
	t.Helper()
	m := map[string]int64{}
	for _, u := range users {
		items, _ := getItems(t, base+"/last_user_comments?user="+u)
		for _, it := range items {
			m[it.ParentPath] = it.Views
		}
	}
	return m
}

func TestViewsExactAcrossReaders(t *testing.T) {
	e := newEnv(t)
	r1, r2 := e.reader(t), e.reader(t)
	// A third reader holds its views until it stops.
	r3 := e.reader(t, func(c *reader.Config) { c.ViewFlushInterval = time.Hour })
	users := []string{"u0", "u1", "u2", "u3", "u4"}
	c := stacktest.PostComment(t, e.writer, "", "", "u0", "root")
	stacktest.PostComment(t, e.writer, c.Topic, "0", "u1", "a")
	stacktest.PostComment(t, e.writer, c.Topic, "0/1", "u2", "b")
	last := stacktest.PostComment(t, e.writer, c.Topic, "0", "u3", "c")
	min := fmt.Sprint(last.Position)

	for range 3 {
		getItems(t, topicURL(r1.Base, c.Topic, "min_position", min))
	}
	for range 2 {
		getItems(t, topicURL(r2.Base, c.Topic, "min_position", min, "parent_path", "0/1"))
	}
	r3.WaitReady(t, last.Position)
	page, _ := getItems(t, topicURL(r1.Base, c.Topic, "min_position", min, "limit", "2"))
	if len(page) != 2 {
		t.Fatalf("page %+v", page)
	}
	getItems(t, topicURL(r3.Base, c.Topic, "min_position", min, "after", "0/1/2"))
	// A comment created after those views, inside their ranges, gets none.
	late := stacktest.PostComment(t, e.writer, c.Topic, "0/1", "u4", "late")
	getItems(t, topicURL(r2.Base, c.Topic, "min_position", fmt.Sprint(late.Position)))

	want := map[string]int64{"0": 3 + 1 + 1, "0/1": 3 + 2 + 1 + 1, "0/1/2": 3 + 2 + 1, "0/3": 3 + 1, "0/1/4": 1}
	r3.Stop() // its one view (of 0/3) is flushed on the way out
	want["0/3"]++
	for _, r := range []*stacktest.Reader{r1, r2} {
		stacktest.Eventually(t, 10*time.Second, func() bool {
			got := viewCounts(t, r.Base, users)
			return fmt.Sprint(got) == fmt.Sprint(want)
		})
	}
	// And they stay exact: nothing is counted twice later. Once every view
	// is confirmed and a whole flush has run since, whatever a flush would
	// send again is in the log; the readers apply it all.
	quiet(t, r1, r2)
	for _, r := range []*stacktest.Reader{r1, r2} {
		r.WaitReady(t, e.head(t))
	}
	for _, r := range []*stacktest.Reader{r1, r2} {
		if got := viewCounts(t, r.Base, users); fmt.Sprint(got) != fmt.Sprint(want) {
			t.Fatalf("view counts moved to %v, want %v", got, want)
		}
	}
	// A fresh reader computes the same counts from Postgres.
	r4 := e.reader(t)
	r4.WaitReady(t, e.head(t))
	if got := viewCounts(t, r4.Base, users); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("fresh reader: %v, want %v", got, want)
	}
}

// TestViewWorkPerFlush: many GETs of the same responses cost one range row
// each, whatever their number and whatever the size of the topic.
func TestViewWorkPerFlush(t *testing.T) {
	e := newEnv(t)
	r := e.reader(t, func(c *reader.Config) { c.ViewFlushInterval = 200 * time.Millisecond })
	c := stacktest.PostComment(t, e.writer, "", "", "ann", "root")
	var last stacktest.Comment
	for i := range 200 {
		last = stacktest.PostComment(t, e.writer, c.Topic, "0", "bob", fmt.Sprint(i))
	}
	r.WaitReady(t, last.Position)
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 50 {
				getItems(t, topicURL(r.Base, c.Topic))
				getItems(t, topicURL(r.Base, c.Topic, "parent_path", "0/7"))
			}
		}()
	}
	wg.Wait()
	pool := pgtest.Pool(t, e.db)
	var rows, views int64
	stacktest.Eventually(t, 10*time.Second, func() bool {
		_ = pool.QueryRow(context.Background(), `SELECT count(*), coalesce(sum(views), 0) FROM view_ranges`).Scan(&rows, &views)
		return views == 800
	})
	if rows != 2 {
		t.Fatalf("800 GETs of 2 distinct responses stored %d range rows, want 2", rows)
	}
	var events int64
	_ = pool.QueryRow(context.Background(), `SELECT count(*) FROM events WHERE kind = 'views'`).Scan(&events)
	t.Logf("800 GETs over 201 comments: %d view events, %d range rows", events, rows)
}

func TestEvictionAndReload(t *testing.T) {
	e := newEnv(t)
	big := e.reader(t)
	small := e.reader(t, func(c *reader.Config) { c.CacheMaxBytes = 6000 })
	var topics []string
	var last stacktest.Comment
	for i := range 6 {
		c := stacktest.PostComment(t, e.writer, "", "", "ann", fmt.Sprint("topic ", i))
		for j := range 8 {
			last = stacktest.PostComment(t, e.writer, c.Topic, "0", fmt.Sprint("user", j%3), strings.Repeat("x", 100))
		}
		topics = append(topics, c.Topic)
	}
	big.WaitReady(t, last.Position)
	small.WaitReady(t, last.Position)
	if st := small.Proj.Stats(); st.Evictions == 0 || st.ResidentBytes > 6000 {
		t.Fatalf("no eviction under a 6000-byte bound: %+v", st)
	}
	check := func() {
		t.Helper()
		for _, topic := range topics {
			a, _ := getItems(t, topicURL(big.Base, topic))
			b, _ := getItems(t, topicURL(small.Base, topic))
			for i := range a { // the reads themselves add views, at different times
				a[i].Views = 0
			}
			for i := range b {
				b[i].Views = 0
			}
			if x, y := asJSON(t, a), asJSON(t, b); x != y {
				t.Fatalf("topic %s differs:\n%s\n%s", topic, x, y)
			}
		}
	}
	check()
	// Writes to evicted topics, then reads again.
	for _, topic := range topics {
		last = stacktest.PostComment(t, e.writer, topic, "0/1", "late", "late reply")
	}
	big.WaitReady(t, last.Position)
	small.WaitReady(t, last.Position)
	check()
	items, _ := getItems(t, small.Base+"/last_user_comments?user=user1&limit=100")
	if len(items) != 6*3 {
		t.Fatalf("user1 has %d comments across evicted topics, want 18", len(items))
	}
	if st := small.Proj.Stats(); st.Reloads == 0 {
		t.Fatalf("no reloads: %+v", st)
	}
}

func asJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// sameState compares two projections' states, bit for bit (hot keys too).
func sameState(t *testing.T, a, b reader.State) {
	t.Helper()
	if a.Applied != b.Applied {
		t.Fatalf("positions %d and %d", a.Applied, b.Applied)
	}
	if len(a.Topics) != len(b.Topics) {
		t.Fatalf("%d and %d topics", len(a.Topics), len(b.Topics))
	}
	for i := range a.Topics {
		x, y := a.Topics[i], b.Topics[i]
		if x.Tree == "" || y.Tree == "" {
			x.Tree, y.Tree = "", "" // one of them evicted it
		}
		if x != y {
			t.Fatalf("topic differs:\n%+v\n%+v", x, y)
		}
	}
	if !slices.Equal(a.ByActivity, b.ByActivity) {
		t.Fatal("last-activity order differs")
	}
	if fmt.Sprint(a.Users) != fmt.Sprint(b.Users) {
		t.Fatalf("users differ:\n%v\n%v", a.Users, b.Users)
	}
	if !slices.Equal(a.ByHot, b.ByHot) {
		t.Fatal("hot order differs")
	}
	if fmt.Sprint(a.Voters) != fmt.Sprint(b.Voters) {
		t.Fatalf("voters differ:\n%v\n%v", a.Voters, b.Voters)
	}
	if !slices.Equal(a.Top, b.Top) {
		t.Fatalf("top comments differ:\n%v\n%v", a.Top, b.Top)
	}
}

// quiet waits until each reader has no view left to send (every batch
// confirmed by the writer, so in the log) and has run a whole flush since.
// No view may be counted while it waits.
func quiet(t *testing.T, readers ...*stacktest.Reader) {
	t.Helper()
	for _, r := range readers {
		stacktest.Eventually(t, 10*time.Second, func() bool { return r.Views.Pending() == 0 })
		n := r.Views.Flushes().Flushes
		stacktest.Eventually(t, 10*time.Second, func() bool { return r.Views.Flushes().Flushes >= n+2 })
		if p := r.Views.Pending(); p != 0 {
			t.Fatalf("%d view ranges to send after all were confirmed", p)
		}
	}
}

// settle waits, once the writes are done, until the readers' views are all
// in the log, so that it stops growing, and every reader has applied it; it
// returns the final position. readers must include every reader that served
// views.
func settle(t *testing.T, e env, readers ...*stacktest.Reader) int64 {
	t.Helper()
	quiet(t, readers...)
	head := e.head(t)
	for _, r := range readers {
		r.WaitReady(t, head)
	}
	return head
}

// workload posts topics, replies, edits, deletes, votes and reads (views) through
// several writers at once, and returns when done.
func workload(t *testing.T, writers []string, readers []*stacktest.Reader, rounds int) {
	t.Helper()
	var wg sync.WaitGroup
	for w := range 6 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			base := writers[w%len(writers)]
			rd := readers[w%len(readers)]
			c := stacktest.PostComment(t, base, "", "", fmt.Sprint("user", w), "topic")
			paths := []string{"0"}
			for i := range rounds {
				p := paths[(i*7)%len(paths)]
				r := stacktest.Do(t, http.MethodPost, base+"/post_comment",
					map[string]any{"topic_id": c.Topic, "parent_path": p, "user": fmt.Sprint("user", i%4), "content": fmt.Sprint("reply ", i)})
				if r.Status == 201 {
					paths = append(paths, r.Object(t)["parent_path"].(string))
				} else if r.Status != 409 { // a reply to a comment deleted meanwhile
					t.Errorf("post: %d %s", r.Status, r.Body)
				}
				switch i % 5 {
				case 0, 2:
					stacktest.Do(t, http.MethodPost, base+"/vote_comment", map[string]any{"topic_id": c.Topic,
						"parent_path": paths[(i*3)%len(paths)], "user": fmt.Sprint("voter", i%3), "value": []int{1, -1, 0, 1}[(i/5)%4]})
				case 1:
					stacktest.Do(t, http.MethodPost, base+"/edit_comment", map[string]any{"topic_id": c.Topic, "parent_path": paths[i%len(paths)], "content": "edited"})
				case 3:
					stacktest.Do(t, http.MethodPost, base+"/delete_comment", map[string]any{"topic_id": c.Topic, "parent_path": paths[len(paths)/2]})
				case 4:
					stacktest.Get(t, topicURL(rd.Base, c.Topic))
					stacktest.Get(t, topicURL(rd.Base, c.Topic, "parent_path", paths[len(paths)/3], "limit", "3"))
				}
			}
		}()
	}
	wg.Wait()
}

// TestReadersConverge: two writers and readers under concurrent writes.
// A reader that ran all along, one that started in the middle, one
// restarted, and one started at the end all hold the same state: no event
// was skipped or applied twice, whatever the commit order.
func TestReadersConverge(t *testing.T) {
	e := newEnv(t)
	w2 := stacktest.StartWriter(t, stacktest.WriterConfig(t, e.db))
	writers := []string{e.writer, w2}
	all := e.reader(t)
	restarted := e.reader(t)
	done := make(chan struct{})
	var late *stacktest.Reader
	go func() {
		defer close(done)
		workload(t, writers, []*stacktest.Reader{all}, 40)
	}()
	// Some writes in, most still to come (the first workload appends about
	// 350 events).
	stacktest.Eventually(t, 20*time.Second, func() bool { return e.head(t) >= 50 })
	late = e.reader(t) // starts while writes are in flight
	restarted.Stop()
	<-done
	workload(t, writers, []*stacktest.Reader{all, late}, 10)
	again := e.reader(t)
	settle(t, e, all, late, again)
	fresh := e.reader(t)
	settle(t, e, all, late, again, fresh)

	ref := fresh.Proj.Dump()
	if len(ref.Topics) != 12 || len(ref.Voters) != 3 || len(ref.Top) == 0 {
		t.Fatalf("%d topics, %d voters, %d voted comments", len(ref.Topics), len(ref.Voters), len(ref.Top))
	}
	for name, r := range map[string]*stacktest.Reader{"running all along": all, "started mid-way": late, "restarted": again} {
		t.Run(name, func(t *testing.T) { sameState(t, r.Proj.Dump(), ref) })
	}
}
