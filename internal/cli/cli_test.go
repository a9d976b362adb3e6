package cli

import (
	"bytes"
	"context"
	"strings"
	"testing"
)

// TestUsage: misuse is exit 2 with the usage on stderr; -h lists every
// command.
func TestUsage(t *testing.T) {
	for _, c := range []struct {
		args []string
		says string
	}{
		{nil, "Commands:"},
		{[]string{"-h"}, "verify"},
		{[]string{"nope"}, `no command "nope"`},
		{[]string{"-o", "yaml", "topics"}, "Usage"},
		{[]string{"vote", "t", "0", "sideways"}, "up|down|none"},
		{[]string{"post"}, "CONTENT"},
		{[]string{"load", "-topics", "0"}, "-topics"},
		{[]string{"-h"}, "one comment, with its version (ETag)"},
		{[]string{"topic"}, "parley topic TOPIC"},
		{[]string{"comment", "t"}, "its path (0/4/17"},
		{[]string{"edit", "-h"}, "-if-match VERSION"},
		{[]string{"delete", "t"}, "else 412"},
	} {
		var out, errOut bytes.Buffer
		code := Run(context.Background(), c.args, &out, &errOut, func(string) string { return "" })
		if code != 2 || !strings.Contains(errOut.String(), c.says) {
			t.Errorf("parley %v: exit %d, %q", c.args, code, errOut.String())
		}
	}
}

// TestCommentArg: a comment is named by its id or by its path.
func TestCommentArg(t *testing.T) {
	for arg, want := range map[string]int32{"0": 0, "17": 17, "0/4/17": 17, "0/4": 4} {
		if id, err := commentArg(arg); err != nil || id != want {
			t.Errorf("%q: %d, %v", arg, id, err)
		}
	}
	for _, arg := range []string{"", "x", "017", "4/17", "0/", "-1", "0/4/"} {
		if id, err := commentArg(arg); err == nil {
			t.Errorf("%q: %d", arg, id)
		}
	}
}
