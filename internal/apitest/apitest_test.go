package apitest_test

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"go.uber.org/goleak"

	"github.com/parley/parley/internal/apitest"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// recorder is a testing.TB whose Errorf records instead of failing, so a
// test can see what the transport reports.
type recorder struct {
	testing.TB
	mu   sync.Mutex
	errs []string
}

func (r *recorder) Errorf(format string, args ...any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.errs = append(r.errs, fmt.Sprintf(format, args...))
}

func (r *recorder) Helper() {}

func (r *recorder) reports() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.errs...)
}

const (
	topicID = "6f1c0e0a-3d5e-4c1b-9a57-0b9d1c2e3f40"
	topic   = `{"topic_id":"` + topicID + `","user":"ann","content":"First!","view_count":3,"up":1,"down":0,"key":null,"comment_count":2,"update_time":"2026-11-22T23:19:36.123Z"}`
)

// answer writes a JSON answer with the headers given as name, value pairs.
func answer(code int, body string, headers ...string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		for i := 0; i < len(headers); i += 2 {
			w.Header().Set(headers[i], headers[i+1])
		}
		if body != "" {
			w.Header().Set("Content-Type", "application/json")
		}
		w.WriteHeader(code)
		if r.Method != http.MethodHead {
			_, _ = io.WriteString(w, body)
		}
	}
}

