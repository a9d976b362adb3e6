package comment

import (
	"errors"
	"fmt"
)

// Kind classifies a failure the way a client needs to see it. The HTTP edge
// maps each kind to one status code (internal/httpx); nothing else does.
type Kind uint8

// The kinds of failure.
const (
	KindInvalid     Kind = iota + 1 // the request is malformed
	KindNotFound                    // topic, comment or subtree root does not exist
	KindConflict                    // the request contradicts the current state
	KindTooLarge                    // body or content over the limit
	KindUnavailable                 // storage unreachable, or a reader not ready
	KindTimeout                     // storage did not answer in time
)

// Error is a failure with a kind and a message that is safe to show a client.
type Error struct {
	Kind Kind
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

// Invalid reports a malformed request.
func Invalid(format string, args ...any) error {
	return &Error{Kind: KindInvalid, Msg: fmt.Sprintf(format, args...)}
}

// NotFound reports a missing topic, comment or subtree root.
func NotFound(format string, args ...any) error {
	return &Error{Kind: KindNotFound, Msg: fmt.Sprintf(format, args...)}
}

// Conflict reports a request that the current state forbids.
func Conflict(format string, args ...any) error {
	return &Error{Kind: KindConflict, Msg: fmt.Sprintf(format, args...)}
}

// TooLarge reports a body or content over the configured limit.
func TooLarge(format string, args ...any) error {
	return &Error{Kind: KindTooLarge, Msg: fmt.Sprintf(format, args...)}
}

// Unavailable reports that storage cannot be reached; cause goes to the logs.
func Unavailable(msg string, cause error) error {
	return &Error{Kind: KindUnavailable, Msg: msg, Err: cause}
}

// Timeout reports that storage did not answer in time; cause goes to the logs.
func Timeout(msg string, cause error) error {
	return &Error{Kind: KindTimeout, Msg: msg, Err: cause}
}

// KindOf gives the kind of err, or 0 when err carries none (a bug: the edge
// logs it and answers 500 without details).
func KindOf(err error) Kind {
	var e *Error
	if errors.As(err, &e) {
		return e.Kind
	}
	return 0
}
