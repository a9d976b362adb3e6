package topictree

import "unicode/utf8"

// The JSON escaping of this package is encoding/json's, <, >, & and
// U+2028/U+2029 included, so a response is safe to embed in HTML. It is
// defined once, by nextEscape; escapedLen and appendString only differ in
// whether they count or copy.

// asciiEscapes holds the escape of each ASCII byte that needs one.
var asciiEscapes = func() (t [utf8.RuneSelf]string) {
	const hex = "0123456789abcdef"
	for c := range 0x20 {
		t[c] = `\u00` + string(hex[c>>4]) + string(hex[c&0xf])
	}
	t['\n'], t['\r'], t['\t'], t['\b'], t['\f'] = `\n`, `\r`, `\t`, `\b`, `\f`
	t['"'], t['\\'] = `\"`, `\\`
	t['<'], t['>'], t['&'] = `\u003c`, `\u003e`, `\u0026`
	return t
}()

// nextEscape finds the first text in s[i:] that must be escaped. It returns
// its offset j, how many bytes it spans and their escape; width 0 means
// nothing in s[i:] needs escaping (j is then len(s)).
func nextEscape(s string, i int) (j, width int, esc string) {
	for j = i; j < len(s); {
		c := s[j]
		if c < utf8.RuneSelf {
			if e := asciiEscapes[c]; e != "" {
				return j, 1, e
			}
			j++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[j:])
		switch {
		case r == utf8.RuneError && size == 1:
			// Never stored (the writer refuses invalid UTF-8), but stay valid JSON.
			return j, 1, `\ufffd`
		case r == '\u2028':
			return j, size, `\u2028`
		case r == '\u2029':
			return j, size, `\u2029`
		}
		j += size
	}
	return len(s), 0, ""
}

// plain marks the bytes that never need escaping. 0xE2 is not plain: it
// starts U+2028 and U+2029. Nor is any other byte ≥ 0x80 here, so that the
// slow path checks UTF-8; the fast path below handles the common case.
var plain = func() (t [256]bool) {
	for c := range utf8.RuneSelf {
		t[c] = asciiEscapes[c] == ""
	}
	return t
}()

// clean reports whether s needs no escaping at all, which is most text:
// every byte plain, or part of a UTF-8 sequence other than U+2028/U+2029.
// Text from Postgres is valid UTF-8 (the database checks), and text from
// the writer too, so any byte ≥ 0x80 other than 0xE2 is harmless here.
func clean(s string) bool {
	ascii := true
	for i := 0; i < len(s); i++ {
		c := s[i]
		if plain[c] {
			continue
		}
		if c < utf8.RuneSelf || c == 0xE2 {
			return false
		}
		ascii = false
	}
	return ascii || utf8.ValidString(s)
}

// escapedLen is the length appendString gives s, quotes included, and
// whether s is clean (then that is len(s)+2).
func escapedLen(s string) (int, bool) {
	if clean(s) {
		return len(s) + 2, true
	}
	n := 2
	for i := 0; i < len(s); {
		j, width, esc := nextEscape(s, i)
		n += j - i + len(esc)
		i = j + width
	}
	return n, false
}

// appendString appends s as a JSON string.
func appendString(b []byte, s string) []byte {
	b = append(b, '"')
	if clean(s) {
		b = append(b, s...)
		return append(b, '"')
	}
	for i := 0; i < len(s); {
		j, width, esc := nextEscape(s, i)
		b = append(b, s[i:j]...)
		b = append(b, esc...)
		i = j + width
	}
	return append(b, '"')
}