func TestTransport(t *testing.T) {
	cases := []struct {
		name    string
		method  string
		path    string
		body    string
		headers []string // request headers, name, value pairs
		handler http.HandlerFunc
		want    []string // what each report says (substrings joined by " && "); none: no report
	}{
		{
			name: "conforming list", method: "GET", path: "/last_topics?limit=2",
			handler: answer(200, "["+topic+"]", "X-Log-Position", "7", "ETag", `"p7"`),
		},
		{
			name: "conforming v1 list with a Link", method: "GET", path: "/v1/users/a%2Fb/comments?limit=1",
			handler: answer(200, `[{"comment_id":3,"topic_id":"`+topicID+`","parent_path":"0/3","user":"a/b","content":"hi","view_count":0,"up":0,"down":0,"update_time":"2026-11-22T23:19:36.123Z"}]`,
				"X-Log-Position", "7", "ETag", `"p7"`, "Link", `</v1/users/a%2Fb/comments?before=2026-11-22T23%3A19%3A36.123Z&limit=1>; rel="next"`),
		},
		{
			name: "conforming write", method: "POST", path: "/post_comment",
			body: `{"content":"hi","user":"ann"}`, headers: []string{"Content-Type", "application/json", "Idempotency-Key", "k1"},
			handler: answer(201, `{"comment_id":0,"parent_path":"0","topic_id":"`+topicID+`","new_topic":true,"position":12}`, "X-Log-Position", "12"),
		},
		{
			name: "a body without a Content-Type is JSON", method: "POST", path: "/vote_comment",
			body:    `{"topic_id":"` + topicID + `","parent_path":"0","value":-1,"user":"ann"}`,
			handler: answer(200, `{"up":0,"down":1,"position":13}`, "X-Log-Position", "13"),
		},
		{
			name: "conforming 201 with Location", method: "POST", path: "/v1/topics/" + topicID + "/comments",
			body: `{"content":"hi","parent_id":null,"user":"ann"}`, headers: []string{"Content-Type", "application/json"},
			handler: answer(201, `{"comment_id":4,"parent_path":"0/4","topic_id":"`+topicID+`","new_topic":false,"position":14}`,
				"X-Log-Position", "14", "Location", "/v1/topics/"+topicID+"/comments/4"),
		},
		{
			name: "conforming HEAD", method: "HEAD", path: "/last_topics",
			handler: answer(200, "[]", "X-Log-Position", "7", "ETag", `"p7"`),
		},
		{
			name: "conforming 304", method: "GET", path: "/last_topics", headers: []string{"If-None-Match", `"p7"`},
			handler: answer(304, "", "X-Log-Position", "7", "ETag", `"p7"`),
		},
		{
			name: "conforming 204", method: "DELETE", path: "/v1/topics/" + topicID + "/comments/3", headers: []string{"If-Match", `"1795475976123"`},
			handler: answer(204, "", "X-Log-Position", "15"),
		},
		{
			name: "a refused request answered 400", method: "GET", path: "/topic_comments?topic_id=nope",
			handler: answer(400, `{"error":"topic_id must be a UUID"}`, "X-Log-Position", "7"),
		},
		{
			name: "a write error", method: "POST", path: "/edit_comment",
			body:    `{"topic_id":"` + topicID + `","parent_path":"0/3","content":"x"}`,
			handler: answer(409, `{"error":"cannot edit a deleted comment"}`),
		},
		{
			name: "nginx's 429", method: "POST", path: "/v1/topics", body: `{"content":"hi","user":"ann"}`,
			handler: answer(429, `{"error":"too many requests"}`),
		},
		{
			name: "wrong-shaped body", method: "GET", path: "/last_topics",
			handler: answer(200, `[{"topic_id":1}]`, "X-Log-Position", "7", "ETag", `"p7"`),
			want:    []string{"/0/topic_id"},
		},
		{
			name: "an undocumented field", method: "GET", path: "/last_topics",
			handler: answer(200, "["+strings.TrimSuffix(topic, "}")+`,"label":"x"}]`, "X-Log-Position", "7", "ETag", `"p7"`),
			want:    []string{`"label"`},
		},
		{
			name: "a missing required field", method: "POST", path: "/post_comment", body: `{"content":"hi","user":"ann"}`,
			handler: answer(201, `{"comment_id":0,"parent_path":"0","topic_id":"`+topicID+`","new_topic":true}`, "X-Log-Position", "12"),
			want:    []string{`"position"`},
		},
		{
			name: "a time without milliseconds", method: "GET", path: "/v1/topics/" + topicID,
			handler: answer(200, strings.Replace(topic, ".123Z", "Z", 1), "X-Log-Position", "7"),
			want:    []string{"/update_time"},
		},
		{
			name: "missing X-Log-Position", method: "GET", path: "/last_topics",
			handler: answer(200, "[]", "ETag", `"p7"`),
			want:    []string{"X-Log-Position"},
		},
		{
			name: "a missing header and a wrong body, both", method: "GET", path: "/v1/comments",
			handler: answer(200, `[{"comment_id":-1}]`, "X-Log-Position", "7"),
			want:    []string{`"ETag" missing && /0/comment_id`},
		},
		{
			name: "missing X-Log-Position on a reader's error", method: "GET", path: "/topic_comments?topic_id=" + topicID,
			handler: answer(404, `{"error":"topic not found"}`),
			want:    []string{"X-Log-Position"},
		},
		{
			name: "missing Location", method: "POST", path: "/v1/topics", body: `{"content":"hi","user":"ann"}`,
			handler: answer(201, `{"comment_id":0,"parent_path":"0","topic_id":"`+topicID+`","new_topic":true,"position":12}`, "X-Log-Position", "12"),
			want:    []string{"Location"},
		},
		{
			name: "304 without ETag", method: "GET", path: "/last_topics", headers: []string{"If-None-Match", `"p7"`},
			handler: answer(304, "", "X-Log-Position", "7"),
			want:    []string{"ETag"},
		},
		{
			name: "HEAD without X-Log-Position", method: "HEAD", path: "/v1/comments",
			handler: answer(200, "[]", "ETag", `"p7"`),
			want:    []string{"X-Log-Position"},
		},
		{
			name: "an error that is not {error}", method: "GET", path: "/last_topics?limit=x",
			handler: answer(400, `{"message":"bad limit"}`, "X-Log-Position", "7"),
			want:    []string{"answered 400, not as"},
		},
		{
			name: "undocumented status", method: "GET", path: "/last_topics",
			handler: answer(418, `{"error":"teapot"}`, "X-Log-Position", "7"),
			want:    []string{"answered 418, a status the API document does not list"},
		},
		{
			name: "undocumented status of a write", method: "POST", path: "/ban_user", body: `{"user_id":"u1"}`,
			handler: answer(404, `{"error":"not found"}`),
			want:    []string{"answered 404, a status"},
		},
		{
			name: "undocumented path, answered 404", method: "GET", path: "/last_comments",
			handler: answer(404, `{"error":"not found"}`),
		},
		{
			name: "undocumented path, served", method: "GET", path: "/last_comments",
			handler: answer(200, `[]`),
			want:    []string{"GET /last_comments: the API document lacks its path, but it was answered 200"},
		},
		{
			name: "undocumented method, answered 405", method: "PUT", path: "/last_topics",
			handler: answer(405, `{"error":"method not allowed"}`, "Allow", "GET, HEAD"),
		},
		{
			name: "undocumented method, 405 without Allow", method: "PUT", path: "/last_topics",
			handler: answer(405, `{"error":"method not allowed"}`),
			want:    []string{"PUT /last_topics: the API document lacks this method of its path, but it was answered 405"},
		},
		{
			name: "a refused request answered 200", method: "GET", path: "/last_topics?limit=0",
			handler: answer(200, "[]", "X-Log-Position", "7", "ETag", `"p7"`),
			want:    []string{"refuses the request"},
		},
		{
			name: "a refused body answered 201", method: "POST", path: "/v1/topics", body: `{"content":"hi","Content":"x"}`,
			handler: answer(201, `{"comment_id":0,"parent_path":"0","topic_id":"`+topicID+`","new_topic":true,"position":12}`,
				"X-Log-Position", "12", "Location", "/v1/topics/"+topicID),
			want: []string{"refuses the request"},
		},
		{
			name: "a refused Idempotency-Key answered 200", method: "POST", path: "/delete_comment",
			body: `{"topic_id":"` + topicID + `","parent_path":"0"}`, headers: []string{"Idempotency-Key", "two words"},
			handler: answer(200, `{"position":16}`, "X-Log-Position", "16"),
			want:    []string{"refuses the request"},
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var got string
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				b, _ := io.ReadAll(r.Body)
				got = string(b)
				c.handler(w, r)
			}))
			defer srv.Close()
			rec := &recorder{TB: t}
			client := &http.Client{Transport: apitest.Transport(rec, srv.Client().Transport)}
			var body io.Reader
			if c.body != "" {
				body = strings.NewReader(c.body)
			}
			req, err := http.NewRequest(c.method, srv.URL+c.path, body)
			if err != nil {
				t.Fatal(err)
			}
			for i := 0; i < len(c.headers); i += 2 {
				req.Header.Set(c.headers[i], c.headers[i+1])
			}
			res, err := client.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			b, err := io.ReadAll(res.Body)
			res.Body.Close()
			if err != nil {
				t.Fatal(err)
			}
			if got != c.body {
				t.Errorf("the server got the body %q, want %q", got, c.body)
			}
			if want := recordedBody(t, c.handler, c.method); string(b) != want {
				t.Errorf("the caller got the body %q, want %q", b, want)
			}
			reports := rec.reports()
			if len(reports) != len(c.want) {
				t.Fatalf("%d reports, want %d:\n%s", len(reports), len(c.want), strings.Join(reports, "\n"))
			}
			for i, want := range c.want {
				for _, w := range strings.Split(want, " && ") {
					if !strings.Contains(reports[i], w) {
						t.Errorf("report %q does not say %q", reports[i], w)
					}
				}
			}
		})
	}
}

