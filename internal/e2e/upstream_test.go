package e2e

import (
	"net/http"
	"strings"
	"testing"
)

// TestUpstreamsDown: with no reader and no writer left, nginx answers 502
// itself, in JSON.
func TestUpstreamsDown(t *testing.T) {
	s := newStack(t, stackOpts{readers: 1})
	s.procs["reader1"].Kill()
	s.procs["writer"].Kill()
	for _, tc := range []struct{ method, path string }{
		{http.MethodGet, "/last_topics"},
		{http.MethodGet, "/topic_comments?topic_id=6f1c0e0a-3d5e-4c1b-9a57-0b9d1c2e3f40"},
		{http.MethodPost, "/post_comment"},
	} {
		res := s.api.Do(t, tc.method, s.nginx+tc.path, `{"content":"x","user":"u"}`)
		var body map[string]string
		res.JSON(t, &body)
		if res.Status != http.StatusBadGateway || !strings.Contains(body["error"], "upstream") ||
			!strings.HasPrefix(res.Header.Get("Content-Type"), "application/json") {
			t.Errorf("%s %s with everything down: %d %s", tc.method, tc.path, res.Status, res.Body)
		}
	}
}
