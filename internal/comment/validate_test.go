package comment

import (
	"errors"
	"strings"
	"testing"

	"github.com/parley/parley/internal/errs"
)

func TestTopicID(t *testing.T) {
	id := NewTopicID()
	s := id.String()
	if len(s) != 36 || strings.ToLower(s) != s || s[14] != '4' {
		t.Fatalf("NewTopicID gave %q", s)
	}
	back, err := ParseTopicID(strings.ToUpper(s))
	if err != nil || back != id {
		t.Fatalf("round trip of %q: %v %v", s, back, err)
	}
	for _, bad := range []string{"", "x", s[:35], s + "0", "{" + s[1:35] + "}", strings.ReplaceAll(s, "-", ""),
		"urn:uuid:" + s, s[:8] + "_" + s[9:], "6f1c0e0a-3d5e-4c1b-9a57-0b9d1c2e3fzz"} {
		if _, err := ParseTopicID(bad); !errors.Is(err, errs.Invalid) {
			t.Errorf("ParseTopicID(%q) = %v", bad, err)
		}
	}
}

func TestValidateContent(t *testing.T) {
	cases := []struct {
		in   string
		max  int
		want *errs.Kind
	}{
		{"hello", 10, nil},
		{"ünï", 6, nil},
		{"ünïcö", 6, errs.TooLarge},
		{"", 10, errs.Invalid},
		{"a\x00b", 10, errs.Invalid},
		{"\xff", 10, errs.Invalid},
		{strings.Repeat("x", 65536), 65536, nil},
		{strings.Repeat("x", 65537), 65536, errs.TooLarge},
		{" ", 10, nil},
	}
	for _, tc := range cases {
		if err := ValidateContent(tc.in, tc.max); !isKind(err, tc.want) {
			t.Errorf("ValidateContent(%q, %d) = %v, want kind %v", tc.in, tc.max, err, tc.want)
		}
	}
}

func TestValidateUser(t *testing.T) {
	cases := []struct {
		in string
		ok bool
	}{
		{"ann", true},
		{"Zoë Ångström", true},
		{strings.Repeat("ü", 64), true}, // 64 characters, 128 bytes
		{strings.Repeat("ü", 65), false},
		{"", false},
		{"a\nb", false},
		{"a\x7fb", false},
		{"a\u0085b", false}, // C1 control
		{"\xff", false},
	}
	for _, tc := range cases {
		if err := ValidateUser(tc.in); (err == nil) != tc.ok {
			t.Errorf("ValidateUser(%q) = %v", tc.in, err)
		}
	}
}

// isKind reports whether err is of kind want, or nil when want is nil.
func isKind(err error, want *errs.Kind) bool {
	if want == nil {
		return err == nil
	}
	return errors.Is(err, want)
}
