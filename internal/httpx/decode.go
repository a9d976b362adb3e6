package httpx

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"unicode/utf8"

	"github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"

	"github.com/parley/parley/internal/errs"
)

// ReadBody reads a request body of at most limit bytes; more is 413.
func ReadBody(r *http.Request, limit int64) ([]byte, error) {
	if r.ContentLength > limit {
		return nil, errs.TooLarge.New("request body is over the limit of %d bytes", limit)
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, limit+1))
	if errors.Is(err, os.ErrDeadlineExceeded) {
		return nil, errs.SlowBody.New("the request body did not arrive in time")
	}
	if err != nil {
		return nil, errs.Invalid.New("could not read the request body")
	}
	if int64(len(body)) > limit {
		return nil, errs.TooLarge.New("request body is over the limit of %d bytes", limit)
	}
	return body, nil
}

// DecodeJSON decodes one JSON object into dst, strictly (SPEC §12): the
// raw bytes must be valid UTF-8, escapes must not encode lone UTF-16
// surrogates, keys must match a field exactly (case included) and only
// once, and nothing may follow the object. It decodes with the JSON v2
// package (go-json-experiment/json), which refuses duplicate and
// differently-cased names in the same pass that decodes.
func DecodeJSON(raw []byte, dst any) error {
	if !utf8.Valid(raw) {
		return errs.Invalid.New("request body is not valid UTF-8")
	}
	if err := checkSurrogates(raw); err != nil {
		return err
	}
	if err := json.Unmarshal(raw, dst, json.RejectUnknownMembers(true)); err != nil {
		return errs.Invalid.New("malformed JSON: %s", jsonProblem(raw, err))
	}
	return nil
}

// jsonProblem says what is wrong in words a client can act on.
func jsonProblem(raw []byte, err error) string {
	if e, ok := errs.Classified(err); ok {
		return e.Msg
	}
	var semErr *json.SemanticError
	var synErr *jsontext.SyntacticError
	switch {
	case errors.Is(err, jsontext.ErrDuplicateName):
		return fmt.Sprintf("field %q is given twice", field(err))
	case errors.Is(err, json.ErrUnknownName):
		return fmt.Sprintf("unknown field %q", field(err))
	case errors.Is(err, io.ErrUnexpectedEOF):
		return "unexpected end of input"
	case errors.As(err, &semErr) && semErr.GoType != nil:
		if name := string(semErr.JSONPointer.LastToken()); name != "" {
			return fmt.Sprintf("field %q must be a %s", name, jsonType(semErr.GoType.Kind().String()))
		}
		return "the body must be a JSON object"
	case errors.As(err, &synErr):
		if off := synErr.ByteOffset; off > 0 && off <= int64(len(raw)) && jsontext.Value(bytes.TrimSpace(raw[:off])).IsValid() {
			return "data after the object" // what precedes the error is a whole value
		}
		return fmt.Sprintf("syntax error at byte %d", synErr.ByteOffset)
	}
	return "invalid JSON"
}

// field is the name of the member an error is about.
func field(err error) string {
	var semErr *json.SemanticError
	var synErr *jsontext.SyntacticError
	switch {
	case errors.As(err, &synErr):
		return string(synErr.JSONPointer.LastToken())
	case errors.As(err, &semErr):
		return string(semErr.JSONPointer.LastToken())
	}
	return ""
}

func jsonType(goKind string) string {
	switch goKind {
	case "string":
		return "string"
	case "int", "int32", "int64", "float64":
		return "number"
	case "bool":
		return "boolean"
	case "slice":
		return "array"
	}
	return "object"
}

// checkSurrogates finds \uD800–\uDFFF escapes in JSON strings that do not
// form a high-low pair. It reads escapes anywhere, which is fine: outside
// strings a backslash is a syntax error that the decoder reports anyway.
func checkSurrogates(raw []byte) error {
	for i := 0; i < len(raw); i++ {
		if raw[i] != '\\' {
			continue
		}
		if i+1 >= len(raw) {
			return nil
		}
		if raw[i+1] != 'u' {
			i++ // skip the escaped character, which may be a backslash
			continue
		}
		r, ok := hex4(raw, i+2)
		if !ok {
			return nil // the decoder reports the bad escape
		}
		i += 5
		switch {
		case r >= 0xD800 && r <= 0xDBFF:
			if i+6 < len(raw) && raw[i+1] == '\\' && raw[i+2] == 'u' {
				if lo, ok := hex4(raw, i+3); ok && lo >= 0xDC00 && lo <= 0xDFFF {
					i += 6
					continue
				}
			}
			return errs.Invalid.New("malformed JSON: unpaired UTF-16 surrogate escape")
		case r >= 0xDC00 && r <= 0xDFFF:
			return errs.Invalid.New("malformed JSON: unpaired UTF-16 surrogate escape")
		}
	}
	return nil
}

func hex4(b []byte, at int) (rune, bool) {
	if at+4 > len(b) {
		return 0, false
	}
	var r rune
	for _, c := range b[at : at+4] {
		r <<= 4
		switch {
		case c >= '0' && c <= '9':
			r |= rune(c - '0')
		case c >= 'a' && c <= 'f':
			r |= rune(c - 'a' + 10)
		case c >= 'A' && c <= 'F':
			r |= rune(c - 'A' + 10)
		default:
			return 0, false
		}
	}
	return r, true
}
