package nginx

import (
	"strings"
	"testing"
)

// TestCheckFrameAncestors: EMBED_FRAME_ANCESTORS goes into a header, so
// only CSP sources pass, nothing that could end the directive or the
// header.
func TestCheckFrameAncestors(t *testing.T) {
	for _, c := range []struct {
		list string
		ok   bool
	}{
		{"*", true},
		{"'self'", true},
		{"'none'", true},
		{"https:", true},
		{"https://blog.example", true},
		{"https://blog.example https://*.example.org:8443", true},
		{"blog.example", true},
		{"http://127.0.0.1:8080", true},
		{"https://blog.example/comments/", true},
		{"", false},
		{"   ", false},
		{"'none' https://a.example", false},
		{"https://a.example; script-src *", false},
		{`https://a.example" always; add_header X 1`, false},
		{"https://a.example,https://b.example", false},
		{"$host", false},
		{"'unsafe-inline'", false},
		{"https://a.example\nX: y", false},
		{"https://a.example\nx-evil: 1", false}, // each field alone is a source: only the newline betrays it
		{"https://a.example\tx-evil: 1", false},
		{"https://a.example\rhttps://b.example", false},
		{"https://bücher.example", false},
	} {
		err := CheckFrameAncestors(c.list)
		if (err == nil) != c.ok {
			t.Errorf("CheckFrameAncestors(%q) = %v, want ok %v", c.list, err, c.ok)
		}
	}
}

// TestServerFrameAncestors: the embed's frame page gets the list, every
// other page 'none'; an empty list is any site's.
func TestServerFrameAncestors(t *testing.T) {
	p := ComposeParams()
	for _, c := range []struct{ list, want string }{{"", "frame-ancestors *;"}, {"https://blog.example", "frame-ancestors https://blog.example;"},
		{"  https://a.example   https://b.example ", "frame-ancestors https://a.example https://b.example;"}} {
		p.FrameAncestors = c.list
		out, err := Server(p)
		if err != nil {
			t.Fatal(err)
		}
		if n := strings.Count(string(out), c.want); n != 1 {
			t.Errorf("FrameAncestors %q: %q appears %d times, want once (the /embed location)", c.list, c.want, n)
		}
	}
	p.FrameAncestors = "https://a.example; script-src *"
	if _, err := Server(p); err == nil {
		t.Error("Server took a frame-ancestors list that ends the directive")
	}
}
