package main

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"testing"

	"github.com/parley/parley/internal/platform"
	"github.com/parley/parley/internal/reader"
	"github.com/parley/parley/internal/writer"
	"github.com/parley/parley/nginx"
)

var update = flag.Bool("update", false, "rewrite README.md's configuration tables from the config structs")

// regenerate is what the README says, and what a stale table asks for.
const regenerate = "go test ./cmd/writer -run TestREADMEConfig -update"

// TestREADMEConfig: README.md's configuration tables are the ones the
// config structs' tags make, so the README, -help and the code cannot
// disagree. The tables live between <!-- env:NAME --> and <!-- /env -->.
func TestREADMEConfig(t *testing.T) {
	w, r, n := platform.VarsOf[writer.Config](), platform.VarsOf[reader.Config](), platform.VarsOf[nginx.Config]()
	for _, v := range slices.Concat(w, r, n) {
		if v.Help == "" {
			t.Errorf("%s has no help tag: say what it sets", v.Name)
		}
	}
	// nginxconf reads the writer's MAX_CONTENT_BYTES to size nginx's body
	// limit; a different default would size it for another limit.
	for _, nv := range n {
		if i := slices.IndexFunc(w, func(wv platform.Var) bool { return wv.Name == nv.Name }); i >= 0 && w[i].Default != nv.Default {
			t.Errorf("%s: nginx.Config's default %q, the writer's %q", nv.Name, nv.Default, w[i].Default)
		}
	}
	both := shared(w, r)
	tables := map[string]string{
		"both":   platform.Markdown(both),
		"writer": platform.Markdown(without(w, both)),
		"reader": platform.Markdown(without(r, both)),
		"nginx":  platform.Markdown(without(n, w)), // MAX_CONTENT_BYTES is in the writer's table
	}

	path := filepath.Join("..", "..", "README.md")
	old, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	doc, stale, err := replaceTables(old, tables)
	if err != nil {
		t.Fatal(err)
	}
	if *update {
		if err := os.WriteFile(path, doc, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	if len(stale) > 0 {
		t.Fatalf("README.md's configuration tables %v differ from the config structs' tags: run `%s`", stale, regenerate)
	}
}

// shared is the variables of a that b has too, with the same default and
// help: those of both services.
func shared(a, b []platform.Var) []platform.Var {
	var out []platform.Var
	for _, v := range a {
		if slices.Contains(b, v) {
			out = append(out, v)
		}
	}
	return out
}

// without is the variables of a whose names are not in drop.
func without(a, drop []platform.Var) []platform.Var {
	var out []platform.Var
	for _, v := range a {
		if !slices.ContainsFunc(drop, func(d platform.Var) bool { return d.Name == v.Name }) {
			out = append(out, v)
		}
	}
	return out
}

var marked = regexp.MustCompile(`(?s)<!-- env:(\w+) -->\n.*?<!-- /env -->`)

// replaceTables puts each table between its markers in doc, and says which
// differed. Every marked section needs a table and every table a section.
func replaceTables(doc []byte, tables map[string]string) (out []byte, stale []string, err error) {
	seen := map[string]bool{}
	out = marked.ReplaceAllFunc(doc, func(section []byte) []byte {
		name := marked.FindSubmatch(section)[1]
		table, ok := tables[string(name)]
		if !ok {
			err = errors.Join(err, fmt.Errorf("README.md has a section <!-- env:%s --> that no config makes", name))
			return section
		}
		seen[string(name)] = true
		want := fmt.Appendf(nil, "<!-- env:%s -->\n\n%s\n<!-- /env -->", name, table)
		if string(want) != string(section) {
			stale = append(stale, string(name))
		}
		return want
	})
	for name := range tables {
		if !seen[name] {
			err = errors.Join(err, fmt.Errorf("README.md lacks the section <!-- env:%s --> … <!-- /env -->", name))
		}
	}
	return out, stale, err
}
