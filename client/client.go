// Package client is a Go client of Parley's HTTP API (SPEC §3, §8, §10,
// §11). Writes are retried on connection errors and on 502, 503, 504 and
// 524, with backoff and jitter, always under one Idempotency-Key per call,
// so a retry never writes twice: the writer answers a repeated key with
// the first answer. With WithSession, reads wait for the client's own
// writes (min_position).
package client

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/sethvargo/go-retry"
)

// Client talks to one Parley site, through its nginx. It is safe for
// concurrent use.
type Client struct {
	base     string
	http     *http.Client
	token    string
	attempts uint64
	attempt  time.Duration // timeout of one attempt
	backoff  time.Duration // first wait between attempts
	maxWait  time.Duration // longest wait between attempts
	session  bool
	position atomic.Int64 // the highest position this client wrote
	stats    Stats
}

// Stats counts what a client did, for reports (parley load).
type Stats struct {
	Calls   atomic.Int64 // API calls made
	Retries atomic.Int64 // attempts after the first
}

// Option sets up a Client.
type Option func(*Client)

// WithHTTPClient sends requests with hc (http.DefaultClient by default).
func WithHTTPClient(hc *http.Client) Option { return func(c *Client) { c.http = hc } }

// WithToken sends "Authorization: Bearer token" on every request
// (AUTH_MODE=jwt).
func WithToken(token string) Option { return func(c *Client) { c.token = token } }

// WithRetries makes at most attempts tries of a call (6 by default), the
// first wait being first and the longest max (100 ms and 2 s by default);
// each wait gets up to 50 % of jitter.
func WithRetries(attempts int, first, max time.Duration) Option {
	return func(c *Client) { c.attempts, c.backoff, c.maxWait = uint64(max1(attempts)), first, max }
}

// WithAttemptTimeout bounds each attempt (10 s by default): a writer that
// does not answer in time is tried again.
func WithAttemptTimeout(d time.Duration) Option { return func(c *Client) { c.attempt = d } }

// WithSession makes every read wait for this client's own writes: it
// carries the highest position the client wrote as min_position.
func WithSession() Option { return func(c *Client) { c.session = true } }

func max1(n int) int { return max(n, 1) }

// New returns a client of the site at base, e.g. "http://127.0.0.1:8080".
func New(base string, opts ...Option) *Client {
	c := &Client{base: strings.TrimRight(base, "/"), http: http.DefaultClient, attempts: 6,
		attempt: 10 * time.Second, backoff: 100 * time.Millisecond, maxWait: 2 * time.Second}
	for _, o := range opts {
		o(c)
	}
	return c
}

// Stats are the client's counts so far.
func (c *Client) Stats() *Stats { return &c.stats }

// Position is the highest log position this client wrote.
func (c *Client) Position() int64 { return c.position.Load() }

// Error is an answer of the API other than success: its status and message.
type Error struct {
	Status  int
	Message string
}

func (e *Error) Error() string { return fmt.Sprintf("parley: %d %s", e.Status, e.Message) }

// IsStatus tells whether err is an API answer with that status.
func IsStatus(err error, status int) bool {
	var e *Error
	return errors.As(err, &e) && e.Status == status
}

// retryable are the answers that may come from a writer or a reader that
// is restarting, overloaded or cut off from its database: the call may
// not have happened, or may have happened without its answer arriving.
func retryable(status int) bool {
	switch status {
	case http.StatusBadGateway, http.StatusServiceUnavailable, http.StatusGatewayTimeout, 524:
		return true
	}
	return false
}

// NewKey returns a fresh Idempotency-Key.
func NewKey() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// call is one API call: for a write, the key it is retried under.
type call struct {
	method  string
	path    string
	query   url.Values
	body    []byte
	key     string
	ifMatch string // the If-Match header, if any
}

