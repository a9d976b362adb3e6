package main

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"net"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// rawRequest appends the i-th request of a run, a whole HTTP/1.1 request,
// to buf. get tells the caller's split (GET or not) for the figures.
type rawRequest func(i int64, buf []byte) (req []byte, get bool)

// sample is one request's outcome: when it started (from the run's start),
// how long it took, whether it was a GET and whether it succeeded.
type sample struct {
	at  time.Duration
	lat time.Duration
	get bool
	ok  bool
}

// rawAttack runs conc keep-alive connections to addr, each sending the
// next request as soon as the previous answer is read, for dur. It is the
// write rounds' load generator: vegeta spends about 80 µs of CPU a request
// (its result channel and metrics), as much as nginx and the writer's HTTP
// together, and the CPU per comment is measured over every process. This
// client spends a fraction of that; both sides of a comparison use it.
func rawAttack(addr string, conc int, dur time.Duration, next rawRequest) []sample {
	var n atomic.Int64
	var mu sync.Mutex
	var all []sample
	var wg sync.WaitGroup
	start := time.Now()
	deadline := start.Add(dur)
	for range conc {
		wg.Add(1)
		go func() {
			defer wg.Done()
			mine := make([]sample, 0, 4096)
			var conn net.Conn
			var br *bufio.Reader
			var buf []byte
			for {
				t0 := time.Now()
				if !t0.Before(deadline) {
					break
				}
				if conn == nil {
					c, err := net.Dial("tcp", addr)
					if err != nil {
						mine = append(mine, sample{at: t0.Sub(start), lat: time.Since(t0)})
						continue
					}
					conn, br = c, bufio.NewReaderSize(c, 64<<10)
				}
				var get bool
				buf, get = next(n.Add(1), buf[:0])
				_ = conn.SetDeadline(t0.Add(30 * time.Second))
				status, keep, err := roundTrip(conn, br, buf)
				mine = append(mine, sample{at: t0.Sub(start), lat: time.Since(t0), get: get, ok: err == nil && status/100 == 2})
				if err != nil || !keep {
					conn.Close()
					conn = nil
				}
			}
			if conn != nil {
				conn.Close()
			}
			mu.Lock()
			all = append(all, mine...)
			mu.Unlock()
		}()
	}
	wg.Wait()
	return all
}

// roundTrip writes req and reads one response, discarding its body. It
// understands what nginx sends: Content-Length or chunked bodies.
func roundTrip(conn net.Conn, br *bufio.Reader, req []byte) (status int, keep bool, err error) {
	if _, err := conn.Write(req); err != nil {
		return 0, false, err
	}
	line, err := br.ReadSlice('\n')
	if err != nil {
		return 0, false, err
	}
	if len(line) < 12 || !bytes.HasPrefix(line, []byte("HTTP/1.1 ")) {
		return 0, false, fmt.Errorf("bad status line %q", line)
	}
	if status, err = strconv.Atoi(string(line[9:12])); err != nil {
		return 0, false, err
	}
	length, chunked, keep := -1, false, true
	for {
		h, err := br.ReadSlice('\n')
		if err != nil {
			return 0, false, err
		}
		h = bytes.TrimRight(h, "\r\n")
		if len(h) == 0 {
			break
		}
		k, v, _ := bytes.Cut(h, []byte(":"))
		v = bytes.TrimSpace(v)
		switch {
		case bytes.EqualFold(k, []byte("Content-Length")):
			if length, err = strconv.Atoi(string(v)); err != nil {
				return 0, false, err
			}
		case bytes.EqualFold(k, []byte("Transfer-Encoding")):
			chunked = bytes.EqualFold(v, []byte("chunked"))
		case bytes.EqualFold(k, []byte("Connection")):
			keep = !bytes.EqualFold(v, []byte("close"))
		}
	}
	switch {
	case chunked:
		err = skipChunks(br)
	case length >= 0:
		_, err = br.Discard(length)
	default:
		return status, false, errors.New("a response without a length")
	}
	return status, keep, err
}

func skipChunks(br *bufio.Reader) error {
	for {
		line, err := br.ReadSlice('\n')
		if err != nil {
			return err
		}
		size, _, _ := bytes.Cut(bytes.TrimRight(line, "\r\n"), []byte(";"))
		n, err := strconv.ParseInt(string(size), 16, 64)
		if err != nil {
			return err
		}
		if n == 0 {
			_, err = br.ReadSlice('\n') // the empty trailer
			return err
		}
		if _, err := br.Discard(int(n) + 2); err != nil {
			return err
		}
	}
}

// postRequest appends a POST of a JSON body to host's path.
func postRequest(buf []byte, host, path string, body []byte) []byte {
	buf = append(buf, "POST "...)
	buf = append(buf, path...)
	buf = append(buf, " HTTP/1.1\r\nHost: "...)
	buf = append(buf, host...)
	buf = append(buf, "\r\nContent-Type: application/json\r\nContent-Length: "...)
	buf = strconv.AppendInt(buf, int64(len(body)), 10)
	buf = append(buf, "\r\n\r\n"...)
	return append(buf, body...)
}

// getRequest appends a GET of host's path.
func getRequest(buf []byte, host, path string) []byte {
	buf = append(buf, "GET "...)
	buf = append(buf, path...)
	buf = append(buf, " HTTP/1.1\r\nHost: "...)
	buf = append(buf, host...)
	return append(buf, "\r\n\r\n"...)
}

// summarize turns samples into a loadResult over dur.
func summarize(ss []sample, dur time.Duration, keep func(sample) bool) loadResult {
	var lat []time.Duration
	var okN, n uint64
	codes := map[string]int{}
	for _, s := range ss {
		if keep != nil && !keep(s) {
			continue
		}
		n++
		if s.ok {
			okN++
			lat = append(lat, s.lat)
		} else {
			codes["failed"]++
		}
	}
	ps := percentiles(lat, 0.5, 0.99, 1)
	r := loadResult{rps: float64(okN) / dur.Seconds(), p50: ps[0], p99: ps[1], max: ps[2], requests: n, codes: codes, success: 1}
	if n > 0 {
		r.success = float64(okN) / float64(n)
	}
	return r
}