// recordedBody is the body h answers method with.
func recordedBody(t *testing.T, h http.HandlerFunc, method string) string {
	t.Helper()
	w := httptest.NewRecorder()
	h(w, httptest.NewRequest(method, "/", nil))
	if method == http.MethodHead {
		return ""
	}
	return w.Body.String()
}

// TestTransportConcurrent: many requests at once, conforming and not, each
// bad one reported once (run with -race).
func TestTransportConcurrent(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Query().Get("limit") == "3" {
			answer(200, `[{"topic_id":3}]`, "X-Log-Position", "7", "ETag", `"p7"`)(w, r)
			return
		}
		answer(200, "["+topic+"]", "X-Log-Position", "7", "ETag", `"p7"`)(w, r)
	}))
	defer srv.Close()
	rec := &recorder{TB: t}
	client := &http.Client{Transport: apitest.Transport(rec, srv.Client().Transport)}
	const n = 64
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			res, err := client.Get(fmt.Sprintf("%s/last_topics?limit=%d", srv.URL, i%4+1))
			if err != nil {
				t.Error(err)
				return
			}
			_, _ = io.Copy(io.Discard, res.Body)
			res.Body.Close()
		})
	}
	wg.Wait()
	if got := len(rec.reports()); got != n/4 {
		t.Fatalf("%d reports, want %d", got, n/4)
	}
}

