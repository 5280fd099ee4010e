package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"strconv"
	"strings"
	"time"
)

// wrkDone makes wrk print its summary as one JSON line: the counts, and
// the latency percentiles from its own histogram, in microseconds.
const wrkDone = `done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format('WRK_RESULT {"requests":%.0f,"duration_us":%.0f,"bytes":%.0f,"connect":%.0f,"read":%.0f,"write":%.0f,"status":%.0f,"timeout":%.0f,"p50_us":%.0f,"p90_us":%.0f,"p99_us":%.0f,"max_us":%.0f}\n',
    summary.requests, summary.duration, summary.bytes, e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max))
end
`

// wrkScript is the Lua script wrk runs for t: the summary, and with more
// than one page the paths to go round. Thread k of n asks for pages k,
// k+n, k+2n, …, so that the requests in flight, at most the connections,
// are all different while there are more pages than connections.
func wrkScript(t *target, pages, threads int) string {
	if pages <= 1 {
		return wrkDone
	}
	var b strings.Builder
	b.WriteString("local paths = {\n")
	for i := 0; i < pages; i++ {
		fmt.Fprintf(&b, "  %q,\n", t.path(i))
	}
	fmt.Fprintf(&b, `}
local threads = %d
local started = 0
function setup(thread)
  thread:set("first", started)
  started = started + 1
end
function init(args)
  n = first
end
function request()
  local p = paths[(n %% #paths) + 1]
  n = n + threads
  return wrk.format(nil, p)
end
`, threads)
	b.WriteString(wrkDone)
	return b.String()
}

// wrkResult is one run of wrk, with the CPU every process of the setup
// used meanwhile.
type wrkResult struct {
	Requests   int64   `json:"requests"`
	DurationUS float64 `json:"duration_us"`
	Bytes      int64   `json:"bytes"`
	Connect    int64   `json:"connect"`
	Read       int64   `json:"read"`
	Write      int64   `json:"write"`
	Status     int64   `json:"status"` // answers other than 2xx and 3xx
	Timeout    int64   `json:"timeout"`
	P50US      float64 `json:"p50_us"`
	P90US      float64 `json:"p90_us"`
	P99US      float64 `json:"p99_us"`
	MaxUS      float64 `json:"max_us"`

	// CPU used during the run, in cores (1.0 = one core busy throughout)
	cpuTarget, cpuSim, cpuWrk float64
	// what the rest of the machine used: other processes, the kernel's
	// own threads; a busy neighbour shows here and lowers every figure
	cpuOther float64
	// the simulator's requests for the budget app during the run
	upstream int64
}

func (r wrkResult) rps() float64 { return float64(r.Requests) / (r.DurationUS / 1e6) }

// callsPerAnswer is how many requests the simulator served for one answer
// of the target: 1 for a plain proxy, less where identical reads share one
// upstream call or a cache answers.
func (r wrkResult) callsPerAnswer() float64 {
	if r.Requests == 0 {
		return 0
	}
	return float64(r.upstream) / float64(r.Requests)
}

func (r wrkResult) errors() int64 { return r.Connect + r.Read + r.Write + r.Status + r.Timeout }

// load is how wrk drives every target.
type load struct {
	wrk, dir       string
	pages          int
	sim            string // the simulator's URL, for its counters
	threads, conns int
}

// run drives the target with wrk for d and measures the CPU of the target and the
// simulator over the same time.
func (l load) run(t *target, sim *proc, d time.Duration) (wrkResult, error) {
	script, err := writeFile(l.dir, t.name+".lua", wrkScript(t, l.pages, l.threads))
	if err != nil {
		return wrkResult{}, err
	}
	args := []string{l.wrk, "-t" + strconv.Itoa(l.threads), "-c" + strconv.Itoa(l.conns),
		"-d" + strconv.Itoa(int(d.Round(time.Second)/time.Second)) + "s", "--timeout", "10s", "-s", script}
	for k, v := range t.header {
		args = append(args, "-H", k+": "+v)
	}
	first := -1
	if l.pages > 1 {
		first = 0
	}
	args = append(args, t.site+t.path(first))
	callsBefore, err := budgetCalls(l.sim)
	if err != nil {
		return wrkResult{}, err
	}
	targetBefore, simBefore, busyBefore := cpuTicks(t.proc.pid()), cpuTicks(sim.pid()), machineBusy()
	began := time.Now()
	p, err := start(l.dir, "wrk", nil, args...)
	if err != nil {
		return wrkResult{}, err
	}
	<-p.done
	wall := time.Since(began).Seconds()
	var res wrkResult
	res.cpuTarget = float64(cpuTicks(t.proc.pid())-targetBefore) / clockTick / wall
	res.cpuSim = float64(cpuTicks(sim.pid())-simBefore) / clockTick / wall
	busy := float64(machineBusy()-busyBefore) / clockTick / wall
	if st := p.cmd.ProcessState; st != nil {
		res.cpuWrk = (st.UserTime() + st.SystemTime()).Seconds() / wall
		res.cpuOther = max(0, busy-res.cpuTarget-res.cpuSim-res.cpuWrk)
		if !st.Success() {
			return res, fmt.Errorf("wrk failed (%v):\n%s", st, indent(p.tail()))
		}
	}
	if t.proc.exited() {
		return res, fmt.Errorf("%s exited during the run:\n%s", t.name, indent(t.proc.tail()))
	}
	calls, err := budgetCalls(l.sim)
	if err != nil {
		return res, err
	}
	res.upstream = calls - callsBefore
	f, err := os.Open(p.log)
	if err != nil {
		return res, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "WRK_RESULT "); ok {
			if err := json.Unmarshal([]byte(rest), &res); err != nil {
				return res, fmt.Errorf("wrk's summary %q: %w", rest, err)
			}
			if res.DurationUS <= 0 {
				return res, fmt.Errorf("wrk ran for no time: %s", rest)
			}
			return res, nil
		}
	}
	return res, fmt.Errorf("wrk printed no summary:\n%s", indent(p.tail()))
}

// machineBusy is the CPU time all cores have spent on anything but idling
// and waiting for I/O since boot, in clock ticks (/proc/stat).
func machineBusy() int64 {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0
	}
	line, _, _ := strings.Cut(string(b), "\n")
	f := strings.Fields(line) // cpu user nice system idle iowait irq softirq steal …
	if len(f) < 9 || f[0] != "cpu" {
		return 0
	}
	var busy int64
	for i, v := range f[1:9] {
		n, _ := strconv.ParseInt(v, 10, 64)
		if i != 3 && i != 4 { // idle, iowait
			busy += n
		}
	}
	return busy
}

// budgetCalls is how many requests the simulator has served for the budget
// app today (its /_sim/counters, on with --control).
func budgetCalls(sim string) (int64, error) {
	resp, err := http.Get(sim + "/_sim/counters")
	if err != nil {
		return 0, fmt.Errorf("the simulator's counters: %w", err)
	}
	defer resp.Body.Close()
	var c struct {
		Apps map[string]int64 `json:"apps"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&c); err != nil || resp.StatusCode != 200 {
		return 0, fmt.Errorf("the simulator's counters: status %d, %v", resp.StatusCode, err)
	}
	return c.Apps[budgetApp], nil
}
