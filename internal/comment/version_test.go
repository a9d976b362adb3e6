package comment

import (
	"testing"
	"time"
)

func TestVersion(t *testing.T) {
	at := time.UnixMilli(1764000000123)
	live, gone := Version(at, false), Version(at, true)
	if live != `"1764000000123"` || gone != `"1764000000123-deleted"` {
		t.Fatalf("versions %s %s", live, gone)
	}
	if Version(at.Add(time.Millisecond), false) == live {
		t.Fatal("a later update has the same version")
	}
	for _, tc := range []struct {
		tags []string
		want bool
	}{
		{[]string{live}, true},
		{[]string{`"1"`, " " + live}, true},
		{[]string{"*"}, true},
		{[]string{"W/" + live}, false},
		{[]string{gone}, false},
		{[]string{`1764000000123`}, false},
		{nil, false},
	} {
		if got := MatchesVersion(tc.tags, live); got != tc.want {
			t.Errorf("MatchesVersion(%q, %s) = %v", tc.tags, live, got)
		}
	}
}