// TestTransportAfterTheTest: a request made through a test's transport
// after that test ended is sent, and its problems do not fail (or panic)
// a test that is over.
func TestTransportAfterTheTest(t *testing.T) {
	srv := httptest.NewServer(answer(418, `{"error":"teapot"}`))
	defer srv.Close()
	var client *http.Client
	t.Run("sub", func(t *testing.T) {
		client = &http.Client{Transport: apitest.Transport(t, srv.Client().Transport)}
	})
	res, err := client.Get(srv.URL + "/hot_topics")
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != 418 {
		t.Fatalf("status %d", res.StatusCode)
	}
}

type roundTripper func(*http.Request) (*http.Response, error)

func (f roundTripper) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// TestBodyWhereNone: a body on an answer the document gives none (which a
// Go server would not send, so the base transport makes them up).
func TestBodyWhereNone(t *testing.T) {
	for _, c := range []struct{ method, path, want string }{
		{"DELETE", "/v1/topics/" + topicID + "/comments/3", "a body where the API document has none"},
		{"HEAD", "/v1/topics/" + topicID + "/comments/3", "a body in answer to HEAD"},
	} {
		rec := &recorder{TB: t}
		base := roundTripper(func(r *http.Request) (*http.Response, error) {
			code := 204
			if r.Method == "HEAD" {
				code = 200
			}
			h := http.Header{"X-Log-Position": {"15"}, "Etag": {`"1"`}, "Content-Type": {"application/json"}}
			return &http.Response{StatusCode: code, Header: h, Body: io.NopCloser(strings.NewReader(`{"position":15}`)), Request: r}, nil
		})
		req, _ := http.NewRequest(c.method, "http://parley.test"+c.path, nil)
		res, err := apitest.Transport(rec, base).RoundTrip(req)
		if err != nil {
			t.Fatal(err)
		}
		if b, _ := io.ReadAll(res.Body); string(b) != `{"position":15}` {
			t.Errorf("%s: the caller got %q", c.method, b)
		}
		if r := rec.reports(); len(r) != 1 || !strings.Contains(r[0], c.want) {
			t.Errorf("%s: reports %q, want one saying %q", c.method, r, c.want)
		}
	}
}

// TestClient: Client validates through the default transport.
func TestClient(t *testing.T) {
	srv := httptest.NewServer(answer(200, `[]`, "X-Log-Position", "0"))
	defer srv.Close()
	rec := &recorder{TB: t}
	res, err := apitest.Client(rec).Get(srv.URL + "/bans")
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if r := rec.reports(); len(r) != 1 || !strings.Contains(r[0], "Cache-Control") {
		t.Fatalf("reports %q, want one about the missing Cache-Control", r)
	}
}
