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
	} {
		var out, errOut bytes.Buffer
		code := Run(context.Background(), c.args, &out, &errOut, func(string) string { return "" })
		if code != 2 || !strings.Contains(errOut.String(), c.says) {
			t.Errorf("parley %v: exit %d, %q", c.args, code, errOut.String())
		}
	}
}
