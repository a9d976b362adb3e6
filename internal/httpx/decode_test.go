package httpx

import (
	"bytes"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/parley/parley/internal/errs"
)

type sample struct {
	Content *string `json:"content"`
	User    *string `json:"user"`
	N       int     `json:"n"`
}

func TestDecodeJSON(t *testing.T) {
	cases := []struct {
		name, in string
		ok       bool
		content  string
	}{
		{"plain", `{"content": "hi"}`, true, "hi"},
		{"pair escape", `{"content": "\ud83d\ude00"}`, true, "😀"},
		{"raw emoji", `{"content": "😀"}`, true, "😀"},
		{"escaped backslash before u", `{"content": "\\ud800"}`, true, `\ud800`},
		{"escaped replacement char", `{"content": "\ufffd"}`, true, "\ufffd"},
		{"lone high", `{"content": "\ud800"}`, false, ""},
		{"lone low", `{"content": "\udc00"}`, false, ""},
		{"high then non-low", `{"content": "\ud800\u0041"}`, false, ""},
		{"reversed pair", `{"content": "\ude00\ud83d"}`, false, ""},
		{"high at end", `{"content": "x\uD800"}`, false, ""},
		{"invalid utf-8", "{\"content\": \"\xc3\x28\"}", false, ""},
		{"overlong utf-8", "{\"content\": \"\xc0\xaf\"}", false, ""},
		{"unknown field", `{"content": "x", "extra": 1}`, false, ""},
		{"trailing", `{"content": "x"}x`, false, ""},
		{"two objects", `{"content": "x"}{}`, false, ""},
		{"trailing space", "{\"content\": \"x\"}\n ", true, "x"},
		{"array", `[]`, false, ""},
		{"null", `null`, true, ""},
		{"wrong type", `{"n": "1"}`, false, ""},
		{"truncated", `{"content": "x`, false, ""},
		{"empty", ``, false, ""},
		{"bad escape", `{"content": "\x"}`, false, ""},
		{"short unicode escape", `{"content": "\u12"}`, false, ""},
		// Keys match exactly, once (SPEC §12): encoding/json would take
		// CONTENT for content and keep the last of two.
		{"key in other case", `{"CONTENT": "x"}`, false, ""},
		{"key in mixed case", `{"Content": "x", "User": "u"}`, false, ""},
		{"duplicate key", `{"content": "x", "content": "y"}`, false, ""},
		{"duplicate key, other field between", `{"user": "u", "content": "x", "user": "v"}`, false, ""},
		{"two fields", `{"user": "u", "content": "x"}`, true, "x"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var s sample
			err := DecodeJSON([]byte(tc.in), &s)
			if tc.ok != (err == nil) {
				t.Fatalf("err = %v, want ok=%v", err, tc.ok)
			}
			if err != nil && !errors.Is(err, errs.Invalid) {
				t.Fatalf("error kind %v", err)
			}
			if tc.ok && tc.content != "" && (s.Content == nil || *s.Content != tc.content) {
				t.Fatalf("content %v, want %q", s.Content, tc.content)
			}
		})
	}
}

func FuzzDecodeJSON(f *testing.F) {
	for _, s := range []string{`{"content": "hi", "user": "u", "n": 3}`, `{"content": "\ud83d\ude00"}`,
		`{"content": "\ud800"}`, "{\"user\": \"\xff\"}", `{"content": "\\\\u"}`, `[1]`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		var s sample
		err := DecodeJSON(raw, &s)
		if err != nil {
			if !errors.Is(err, errs.Invalid) {
				t.Fatalf("error of kind %v: %v", err, err)
			}
			return
		}
		// Nothing accepted is altered on the way in: strings are valid
		// UTF-8 and no replacement character appears that the client did
		// not send.
		sentFFFD := bytes.Contains(raw, []byte("\ufffd")) || bytes.Contains(bytes.ToLower(raw), []byte(`\ufffd`))
		for _, p := range []*string{s.Content, s.User} {
			if p == nil {
				continue
			}
			if !utf8.ValidString(*p) {
				t.Fatalf("decoded invalid UTF-8 %q", *p)
			}
			if !sentFFFD && strings.ContainsRune(*p, utf8.RuneError) {
				t.Fatalf("decoding %q invented U+FFFD", raw)
			}
		}
	})
}

func TestReadBody(t *testing.T) {
	req, _ := http.NewRequest(http.MethodPost, "/", strings.NewReader("12345"))
	if b, err := ReadBody(req, 5); err != nil || string(b) != "12345" {
		t.Fatalf("at the limit: %q %v", b, err)
	}
	req, _ = http.NewRequest(http.MethodPost, "/", strings.NewReader("123456"))
	if _, err := ReadBody(req, 5); !errors.Is(err, errs.TooLarge) {
		t.Fatalf("over the limit: %v", err)
	}
	req, _ = http.NewRequest(http.MethodPost, "/", strings.NewReader("1"))
	req.ContentLength = 100 // declared too large: refused before reading
	if _, err := ReadBody(req, 5); !errors.Is(err, errs.TooLarge) {
		t.Fatalf("declared over the limit: %v", err)
	}
}

func TestStatus(t *testing.T) {
	cases := []struct {
		err  error
		code int
	}{
		{errs.Invalid.New("x"), 400},
		{errs.NotFound.New("x"), 404},
		{errs.Conflict.New("x"), 409},
		{errs.TooLarge.New("x"), 413},
		{errs.Unavailable.Wrap("x", nil), 503},
		{errs.Timeout.Wrap("x", nil), 524},
		{bytes.ErrTooLarge, 500},
	}
	for _, tc := range cases {
		if code, msg := Status(tc.err); code != tc.code || msg == "" {
			t.Errorf("Status(%v) = %d %q, want %d", tc.err, code, msg, tc.code)
		}
	}
	if _, msg := Status(bytes.ErrTooLarge); msg != "internal error" {
		t.Errorf("an unmapped error leaks %q", msg)
	}
}

// BenchmarkDecodeJSON decodes a /post_comment body with a 300-byte and a
// 64 KiB content, the writer's per-request decoding cost.
func BenchmarkDecodeJSON(b *testing.B) {
	for _, n := range []int{300, 64 << 10} {
		body := []byte(`{"topic_id": "6f1c0e0a-3d5e-4c1b-9a57-0b9d1c2e3f40", "parent_path": "0/4/17", "content": "` +
			strings.Repeat("Lorem ipsum dolor sit amet. ", n/28+1)[:n] + `", "user": "alice"}`)
		b.Run(strconv.Itoa(n), func(b *testing.B) {
			b.SetBytes(int64(len(body)))
			b.ReportAllocs()
			for b.Loop() {
				var req struct {
					TopicID    *string `json:"topic_id"`
					ParentPath *string `json:"parent_path"`
					Content    *string `json:"content"`
					User       *string `json:"user"`
				}
				if err := DecodeJSON(body, &req); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
