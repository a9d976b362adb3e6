package httpx

import (
	"bytes"
	"errors"
	"net/http"
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
