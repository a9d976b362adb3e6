package main

import (
	"fmt"
	"net/http"
	"time"

	dto "github.com/prometheus/client_model/go"
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
// (internal/stacktest), by lane: "topics" (comments and votes) and
// "other" (view batches and bans).
func scrapeWriter(url string) (map[string]txStats, error) {
	c := http.Client{Timeout: 5 * time.Second}
	resp, err := c.Get(url)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("%s: %s", url, resp.Status)
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(resp.Body)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", url, err)
	}
	tx, size := fams["parley_writer_transaction_duration_seconds"], fams["parley_writer_batch_size"]
	if tx == nil || size == nil {
		return nil, fmt.Errorf("%s: no transaction or batch size histogram", url)
	}
	lanes := map[string]txStats{}
	for _, m := range tx.GetMetric() {
		h := m.GetHistogram()
		st := txStats{batches: float64(h.GetSampleCount()), seconds: h.GetSampleSum()}
		for _, b := range h.GetBucket() {
			st.le, st.cum = append(st.le, b.GetUpperBound()), append(st.cum, float64(b.GetCumulativeCount()))
		}
		lanes[lane(m)] = st
	}
	for _, m := range size.GetMetric() {
		if st, ok := lanes[lane(m)]; ok {
			st.commands = m.GetHistogram().GetSampleSum()
			lanes[lane(m)] = st
		}
	}
	return lanes, nil
}

// lane is a series' lane label ("" for none).
func lane(m *dto.Metric) string {
	for _, l := range m.GetLabel() {
		if l.GetName() == "lane" {
			return l.GetValue()
		}
	}
	return ""
}

// since is what happened between an earlier scrape and this one, as a
// table cell: batches a second, commands a batch, mean transaction time,
// and the bucket bound under which 99 % of the transactions ended.
func (st txStats) since(before txStats, d time.Duration) string {
	n := st.batches - before.batches
	if n <= 0 || len(st.le) == 0 || len(st.cum) != len(before.cum) {
		return "–"
	}
	last := st.le[len(st.le)-1]
	p99 := "> " + ms(time.Duration(last*float64(time.Second))) // past the last bucket
	for i := range st.cum {
		if st.cum[i]-before.cum[i] >= 0.99*n {
			p99 = "≤ " + ms(time.Duration(st.le[i]*float64(time.Second)))
			break
		}
	}
	rate := fmt.Sprintf("%.0f/s", n/d.Seconds())
	if n/d.Seconds() < 10 { // the view batches: one or two a second
		rate = fmt.Sprintf("%.1f/s", n/d.Seconds())
	}
	return fmt.Sprintf("%s × %.1f, %.2f ms, p99 %s", rate, (st.commands-before.commands)/n,
		1000*(st.seconds-before.seconds)/n, p99)
}
