package platform

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"reflect"
	"regexp"
	"strings"
)

// Var is one environment variable a config struct reads, as its field's
// tags describe it: `env` names it, `envDefault` is its default and `help`
// says what it sets. The tags are the one source of the README's tables and
// of each command's -help.
type Var struct {
	Name    string // the env tag's name
	Default string // the envDefault tag; empty when there is none
	Help    string // the help tag; a 'quoted' word is code (see Markdown)
}

// Vars lists the variables the config struct type t reads, nested structs
// included, in declaration order.
func Vars(t reflect.Type) []Var {
	var vars []Var
	walkEnv(t, func(f reflect.StructField, name string) {
		vars = append(vars, Var{Name: name, Default: f.Tag.Get("envDefault"), Help: f.Tag.Get("help")})
	})
	return vars
}

// VarsOf is Vars of the config struct T.
func VarsOf[T any]() []Var { return Vars(reflect.TypeFor[T]()) }

// codeSpan is a 'quoted' word in a help text: the opening quote follows the
// start, a space or a parenthesis, so apostrophes ("writer's") are left
// alone. Struct tags are raw strings, which cannot hold a backtick.
var codeSpan = regexp.MustCompile("(^|[\\s(])'([^']+)'")

// Markdown renders vars as the README's configuration table: variable,
// default (in backticks, or "(none)") and meaning, where each 'quoted' word
// of the help text becomes `code`.
func Markdown(vars []Var) string {
	var b strings.Builder
	b.WriteString("| variable | default | meaning |\n|---|---|---|\n")
	for _, v := range vars {
		def := "(none)"
		if v.Default != "" {
			def = "`" + v.Default + "`"
		}
		help := codeSpan.ReplaceAllString(strings.ReplaceAll(v.Help, "|", `\|`), "$1`$2`")
		fmt.Fprintf(&b, "| `%s` | %s | %s |\n", v.Name, def, help)
	}
	return b.String()
}

// WriteHelp writes a command's -help text: its name and what it does, the
// flags defined in fs, if any, then each variable with its default and
// meaning.
func WriteHelp(w io.Writer, summary string, fs *flag.FlagSet, vars []Var) {
	fmt.Fprintf(w, "%s: %s\n\n", fs.Name(), summary)
	nflags := 0
	fs.VisitAll(func(*flag.Flag) { nflags++ })
	if nflags == 0 {
		fmt.Fprintf(w, "Usage: %s [-help]\n\n", fs.Name())
	} else {
		fmt.Fprintf(w, "Usage: %s [flags]\n\nFlags:\n", fs.Name())
		out := fs.Output()
		fs.SetOutput(w)
		fs.PrintDefaults()
		fs.SetOutput(out)
		fmt.Fprintln(w)
	}
	fmt.Fprintln(w, "Environment variables (a bad value is an error that names it):")
	for _, v := range vars {
		def := "no default"
		if v.Default != "" {
			def = "default " + v.Default
		}
		fmt.Fprintf(w, "\n  %s (%s)\n      %s\n", v.Name, def, v.Help)
	}
}

// HandleHelp is ParseFlags for a command that takes no flags: its main
// calls it first, so -h, -help and --help print the variables of its config
// T and exit, and any other argument is refused rather than ignored.
func HandleHelp[T any](name, summary string) {
	ParseFlags[T](flag.NewFlagSet(name, flag.ContinueOnError), summary, os.Args[1:])
}

// ParseFlags parses args into fs. -h, -help and --help print WriteHelp's
// text for fs and the variables of the config T to stdout and exit 0; a bad
// flag or a stray argument is reported on stderr and exits 2.
func ParseFlags[T any](fs *flag.FlagSet, summary string, args []string) {
	if code, exit := parseFlags(fs, summary, VarsOf[T](), args, os.Stdout, os.Stderr); exit {
		os.Exit(code)
	}
}

// parseFlags is ParseFlags without the exit, for tests: exit says whether
// the command must stop, with code.
func parseFlags(fs *flag.FlagSet, summary string, vars []Var, args []string, stdout, stderr io.Writer) (code int, exit bool) {
	// The flag package would print its own usage on errors; ours lists the
	// variables too, so it is printed here.
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	err := fs.Parse(args)
	switch {
	case errors.Is(err, flag.ErrHelp):
		WriteHelp(stdout, summary, fs, vars)
		return 0, true
	case err != nil:
		fmt.Fprintf(stderr, "%s: %v (-help for usage)\n", fs.Name(), err)
		return 2, true
	case fs.NArg() > 0:
		fmt.Fprintf(stderr, "%s: unexpected argument %q (settings come from the environment; -help lists them)\n", fs.Name(), fs.Arg(0))
		return 2, true
	}
	return 0, false
}
