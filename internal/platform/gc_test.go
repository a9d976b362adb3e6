package platform

import "testing"

func TestParseGOGC(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want int
		ok   bool
	}{
		{"off", -1, true},
		{"100", 100, true},
		{"400", 400, true},
		{"1", 1, true},
		{"0", 0, false},
		{"-5", 0, false},
		{"", 0, false},
		{"OFF", 0, false},
		{"4e2", 0, false},
		{"100001", 0, false},
	} {
		got, err := ParseGOGC(tc.in)
		if (err == nil) != tc.ok || (tc.ok && got != tc.want) {
			t.Errorf("ParseGOGC(%q) = %d, %v; want %d, ok=%v", tc.in, got, err, tc.want, tc.ok)
		}
	}
}
