package comment

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/parley/parley/internal/errs"
)

func TestParsePath(t *testing.T) {
	cases := []struct {
		in   string
		want Path
		ok   bool
	}{
		{"0", Path{0}, true},
		{"0/4", Path{0, 4}, true},
		{"0/4/17", Path{0, 4, 17}, true},
		{"0/2147483647", Path{0, 2147483647}, true},
		{"0/2147483648", nil, false},
		{"", nil, false},
		{"1", nil, false},
		{"00", nil, false},
		{"0/", nil, false},
		{"0//1", nil, false},
		{"0/01", nil, false},
		{"0/0", nil, false},
		{"0/-1", nil, false},
		{"0/+1", nil, false},
		{"0/1a", nil, false},
		{"/0", nil, false},
		{"0/1/", nil, false},
		{" 0", nil, false},
		{"0/99999999999", nil, false},
		{"0/" + strings.Repeat("1/", MaxPathLen), nil, false},
	}
	for _, tc := range cases {
		got, err := ParsePath(tc.in)
		if tc.ok != (err == nil) || !slices.Equal(got, tc.want) {
			t.Errorf("ParsePath(%q) = %v, %v; want %v ok=%v", tc.in, got, err, tc.want, tc.ok)
		}
		if err != nil && !errors.Is(err, errs.Invalid) {
			t.Errorf("ParsePath(%q): error kind %v", tc.in, err)
		}
		if err == nil && got.String() != tc.in {
			t.Errorf("ParsePath(%q).String() = %q", tc.in, got.String())
		}
	}
}

func FuzzParsePath(f *testing.F) {
	for _, s := range []string{"0", "0/4/17", "0//1", "0/01", "0/2147483648", "x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		p, err := ParsePath(s)
		if err != nil {
			return
		}
		// A path that parses prints back as its input and starts at the root.
		if p.String() != s || p[0] != 0 || string(p.AppendText(nil)) != s {
			t.Fatalf("%q parsed to %v", s, p)
		}
		for _, id := range p[1:] {
			if id <= 0 {
				t.Fatalf("%q has id %d", s, id)
			}
		}
	})
}

func TestTreeOrder(t *testing.T) {
	// Pre-order with siblings by id, including ids with more digits, which
	// string order would get wrong ("0/10" < "0/9").
	ordered := []Path{{0}, {0, 1}, {0, 1, 3}, {0, 1, 3, 12}, {0, 1, 11}, {0, 2}, {0, 9}, {0, 10}, {0, 10, 100}}
	for i := range ordered {
		for j := range ordered {
			want := 0
			if i < j {
				want = -1
			} else if i > j {
				want = 1
			}
			if got := ordered[i].Compare(ordered[j]); got != want {
				t.Errorf("%v vs %v: %d, want %d", ordered[i], ordered[j], got, want)
			}
		}
	}
}

func TestWithin(t *testing.T) {
	cases := []struct {
		p, q Path
		want bool
	}{
		{Path{0}, Path{0}, true},
		{Path{0, 1}, Path{0}, true},
		{Path{0, 1, 5}, Path{0, 1}, true},
		{Path{0, 1}, Path{0, 1, 5}, false},
		{Path{0, 2}, Path{0, 1}, false},
		{Path{0, 12}, Path{0, 1}, false},
	}
	for _, tc := range cases {
		if got := tc.p.Within(tc.q); got != tc.want {
			t.Errorf("%v within %v = %v", tc.p, tc.q, got)
		}
	}
}

func TestPathHelpers(t *testing.T) {
	p := Path{0, 4, 17}
	if p.ID() != 17 || p.Depth() != 2 || p.PGText() != "{0,4,17}" {
		t.Fatalf("%v: id %d depth %d pg %q", p, p.ID(), p.Depth(), p.PGText())
	}
	parent, ok := p.Parent()
	if !ok || !parent.Equal(Path{0, 4}) {
		t.Fatalf("parent %v", parent)
	}
	// Child must not share the parent's backing array.
	c1, c2 := parent.Child(5), parent.Child(6)
	if c1.ID() != 5 || c2.ID() != 6 || !p.Equal(Path{0, 4, 17}) {
		t.Fatalf("children %v %v, path now %v", c1, c2, p)
	}
	if _, ok := RootPath.Parent(); ok {
		t.Fatal("the root has a parent")
	}
}

func TestParseID(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want int32
		ok   bool
	}{
		{"0", 0, true},
		{"7", 7, true},
		{"2147483647", 2147483647, true},
		{"2147483648", 0, false},
		{"07", 0, false},
		{"-1", 0, false},
		{"", 0, false},
		{"1/2", 0, false},
		{"1.0", 0, false},
		{" 1", 0, false},
	} {
		got, err := ParseID(tc.in)
		if (err == nil) != tc.ok || got != tc.want {
			t.Errorf("ParseID(%q) = %d, %v", tc.in, got, err)
		}
	}
}
