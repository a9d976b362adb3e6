package reader

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/zap"

	"github.com/parley/parley/internal/comment"
	"github.com/parley/parley/internal/errs"
)

func TestParseTime(t *testing.T) {
	cases := []struct {
		in   string
		want time.Time
		ok   bool
	}{
		{"2026-11-22T23:19:36.123Z", time.Date(2026, 11, 22, 23, 19, 36, 123e6, time.UTC), true},
		{"2026-11-22T23:19:36Z", time.Date(2026, 11, 22, 23, 19, 36, 0, time.UTC), true},
		{"2026-11-23T00:19:36+01:00", time.Date(2026, 11, 22, 23, 19, 36, 0, time.UTC), true},
		{"1700000000", time.Unix(1700000000, 0), true},
		{"1700000000.25", time.Unix(1700000000, 25e7), true},
		{"0", time.Unix(0, 0), true},
		{"-1.5", time.Unix(-1, -5e8), true},
		{"", time.Time{}, false},
		{"1e9", time.Time{}, false},
		{"1700000000.", time.Time{}, false},
		{".5", time.Time{}, false},
		{"12345678901234", time.Time{}, false},
		{"2026-11-22", time.Time{}, false},
		{"2026-11-22 23:19:36Z", time.Time{}, false},
		{"NaN", time.Time{}, false},
		{"+5", time.Time{}, false},
	}
	for _, tc := range cases {
		got, err := ParseTime(tc.in)
		if (err == nil) != tc.ok || (tc.ok && !got.Equal(tc.want)) {
			t.Errorf("ParseTime(%q) = %v, %v; want %v ok=%v", tc.in, got, err, tc.want, tc.ok)
		}
	}
}

func FuzzParseTime(f *testing.F) {
	for _, s := range []string{"2026-11-22T23:19:36.123Z", "1700000000.25", "-1", "x", "1.0000000001"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		tm, err := ParseTime(s)
		if err != nil {
			if !errors.Is(err, errs.Invalid) {
				t.Fatalf("%q: error of kind %v", s, err)
			}
			return
		}
		// Millisecond bounds are consistent: floor ≤ t ≤ ceil, one apart at most.
		lo, hi := floorMilli(tm), ceilMilli(tm)
		if lo > hi || hi-lo > 1 || time.UnixMilli(lo).After(tm) || time.UnixMilli(hi).Before(tm) {
			t.Fatalf("%q = %v: floor %d ceil %d", s, tm, lo, hi)
		}
	})
}

// TestViewCounterBound: while the writer refuses, batches pile up to the
// bound, the oldest go first, and the rest are sent once it is back.
func TestViewCounterBound(t *testing.T) {
	var up atomic.Bool
	var got atomic.Int64
	keys := map[string]bool{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !up.Load() {
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		var body comment.Views
		_ = json.NewDecoder(r.Body).Decode(&body)
		keys[r.Header.Get("Idempotency-Key")] = true
		for _, rg := range body.Ranges {
			got.Add(rg.Count)
		}
	}))
	defer srv.Close()
	v := NewViewCounter(srv.URL, 3, zap.NewNop())
	topic := comment.NewTopicID()
	ctx := context.Background()
	for i := range 5 { // five flushes of one range each; room for three
		page := TopicPage{hits: &pageHits{view: View{Topic: topic, First: "0", Last: "0", MaxID: int32(i)}}}
		v.Record(page)
		v.Record(page)
		if err := v.Flush(ctx); err == nil {
			t.Fatal("flush to a refusing writer succeeded")
		}
	}
	if p := v.Pending(); p != 3 {
		t.Fatalf("%d ranges pending, want the bound of 3", p)
	}
	up.Store(true)
	if err := v.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	if got.Load() != 6 || len(keys) != 3 || v.Pending() != 0 {
		t.Fatalf("writer got %d views in %d batches, %d pending; want 6 in 3, 0", got.Load(), len(keys), v.Pending())
	}
	if v.dropped.Load() != 2 {
		t.Fatalf("dropped %d ranges, want 2", v.dropped.Load())
	}
	if !strings.HasPrefix(v.url, srv.URL) {
		t.Fatal(v.url)
	}
}

// TestViewCounterConcurrentExact: hits racing with flushes are each counted
// exactly once.
func TestViewCounterConcurrentExact(t *testing.T) {
	var got atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var body comment.Views
		_ = json.NewDecoder(r.Body).Decode(&body)
		for _, rg := range body.Ranges {
			got.Add(rg.Count)
		}
	}))
	defer srv.Close()
	v := NewViewCounter(srv.URL, 1<<20, zap.NewNop())
	pages := make([]TopicPage, 5)
	for i := range pages {
		pages[i] = TopicPage{hits: &pageHits{view: View{Topic: comment.NewTopicID(), First: "0", Last: "0", MaxID: int32(i)}}}
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for range 20 {
			_ = v.Flush(context.Background())
		}
	}()
	const workers, each = 8, 5000
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				v.Record(pages[(w+i)%len(pages)])
			}
		}()
	}
	wg.Wait()
	<-done
	if err := v.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got.Load() != workers*each {
		t.Fatalf("counted %d views of %d", got.Load(), workers*each)
	}
}
