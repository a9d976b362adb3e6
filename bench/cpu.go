package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// clockTicks is Linux's USER_HZ, the unit of /proc/<pid>/stat times.
const clockTicks = 100

// procCPU is the user+system CPU time a process has used.
func procCPU(pid int) time.Duration {
	st, _ := readStat(pid)
	return st.own
}

// stat is what /proc/<pid>/stat says of a process's parent and CPU time.
type stat struct {
	ppid        int
	own, reaped time.Duration // user+system of the process, and of its children it has waited for (which have exited)
}

// readStat reads a process's stat; false if it is gone.
func readStat(pid int) (stat, bool) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return stat{}, false
	}
	// Fields after the command, which is in parentheses and may hold spaces.
	s := string(b)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+2:])
	if len(f) < 15 {
		return stat{}, false
	}
	ppid, _ := strconv.Atoi(f[1])
	var t [4]int64 // utime, stime, cutime, cstime
	for i := range t {
		t[i], _ = strconv.ParseInt(f[11+i], 10, 64)
	}
	return stat{ppid, time.Duration(t[0]+t[1]) * time.Second / clockTicks, time.Duration(t[2]+t[3]) * time.Second / clockTicks}, true
}

// postgresCPU is the CPU time of every postgres process alive now, plus
// that of those that have exited: the postmaster waits for its children
// (backends, autovacuum workers), so their time is in its reaped time. A
// process that exits between two readings is counted in both, live and
// then reaped, so the difference of two readings is the time spent
// between them.
func postgresCPU() time.Duration {
	stats := map[int]stat{}
	for _, pid := range processes("postgres", nil) {
		if st, ok := readStat(pid); ok {
			stats[pid] = st
		}
	}
	var t time.Duration
	for _, st := range stats {
		t += st.own
		if _, child := stats[st.ppid]; !child { // the postmaster
			t += st.reaped
		}
	}
	return t
}

// processes lists pids whose command is name, or whose parent is in parents.
func processes(name string, parents map[int]bool) []int {
	var out []int
	dirs, _ := filepath.Glob("/proc/[0-9]*")
	for _, d := range dirs {
		pid, err := strconv.Atoi(filepath.Base(d))
		if err != nil {
			continue
		}
		b, err := os.ReadFile(d + "/stat")
		if err != nil {
			continue
		}
		s := string(b)
		open, closing := strings.IndexByte(s, '('), strings.LastIndexByte(s, ')')
		if open < 0 || closing < open {
			continue
		}
		comm := s[open+1 : closing]
		f := strings.Fields(s[closing+2:])
		ppid := -1
		if len(f) > 1 {
			ppid, _ = strconv.Atoi(f[1])
		}
		if (name != "" && comm == name) || parents[ppid] {
			out = append(out, pid)
		}
	}
	return out
}

// cpuParts are the processes whose CPU is reported, in report order.
var cpuParts = []string{"load generator", "nginx", "writer", "readers", "postgres"}

// cpuMeter measures the CPU each part of the stack uses over a run.
type cpuMeter struct {
	parts        map[string][]int
	before       map[string]time.Duration
	busy0, idle0 int64 // machine-wide /proc/stat ticks at the start
}

// machineTicks is the machine's busy and idle (idle + iowait) ticks so far,
// and the part of busy the hypervisor gave to another guest (steal): on a
// shared VM a minute with more of it is a slower machine, not slower code.
func machineTicks() (busy, idle, steal int64) {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0, 0, 0
	}
	f := strings.Fields(strings.SplitN(string(b), "\n", 2)[0]) // cpu user nice system idle iowait irq softirq steal …
	for i, v := range f[1:] {
		n, _ := strconv.ParseInt(v, 10, 64)
		switch {
		case i == 3 || i == 4:
			idle += n
		case i < 8:
			busy += n
			if i == 7 {
				steal = n
			}
		}
	}
	return busy, idle, steal
}

// meter starts measuring the services' processes, nginx's workers, the
// load generator (this process) and every postgres process.
func (h *harness) meter(s *services) *cpuMeter {
	var readers []int
	for _, r := range s.readers {
		readers = append(readers, r.Pid())
	}
	return newMeter(s.writer.Pid(), readers, s.nginx.Pid())
}

