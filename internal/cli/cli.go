// Package cli is the parley command: a subcommand per API operation on the
// Go client, and load and verify for drills (docs/client.md).
package cli

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"sort"
	"strings"
	"time"

	"github.com/parley/parley/client"
)

// env is what every subcommand gets: the client, where to write, and how.
type env struct {
	c      *client.Client
	getenv func(string) string
	site   string
	out    io.Writer
	errOut io.Writer
	json   bool
	quiet  bool
}

// command is one subcommand.
type command struct {
	args  string // its arguments, for the usage line
	help  string
	flags func(*flag.FlagSet) func(ctx context.Context, e *env, args []string) error
}

// commands are the subcommands by name.
var commands = map[string]command{}

// errUsage asks for the subcommand's usage to be shown.
var errUsage = errors.New("usage")

// Run runs the parley command with args (without the program's name) and
// returns its exit code: 0 done, 1 failed, 2 misused. with are added to
// the client's options (a test's HTTP client, say).
func Run(ctx context.Context, args []string, stdout, stderr io.Writer, getenv func(string) string, with ...client.Option) int {
	global := flag.NewFlagSet("parley", flag.ContinueOnError)
	global.SetOutput(stderr)
	site := global.String("url", or(getenv("PARLEY_URL"), "http://127.0.0.1:8080"), "the site (nginx); or $PARLEY_URL")
	token := global.String("token", getenv("PARLEY_TOKEN"), "a bearer token, with AUTH_MODE=jwt; or $PARLEY_TOKEN")
	output := global.String("o", "human", "output: human or json")
	timeout := global.Duration("timeout", 10*time.Second, "timeout of one attempt")
	attempts := global.Int("attempts", 6, "tries of a call before it fails")
	quiet := global.Bool("q", false, "no progress bar")
	global.Usage = func() { usage(stderr, global) }
	if err := global.Parse(args); err != nil {
		return 2
	}
	if global.NArg() == 0 || (*output != "human" && *output != "json") {
		usage(stderr, global)
		return 2
	}
	name, rest := global.Arg(0), global.Args()[1:]
	cmd, ok := commands[name]
	if !ok {
		fmt.Fprintf(stderr, "parley: no command %q\n\n", name)
		usage(stderr, global)
		return 2
	}
	opts := []client.Option{client.WithAttemptTimeout(*timeout), client.WithRetries(*attempts, 100*time.Millisecond, 2*time.Second), client.WithSession()}
	if *token != "" {
		opts = append(opts, client.WithToken(*token))
	}
	e := &env{c: client.New(*site, append(opts, with...)...), getenv: getenv, site: *site, out: stdout, errOut: stderr, json: *output == "json", quiet: *quiet}
	fs := flag.NewFlagSet("parley "+name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	run := cmd.flags(fs)
	fs.Usage = func() {
		fmt.Fprintf(stderr, "parley %s %s\n\n%s\n", name, cmd.args, cmd.help)
		fs.PrintDefaults()
	}
	if err := fs.Parse(rest); err != nil {
		return 2
	}
	switch err := run(ctx, e, fs.Args()); {
	case errors.Is(err, errUsage):
		fs.Usage()
		return 2
	case err != nil:
		fmt.Fprintln(stderr, "parley "+name+":", err)
		return 1
	}
	return 0
}

func usage(w io.Writer, global *flag.FlagSet) {
	fmt.Fprint(w, "parley: a client of a Parley comment site\n\nUsage: parley [flags] COMMAND [command flags] [arguments]\n\nCommands:\n")
	names := make([]string, 0, len(commands))
	for n := range commands {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(w, "  %-14s %s\n", n, strings.SplitN(commands[n].help, "\n", 2)[0])
	}
	fmt.Fprint(w, "\n'parley COMMAND -h' tells more of one command.\n\nFlags:\n")
	global.PrintDefaults()
}

func or(s, dflt string) string {
	if s != "" {
		return s
	}
	return dflt
}

// print writes v as JSON with -o json, else as human does.
func (e *env) print(v any, human func(w io.Writer)) error {
	if e.json {
		enc := json.NewEncoder(e.out)
		enc.SetIndent("", "  ")
		return enc.Encode(v)
	}
	human(e.out)
	return nil
}
