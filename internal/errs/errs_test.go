package errs

import (
	"errors"
	"fmt"
	"testing"
)

func TestClassified(t *testing.T) {
	cause := errors.New("connection refused")
	cases := []struct {
		name string
		err  error
		kind *Kind
		msg  string
	}{
		{"kind with message", NotFound.New("topic %s not found", "x"), NotFound, "topic x not found"},
		{"wrapped with a cause", fmt.Errorf("append: %w", Unavailable.Wrap("storage unavailable", cause)), Unavailable, "storage unavailable"},
		{"named field", Field("parent_path", Invalid.New("must be a path")), Invalid, "parent_path: must be a path"},
		{"bare kind", fmt.Errorf("x: %w", Conflict), Conflict, "conflict"},
		{"error without a kind", &Error{Msg: "half made"}, nil, ""},
		{"plain error", cause, nil, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e, ok := Classified(c.err)
			if ok != (c.kind != nil) || (ok && (e.Kind != c.kind || e.Msg != c.msg)) {
				t.Fatalf("Classified(%v) = %+v, %v; want kind %v, message %q", c.err, e, ok, c.kind, c.msg)
			}
			if c.kind != nil && !errors.Is(c.err, c.kind) {
				t.Fatalf("errors.Is(%v, %v) is false", c.err, c.kind)
			}
		})
	}
	if !errors.Is(Unavailable.Wrap("x", cause), cause) {
		t.Fatal("the cause is not reachable")
	}
	if errors.Is(NotFound.New("x"), Invalid) {
		t.Fatal("a not-found error is of kind invalid")
	}
}
