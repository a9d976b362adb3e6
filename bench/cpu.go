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
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	// Fields after the command, which is in parentheses and may hold spaces.
	s := string(b)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+2:])
	if len(f) < 13 {
		return 0
	}
	utime, _ := strconv.ParseInt(f[11], 10, 64)
	stime, _ := strconv.ParseInt(f[12], 10, 64)
	return time.Duration(utime+stime) * time.Second / clockTicks
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

// cpuMeter measures the CPU each part of the stack uses over a run.
type cpuMeter struct {
	parts  map[string][]int
	before map[string]time.Duration
}

func (h *harness) meter(s *services) *cpuMeter {
	m := &cpuMeter{parts: map[string][]int{}, before: map[string]time.Duration{}}
	m.parts["writer"] = []int{s.writer.Pid()}
	for _, r := range s.readers {
		m.parts["readers"] = append(m.parts["readers"], r.Pid())
	}
	nginxPid := s.nginx.Pid()
	m.parts["nginx"] = append([]int{nginxPid}, processes("", map[int]bool{nginxPid: true})...)
	m.parts["load generator"] = []int{os.Getpid()}
	m.parts["postgres"] = processes("postgres", nil)
	for k := range m.parts {
		m.before[k] = m.total(k)
	}
	return m
}

func (m *cpuMeter) total(part string) time.Duration {
	var t time.Duration
	for _, pid := range m.parts[part] {
		t += procCPU(pid)
	}
	return t
}

// perRequest reports each part's CPU per request over n requests.
func (m *cpuMeter) perRequest(n float64) string {
	var parts []string
	for _, k := range []string{"load generator", "nginx", "writer", "readers", "postgres"} {
		d := m.total(k) - m.before[k]
		parts = append(parts, fmt.Sprintf("%s %.0f µs", k, float64(d.Microseconds())/n))
	}
	return strings.Join(parts, ", ")
}