// do makes a call, retrying it, and decodes a successful answer into out.
// It returns the answer's headers.
func (c *Client) do(ctx context.Context, cl call, out any) (http.Header, error) {
	c.stats.Calls.Add(1)
	if cl.query == nil {
		cl.query = url.Values{}
	}
	if cl.method == http.MethodGet && c.session {
		if p := c.position.Load(); p > 0 && !cl.query.Has("min_position") {
			cl.query.Set("min_position", strconv.FormatInt(p, 10))
		}
	}
	backoff := retry.WithMaxRetries(c.attempts-1, retry.WithJitterPercent(50,
		retry.WithCappedDuration(c.maxWait, retry.NewExponential(c.backoff))))
	var header http.Header
	first := true
	err := retry.Do(ctx, backoff, func(ctx context.Context) error {
		if !first {
			c.stats.Retries.Add(1)
		}
		first = false
		h, err := c.attempt1(ctx, cl, out)
		header = h
		return err
	})
	return header, err
}

// attempt1 is one try of a call; a failure worth another try is returned
// as retry.RetryableError.
func (c *Client) attempt1(ctx context.Context, cl call, out any) (http.Header, error) {
	actx, cancel := context.WithTimeout(ctx, c.attempt)
	defer cancel()
	u := c.base + cl.path
	if len(cl.query) > 0 {
		u += "?" + cl.query.Encode()
	}
	var body io.Reader
	if cl.body != nil {
		body = bytes.NewReader(cl.body)
	}
	req, err := http.NewRequestWithContext(actx, cl.method, u, body)
	if err != nil {
		return nil, err
	}
	if cl.body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if cl.key != "" {
		req.Header.Set("Idempotency-Key", cl.key)
	}
	if cl.ifMatch != "" {
		req.Header.Set("If-Match", cl.ifMatch)
	}
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	res, err := c.http.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err() // the caller gave up: no more tries
		}
		return nil, retry.RetryableError(err)
	}
	defer res.Body.Close()
	raw, err := io.ReadAll(res.Body)
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, retry.RetryableError(err)
	}
	if res.StatusCode/100 != 2 {
		var e struct {
			Error string `json:"error"`
		}
		_ = json.Unmarshal(raw, &e)
		apiErr := &Error{Status: res.StatusCode, Message: e.Error}
		if retryable(res.StatusCode) {
			return res.Header, retry.RetryableError(apiErr)
		}
		return res.Header, apiErr
	}
	if out != nil && len(raw) > 0 {
		if err := json.Unmarshal(raw, out); err != nil {
			return res.Header, fmt.Errorf("parley: %s %s: undecodable answer: %w", cl.method, cl.path, err)
		}
	}
	return res.Header, nil
}

// write is a POST with a JSON body under key (a new one when ""), and
// remembers the position it answers.
func (c *Client) write(ctx context.Context, path string, body any, key string, out positioned) error {
	_, err := c.send(ctx, call{method: http.MethodPost, path: path, key: key}, body, out)
	return err
}

// send makes a write: cl with body as JSON (no body when nil), under
// cl.key for all its tries (a new key when ""). It decodes the answer into
// out and remembers its position: the answer's, else X-Log-Position's (an
// answer without a body, 204). It returns the answer's headers.
func (c *Client) send(ctx context.Context, cl call, body any, out positioned) (http.Header, error) {
	if body != nil {
		raw, err := json.Marshal(body)
		if err != nil {
			return nil, err
		}
		cl.body = raw
	}
	if cl.key == "" {
		cl.key = NewKey()
	}
	h, err := c.do(ctx, cl, out)
	if err != nil {
		return nil, err
	}
	p := out.position()
	if *p == 0 {
		*p, _ = strconv.ParseInt(h.Get("X-Log-Position"), 10, 64)
	}
	for cur := c.position.Load(); *p > cur && !c.position.CompareAndSwap(cur, *p); cur = c.position.Load() {
	}
	return h, nil
}

// positioned is a write's answer; position is where it keeps the write's
// log position.
type positioned interface{ position() *int64 }
