package comment

import (
	"strconv"
	"strings"
	"time"
)

// Version is a comment's version as an HTTP entity tag: its update time in
// unix milliseconds, marked once it is deleted. Every edit of a comment
// gets a later update time than the one before (the writer sees to it), so
// the tag changes with every edit and with the delete; votes and views do
// not change it. Writer and readers compute it from the same two fields.
func Version(update time.Time, deleted bool) string {
	b := make([]byte, 0, 24)
	b = append(b, '"')
	b = strconv.AppendInt(b, update.UnixMilli(), 10)
	if deleted {
		b = append(b, "-deleted"...)
	}
	return string(append(b, '"'))
}

// MatchesVersion reports whether an If-Match list (tags as sent, or "*")
// names version. Weak tags never match: If-Match compares strongly
// (RFC 9110 §13.1.1).
func MatchesVersion(tags []string, version string) bool {
	for _, t := range tags {
		if t = strings.TrimSpace(t); t == "*" || t == version {
			return true
		}
	}
	return false
}
