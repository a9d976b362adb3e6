package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"go.uber.org/goleak"
	"gopkg.in/yaml.v3"

	"github.com/parley/parley/api"
)

var update = flag.Bool("update", false, "rewrite openapi.json from openapi.yaml")

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// TestDocument checks openapi.yaml against the OpenAPI 3.0 rules (refs
// resolve, examples and defaults fit their schemas) and that openapi.json is
// its JSON rendering; -update rewrites openapi.json.
func TestDocument(t *testing.T) {
	src, err := os.ReadFile("openapi.yaml")
	if err != nil {
		t.Fatal(err)
	}
	doc, err := openapi3.NewLoader().LoadFromData(src)
	if err != nil {
		t.Fatalf("openapi.yaml: %v", err)
	}
	if err := doc.Validate(context.Background()); err != nil {
		t.Fatalf("openapi.yaml is not a valid OpenAPI document: %v", err)
	}
	if doc.OpenAPI != "3.0.3" {
		t.Errorf("openapi: %q, want 3.0.3", doc.OpenAPI)
	}
	want, err := toJSON(src)
	if err != nil {
		t.Fatalf("openapi.yaml as JSON: %v", err)
	}
	if *update {
		if err := os.WriteFile("openapi.json", want, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	got, err := os.ReadFile("openapi.json")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatal("openapi.json is not openapi.yaml as JSON: run `go test ./api -update`")
	}
	if !*update && !bytes.Equal(api.Document(), want) {
		t.Fatal("Document() is not openapi.json") // cannot be, but for a stale build
	}
	// The JSON is the same document: what the tests validate traffic with.
	if _, err := openapi3.NewLoader().LoadFromData(api.Document()); err != nil {
		t.Fatalf("openapi.json: %v", err)
	}
}

// TestDocumentIsACopy: a caller that changes the document changes its own
// copy.
func TestDocumentIsACopy(t *testing.T) {
	d := api.Document()
	d[0] = 'x'
	if api.Document()[0] == 'x' {
		t.Fatal("Document returned the embedded bytes themselves")
	}
}

// toJSON renders a YAML document as indented JSON, keys in the order the
// YAML gives them (so the JSON reads like its source), ending in a newline.
func toJSON(src []byte) ([]byte, error) {
	var root yaml.Node
	if err := yaml.Unmarshal(src, &root); err != nil {
		return nil, err
	}
	var b bytes.Buffer
	if err := writeJSON(&b, &root); err != nil {
		return nil, err
	}
	var out bytes.Buffer
	if err := json.Indent(&out, b.Bytes(), "", "  "); err != nil {
		return nil, err
	}
	out.WriteByte('\n')
	return out.Bytes(), nil
}

func writeJSON(b *bytes.Buffer, n *yaml.Node) error {
	switch n.Kind {
	case yaml.DocumentNode:
		return writeJSON(b, n.Content[0])
	case yaml.AliasNode:
		return writeJSON(b, n.Alias)
	case yaml.MappingNode:
		b.WriteByte('{')
		for i := 0; i < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			if k.Kind != yaml.ScalarNode || k.Tag == "!!merge" {
				return fmt.Errorf("line %d: keys must be plain scalars", k.Line)
			}
			if i > 0 {
				b.WriteByte(',')
			}
			writeString(b, k.Value)
			b.WriteByte(':')
			if err := writeJSON(b, v); err != nil {
				return err
			}
		}
		b.WriteByte('}')
	case yaml.SequenceNode:
		b.WriteByte('[')
		for i, v := range n.Content {
			if i > 0 {
				b.WriteByte(',')
			}
			if err := writeJSON(b, v); err != nil {
				return err
			}
		}
		b.WriteByte(']')
	case yaml.ScalarNode:
		if n.ShortTag() == "!!str" {
			writeString(b, n.Value)
			return nil
		}
		var v any
		if err := n.Decode(&v); err != nil {
			return err
		}
		j, err := json.Marshal(v)
		if err != nil {
			return fmt.Errorf("line %d: %w", n.Line, err)
		}
		b.Write(j)
	default:
		return fmt.Errorf("line %d: unexpected YAML node", n.Line)
	}
	return nil
}

// writeString writes s as a JSON string, leaving <, > and & as they are.
func writeString(b *bytes.Buffer, s string) {
	enc := json.NewEncoder(b)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(s)       // a string always encodes
	b.Truncate(b.Len() - 1) // Encode's newline
}

// TestToJSONKeepsOrder: the rendering keeps the YAML's key order and types.
func TestToJSONKeepsOrder(t *testing.T) {
	got, err := toJSON([]byte("b: 1\na: [x, 2, true, null, 1.5, \"3\"]\nc: {z: '<&>', y: -1}\n"))
	if err != nil {
		t.Fatal(err)
	}
	want := `{
  "b": 1,
  "a": [
    "x",
    2,
    true,
    null,
    1.5,
    "3"
  ],
  "c": {
    "z": "<&>",
    "y": -1
  }
}
`
	if string(got) != want {
		t.Fatalf("got\n%s\nwant\n%s", got, want)
	}
	if strings.Contains(string(got), `\u003c`) {
		t.Fatal("HTML-escaped")
	}
}
