package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"time"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
)

func (h *harness) machine() []string {
	var out []string
	cpu := "unknown CPU"
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, line := range strings.Split(string(b), "\n") {
			if strings.HasPrefix(line, "model name") {
				cpu = strings.TrimSpace(strings.SplitN(line, ":", 2)[1])
				break
			}
		}
	}
	mem := ""
	if b, err := os.ReadFile("/proc/meminfo"); err == nil {
		mem = strings.TrimSpace(strings.SplitN(strings.Split(string(b), "\n")[0], ":", 2)[1])
	}
	kernel, _ := exec.Command("uname", "-r").Output()
	out = append(out, fmt.Sprintf("%d CPUs (%s), %s RAM, Linux %s", runtime.NumCPU(), cpu, mem, strings.TrimSpace(string(kernel))))
	gov, _ := exec.Command("go", "version").Output()
	out = append(out, strings.TrimSpace(string(gov)))
	if conn, err := pgxConnect(context.Background(), h.admin); err == nil {
		var v, fsync, sync, sb string
		_ = conn.QueryRow(context.Background(), `SELECT version(), current_setting('fsync'), current_setting('synchronous_commit'), current_setting('shared_buffers')`).Scan(&v, &fsync, &sync, &sb)
		conn.Close(context.Background())
		out = append(out, fmt.Sprintf("%s; fsync=%s, synchronous_commit=%s, shared_buffers=%s", strings.SplitN(v, " on ", 2)[0], fsync, sync, sb))
	}
	if b, err := exec.Command(h.nginxBin, "-v").CombinedOutput(); err == nil {
		out = append(out, strings.TrimSpace(string(b)))
	}
	out = append(out, "load generators, in the bench process: vegeta (library) for the reads and the mixed run; a raw HTTP/1.1 client (bench/raw.go) for the write rounds, the baseline and the soak; everything on this one machine")
	return out
}

func (h *harness) markdown() string {
	var b strings.Builder
	profile := "quick"
	if h.long {
		profile = "long"
	}
	fmt.Fprintf(&b, "## Run of %s (%s profile: comparisons alternate %d rounds of %s and report each side's median round)\n\n",
		time.Now().UTC().Format("2006-01-02 15:04 MST"), profile, h.rounds, h.dur)
	b.WriteString("Machine:\n\n")
	for _, m := range h.machine() {
		fmt.Fprintf(&b, "- %s\n", m)
	}
	b.WriteString("\n| section | figure | Parley | ceiling (same run) | ratio | goal |\n|---|---|---|---|---|---|\n")
	for _, r := range h.rows {
		fmt.Fprintf(&b, "| %s | %s | %s | %s | %s | %s |\n", r.Section, r.Name, r.Value, r.Ceiling, r.Ratio, r.Goal)
	}
	for _, t := range h.tables {
		b.WriteString("\n" + t)
	}
	if len(h.notes) > 0 {
		b.WriteString("\nNotes:\n\n")
		for _, n := range h.notes {
			fmt.Fprintf(&b, "- %s\n", n)
		}
	}
	if len(h.micros) > 0 {
		b.WriteString("\nGo micro-benchmarks (`go test -bench . -benchmem ./internal/reader/... ./internal/writer`):\n\n```\n")
		for _, m := range h.micros {
			b.WriteString(m + "\n")
		}
		b.WriteString("```\n")
	}
	return b.String()
}

// chart draws throughput and p99 latency, Parley beside its ceiling.
func (h *harness) chart(path string) error {
	var groups []string
	seen := map[string]bool{}
	for _, c := range h.charts {
		if !seen[c.Group] {
			seen[c.Group] = true
			groups = append(groups, c.Group)
		}
	}
	series := func(ceiling bool, f func(bar) float64) plotter.Values {
		v := make(plotter.Values, len(groups))
		for i, g := range groups {
			for _, c := range h.charts {
				if c.Group == g && c.IsCeiling == ceiling {
					v[i] = f(c)
				}
			}
		}
		return v
	}
	mk := func(title, ylabel string, f func(bar) float64) (*plot.Plot, error) {
		p := plot.New()
		p.Title.Text = title
		p.Y.Label.Text = ylabel
		w := vg.Points(28)
		ours, err := plotter.NewBarChart(series(false, f), w)
		if err != nil {
			return nil, err
		}
		ours.Color = plotColor(0x1f, 0x77, 0xb4)
		ours.Offset = -w / 2
		ceil, err := plotter.NewBarChart(series(true, f), w)
		if err != nil {
			return nil, err
		}
		ceil.Color = plotColor(0x99, 0x99, 0x99)
		ceil.Offset = w / 2
		p.Add(ours, ceil)
		p.Legend.Add("Parley", ours)
		p.Legend.Add("ceiling (same run)", ceil)
		p.Legend.Top = true
		p.Legend.Left = true
		p.NominalX(groups...)
		return p, nil
	}
	tput, err := mk("Throughput", "requests/s", func(c bar) float64 { return c.RPS })
	if err != nil {
		return err
	}
	lat, err := mk("Latency p99", "ms", func(c bar) float64 { return float64(c.P99) / 1e6 })
	if err != nil {
		return err
	}
	img := vgimg.New(vg.Points(900), vg.Points(700))
	dc := draw.New(img)
	tiles := draw.Tiles{Rows: 2, Cols: 1, PadY: vg.Points(10), PadTop: vg.Points(5), PadBottom: vg.Points(5), PadLeft: vg.Points(5), PadRight: vg.Points(5)}
	canvases := plot.Align([][]*plot.Plot{{tput}, {lat}}, tiles, dc)
	tput.Draw(canvases[0][0])
	lat.Draw(canvases[1][0])
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	defer f.Close()
	_, err = vgimg.PngCanvas{Canvas: img}.WriteTo(f)
	return err
}
