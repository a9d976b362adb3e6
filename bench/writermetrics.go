package main

import (
	"bufio"
	"fmt"
	"math"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// txStats is what the writer's Prometheus metrics (METRICS_ADDR) say of
// its batch transactions so far: how many, how many commands they held,
// their summed time, and the cumulative histogram of their times.
type txStats struct {
	batches, commands, seconds float64
	le, cum                    []float64 // bucket bounds (seconds) and cumulative counts, +Inf last
}

// scrapeWriter reads the writer's transaction and batch-size families from
// its metrics endpoint.
func scrapeWriter(url string) (txStats, error) {
	c := http.Client{Timeout: 5 * time.Second}
	resp, err := c.Get(url)
	if err != nil {
		return txStats{}, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return txStats{}, fmt.Errorf("%s: %s", url, resp.Status)
	}
	const tx, size = "parley_writer_transaction_duration_seconds", "parley_writer_batch_size"
	var st txStats
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		name, value, ok := strings.Cut(sc.Text(), " ")
		if !ok || strings.HasPrefix(name, "#") {
			continue
		}
		v, err := strconv.ParseFloat(value, 64)
		if err != nil {
			continue
		}
		switch {
		case name == tx+"_count":
			st.batches = v
		case name == tx+"_sum":
			st.seconds = v
		case name == size+"_sum":
			st.commands = v
		case strings.HasPrefix(name, tx+`_bucket{le="`):
			bound := strings.TrimSuffix(strings.TrimPrefix(name, tx+`_bucket{le="`), `"}`)
			le, err := strconv.ParseFloat(bound, 64) // "+Inf" parses as +Inf
			if err != nil {
				continue
			}
			st.le, st.cum = append(st.le, le), append(st.cum, v)
		}
	}
	if err := sc.Err(); err != nil {
		return txStats{}, err
	}
	if st.batches == 0 && len(st.le) == 0 {
		return txStats{}, fmt.Errorf("%s: no %s", url, tx)
	}
	return st, nil
}

// since is what happened between an earlier scrape and this one, as a
// table cell: batches a second, commands a batch, mean transaction time,
// and the bucket bound under which 95 % of the transactions ended (not
// 99 %: the readers' view batches, 10–50 ms and one or two a second, are in
// the same histogram and would be all a p99 shows).
func (st txStats) since(before txStats, d time.Duration) string {
	n := st.batches - before.batches
	if n <= 0 || len(st.cum) < 2 || len(st.cum) != len(before.cum) {
		return "–"
	}
	p95 := math.Inf(1)
	for i := range st.cum {
		if st.cum[i]-before.cum[i] >= 0.95*n {
			p95 = st.le[i]
			break
		}
	}
	bound := "> " + ms(time.Duration(st.le[len(st.le)-2]*float64(time.Second))) // past the last finite bucket
	if !math.IsInf(p95, 1) {
		bound = "≤ " + ms(time.Duration(p95*float64(time.Second)))
	}
	return fmt.Sprintf("%.0f/s × %.1f, %.2f ms, p95 %s", n/d.Seconds(), (st.commands-before.commands)/n,
		1000*(st.seconds-before.seconds)/n, bound)
}