// newMeter measures a writer (or the baseline's server), readers (none
// for the baseline) and nginx with its workers, beside the load generator
// and Postgres.
func newMeter(writer int, readers []int, nginx int) *cpuMeter {
	m := &cpuMeter{parts: map[string][]int{}, before: map[string]time.Duration{}}
	m.parts["writer"] = []int{writer}
	m.parts["readers"] = readers
	m.parts["nginx"] = append([]int{nginx}, processes("", map[int]bool{nginx: true})...)
	m.parts["load generator"] = []int{os.Getpid()}
	for _, k := range cpuParts {
		m.before[k] = m.total(k)
	}
	m.busy0, m.idle0, _ = machineTicks()
	return m
}

// machineBusy is the share of the machine's CPU time that was busy since
// the meter started, every process and the kernel included.
func (m *cpuMeter) machineBusy() float64 {
	busy, idle, _ := machineTicks()
	b, i := busy-m.busy0, idle-m.idle0
	if b+i == 0 {
		return 0
	}
	return float64(b) / float64(b+i)
}

func (m *cpuMeter) total(part string) time.Duration {
	if part == "postgres" { // its processes come and go (backends, autovacuum workers)
		return postgresCPU()
	}
	var t time.Duration
	for _, pid := range m.parts[part] {
		t += procCPU(pid)
	}
	return t
}

// snapshot is each part's CPU time so far.
func (m *cpuMeter) snapshot() map[string]time.Duration {
	out := make(map[string]time.Duration, len(cpuParts))
	for _, k := range cpuParts {
		out[k] = m.total(k)
	}
	return out
}

// cpuPer is each part's CPU per request, in µs, and their sum.
type cpuPer struct {
	parts map[string]float64
	total float64
}

// per ends the measurement: each part's CPU per request over n requests.
func (m *cpuMeter) per(n float64) cpuPer {
	c := cpuPer{parts: map[string]float64{}}
	for _, k := range cpuParts {
		us := float64((m.total(k) - m.before[k]).Microseconds()) / n
		c.parts[k] = us
		c.total += us
	}
	return c
}

// perRequest reports each part's CPU per request over n requests.
func (m *cpuMeter) perRequest(n float64) string {
	return m.per(n).String() + fmt.Sprintf(" (machine %.0f%% busy)", m.machineBusy()*100)
}

// short is c's parts in cpuParts' order, then the total, in µs:
// "17 / 34 / 7 / 41 / 8 (107)".
func (c cpuPer) short() string {
	var parts []string
	for _, k := range cpuParts {
		parts = append(parts, fmt.Sprintf("%.0f", c.parts[k]))
	}
	return fmt.Sprintf("%s (%.0f)", strings.Join(parts, " / "), c.total)
}

func (c cpuPer) String() string {
	var parts []string
	for _, k := range cpuParts {
		parts = append(parts, fmt.Sprintf("%s %.0f µs", k, c.parts[k]))
	}
	return strings.Join(parts, ", ") + fmt.Sprintf("; total %.0f µs", c.total)
}

// medianCPU is the median, part by part, of rounds' figures.
func medianCPU(rounds []cpuPer) cpuPer {
	out := cpuPer{parts: map[string]float64{}}
	for _, k := range cpuParts {
		var v []float64
		for _, r := range rounds {
			v = append(v, r.parts[k])
		}
		out.parts[k] = medianOf(v)
		out.total += out.parts[k]
	}
	return out
}

// cpuTable is a Markdown table of CPU per request by process.
func cpuTable(names []string, figures []cpuPer) string {
	var b strings.Builder
	b.WriteString("| CPU per request (µs, median round) |")
	for _, k := range cpuParts {
		b.WriteString(" " + k + " |")
	}
	b.WriteString(" total |\n|---|")
	for range cpuParts {
		b.WriteString("---|")
	}
	b.WriteString("---|\n")
	for i, f := range figures {
		b.WriteString("| " + names[i] + " |")
		for _, k := range cpuParts {
			if f.parts[k] == 0 {
				b.WriteString(" – |")
				continue
			}
			fmt.Fprintf(&b, " %.0f |", f.parts[k])
		}
		fmt.Fprintf(&b, " **%.0f** |\n", f.total)
	}
	return b.String()
}
