// Package errs classifies failures the way a client needs to see them. The
// domain returns an *Error with a Kind; each kind names its HTTP status, and
// the HTTP edge (internal/httpx) alone answers with it, found through
// errors.As. Success statuses are the routes' own.
package errs

import (
	"errors"
	"fmt"
	"net/http"
)

// Kind is a class of failure. It is an error itself, so errors.Is(err,
// errs.NotFound) asks whether err is of that kind.
type Kind struct {
	name   string
	status int
}

func (k *Kind) Error() string { return k.name }

// Status is the HTTP status the edge answers for this kind.
func (k *Kind) Status() int { return k.status }

// StatusStorageTimeout is the seed API's code for a storage timeout.
const StatusStorageTimeout = 524

// The kinds of failure: a new kind is one line here.
var (
	Invalid      = &Kind{"invalid", http.StatusBadRequest}                     // the request is malformed
	Unauthorized = &Kind{"unauthorized", http.StatusUnauthorized}              // no valid credentials
	Forbidden    = &Kind{"forbidden", http.StatusForbidden}                    // known, but not allowed to do this
	NotFound     = &Kind{"not found", http.StatusNotFound}                     // topic, comment or subtree root does not exist
	Conflict     = &Kind{"conflict", http.StatusConflict}                      // the request contradicts the current state
	Changed      = &Kind{"precondition failed", http.StatusPreconditionFailed} // If-Match names a version the resource no longer has
	TooLarge     = &Kind{"too large", http.StatusRequestEntityTooLarge}        // body or content over the limit
	SlowBody     = &Kind{"request timeout", http.StatusRequestTimeout}         // the request body did not arrive in time
	Unavailable  = &Kind{"unavailable", http.StatusServiceUnavailable}         // storage unreachable, or a reader not ready
	Timeout      = &Kind{"timeout", StatusStorageTimeout}                      // storage did not answer in time
)

// Error is a failure with a kind and a message that is safe to show a client.
type Error struct {
	Kind *Kind
	Msg  string
	Err  error // the cause, for logs; never shown to clients
}

func (e *Error) Error() string {
	if e.Err != nil {
		return e.Msg + ": " + e.Err.Error()
	}
	return e.Msg
}

func (e *Error) Unwrap() error { return e.Err }

// Is makes errors.Is(err, kind) true for an error of that kind.
func (e *Error) Is(target error) bool {
	k, ok := target.(*Kind)
	return ok && k == e.Kind
}

// New returns an error of kind k with a formatted message for the client.
func (k *Kind) New(format string, args ...any) error {
	return &Error{Kind: k, Msg: fmt.Sprintf(format, args...)}
}

// Wrap returns an error of kind k with a message for the client; cause
// goes to the logs only.
func (k *Kind) Wrap(msg string, cause error) error {
	return &Error{Kind: k, Msg: msg, Err: cause}
}

// Field names the request field a failure is about: "parent_path: must be
// …". An error without a kind passes through unchanged.
func Field(name string, err error) error {
	var e *Error
	if err == nil || !errors.As(err, &e) {
		return err
	}
	return &Error{Kind: e.Kind, Msg: name + ": " + e.Msg, Err: e.Err}
}

// Classified reports whether err carries a kind (an expected failure a
// client is told about), as opposed to a bug or an unexpected storage error.
func Classified(err error) (*Error, bool) {
	var e *Error
	if errors.As(err, &e) && e.Kind != nil {
		return e, true
	}
	var k *Kind
	if errors.As(err, &k) { // a bare kind, returned as an error
		return &Error{Kind: k, Msg: k.name}, true
	}
	return nil, false
}
