package platform

import (
	"bytes"
	"flag"
	"reflect"
	"strings"
	"testing"
)

type docInner struct {
	URL   string `env:"DOC_URL" envDefault:"postgres://x" help:"where"`
	Conns int    `env:"DOC_CONNS,required" help:"how many"`
}

type docConfig struct {
	Inner  docInner
	Listen string `env:"DOC_LISTEN" envDefault:"127.0.0.1:1" help:"the address"`
	hidden int    // no env tag: not a variable
	Level  string `env:"DOC_LEVEL" envDefault:"info" help:"the writer's level; 'debug' or 'info' (a|b)"`
}

func TestVars(t *testing.T) {
	got := VarsOf[docConfig]()
	want := []Var{
		{Name: "DOC_URL", Default: "postgres://x", Help: "where"},
		{Name: "DOC_CONNS", Help: "how many"},
		{Name: "DOC_LISTEN", Default: "127.0.0.1:1", Help: "the address"},
		{Name: "DOC_LEVEL", Default: "info", Help: "the writer's level; 'debug' or 'info' (a|b)"},
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("Vars:\n got %+v\nwant %+v", got, want)
	}
	names := EnvVars(reflect.TypeFor[docConfig]())
	if names["Conns"] != "DOC_CONNS" || names["Level"] != "DOC_LEVEL" || len(names) != 4 {
		t.Fatalf("EnvVars: %v", names)
	}
}

func TestMarkdown(t *testing.T) {
	for _, tc := range []struct {
		name string
		v    Var
		row  string
	}{
		{"default", Var{Name: "A", Default: "1s", Help: "how often"}, "| `A` | `1s` | how often |"},
		{"no default", Var{Name: "B", Help: "an address"}, "| `B` | (none) | an address |"},
		{"code spans", Var{Name: "C", Default: "x", Help: "Postgres ('make run' sets it); 'false' turns it off"},
			"| `C` | `x` | Postgres (`make run` sets it); `false` turns it off |"},
		{"apostrophes stay", Var{Name: "D", Default: "x", Help: "the writer's NOTIFY, Go's pprof"},
			"| `D` | `x` | the writer's NOTIFY, Go's pprof |"},
		{"code and apostrophe", Var{Name: "E", Default: "x", Help: "'false' makes this reader's responses count none"},
			"| `E` | `x` | `false` makes this reader's responses count none |"},
		{"pipe escaped", Var{Name: "F", Default: "x", Help: "a|b"}, "| `F` | `x` | a\\|b |"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			want := "| variable | default | meaning |\n|---|---|---|\n" + tc.row + "\n"
			if got := Markdown([]Var{tc.v}); got != want {
				t.Fatalf("got\n%s\nwant\n%s", got, want)
			}
		})
	}
}

func TestParseFlags(t *testing.T) {
	vars := VarsOf[docConfig]()
	for _, tc := range []struct {
		name     string
		args     []string
		withFlag bool
		code     int
		exit     bool
		stdout   []string // each must appear
		stderr   string
	}{
		{name: "no arguments", args: nil},
		{name: "-help", args: []string{"-help"}, code: 0, exit: true,
			stdout: []string{"svc: does things", "Usage: svc [-help]", "DOC_URL (default postgres://x)\n      where", "DOC_CONNS (no default)"}},
		{name: "-h", args: []string{"-h"}, exit: true, stdout: []string{"DOC_LEVEL (default info)"}},
		{name: "--help", args: []string{"--help"}, exit: true, stdout: []string{"DOC_LISTEN"}},
		{name: "help with flags", args: []string{"-help"}, withFlag: true, exit: true,
			stdout: []string{"Usage: svc [flags]", "-prefix string", "DOC_URL"}},
		{name: "flag", args: []string{"-prefix", "d"}, withFlag: true},
		{name: "unknown flag", args: []string{"-x"}, code: 2, exit: true, stderr: "flag provided but not defined: -x"},
		{name: "stray argument", args: []string{"serve"}, code: 2, exit: true, stderr: `unexpected argument "serve"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fs := flag.NewFlagSet("svc", flag.ContinueOnError)
			if tc.withFlag {
				fs.String("prefix", "", "a directory")
			}
			var stdout, stderr bytes.Buffer
			code, exit := parseFlags(fs, "does things", vars, tc.args, &stdout, &stderr)
			if code != tc.code || exit != tc.exit {
				t.Fatalf("code %d exit %v, want %d %v (stderr %q)", code, exit, tc.code, tc.exit, stderr.String())
			}
			for _, s := range tc.stdout {
				if !strings.Contains(stdout.String(), s) {
					t.Errorf("stdout lacks %q:\n%s", s, stdout.String())
				}
			}
			if !strings.Contains(stderr.String(), tc.stderr) || (tc.stderr == "") != (stderr.Len() == 0) {
				t.Errorf("stderr %q, want %q", stderr.String(), tc.stderr)
			}
		})
	}
}
