package main

import (
	"fmt"
	"net/http"
	"time"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// txStats is what the writer's Prometheus metrics (METRICS_ADDR) say of
// its batch transactions so far: how many, how many commands they held,
// their summed time, and the cumulative histogram of their times.
type txStats struct {
	batches, commands, seconds float64
	le, cum                    []float64 // finite bucket bounds (seconds) and their cumulative counts
}

// scrapeWriter reads the writer's transaction and batch-size histograms
// from its metrics endpoint, with the text parser the end-to-end tests use
// (internal/stacktest).
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
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(resp.Body)
	if err != nil {
		return txStats{}, fmt.Errorf("%s: %w", url, err)
	}
	tx, size := fams["parley_writer_transaction_duration_seconds"], fams["parley_writer_batch_size"]
	if tx == nil || size == nil || len(tx.Metric) == 0 || len(size.Metric) == 0 {
		return txStats{}, fmt.Errorf("%s: no transaction or batch size histogram", url)
	}
	h := tx.Metric[0].GetHistogram()
	st := txStats{batches: float64(h.GetSampleCount()), seconds: h.GetSampleSum(), commands: size.Metric[0].GetHistogram().GetSampleSum()}
	for _, b := range h.GetBucket() {
		st.le, st.cum = append(st.le, b.GetUpperBound()), append(st.cum, float64(b.GetCumulativeCount()))
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
	if n <= 0 || len(st.le) == 0 || len(st.cum) != len(before.cum) {
		return "–"
	}
	last := st.le[len(st.le)-1]
	p95 := "> " + ms(time.Duration(last*float64(time.Second))) // past the last bucket
	for i := range st.cum {
		if st.cum[i]-before.cum[i] >= 0.95*n {
			p95 = "≤ " + ms(time.Duration(st.le[i]*float64(time.Second)))
			break
		}
	}
	return fmt.Sprintf("%.0f/s × %.1f, %.2f ms, p95 %s", n/d.Seconds(), (st.commands-before.commands)/n,
		1000*(st.seconds-before.seconds)/n, p95)
}
