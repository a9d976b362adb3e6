package comment

import (
	"strings"
	"testing"
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
		if _, err := ParseTopicID(bad); KindOf(err) != KindInvalid {
			t.Errorf("ParseTopicID(%q) = %v", bad, err)
		}
	}
}

func TestValidateContent(t *testing.T) {
	cases := []struct {
		in   string
		max  int
		want Kind
	}{
		{"hello", 10, 0},
		{"ünï", 6, 0},
		{"ünïcö", 6, KindTooLarge},
		{"", 10, KindInvalid},
		{"a\x00b", 10, KindInvalid},
		{"\xff", 10, KindInvalid},
		{strings.Repeat("x", 65536), 65536, 0},
		{strings.Repeat("x", 65537), 65536, KindTooLarge},
		{" ", 10, 0},
	}
	for _, tc := range cases {
		if got := KindOf(ValidateContent(tc.in, tc.max)); got != tc.want {
			t.Errorf("ValidateContent(%q, %d) kind %v, want %v", tc.in, tc.max, got, tc.want)
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
