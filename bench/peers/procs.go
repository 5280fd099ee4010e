package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// proc is a child process: a server under test, the simulator, or wrk.
type proc struct {
	name string
	cmd  *exec.Cmd
	log  string        // its stdout and stderr
	done chan struct{} // closed when it has exited
}

// children are every process the run started; stopAll ends them.
var children struct {
	mu       sync.Mutex
	list     []*proc
	stopping bool
}

// start runs a child with its output in dir/name.log.
func start(dir, name string, env []string, args ...string) (*proc, error) {
	logPath := filepath.Join(dir, name+".log")
	f, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(args[0], args[1:]...)
	cmd.Stdout, cmd.Stderr = f, f
	cmd.Env = append(os.Environ(), env...)
	p, err := track(name, cmd, f.Close)
	if err != nil {
		f.Close()
		return nil, err
	}
	p.log = logPath
	return p, nil
}

// runStep runs a command in workdir with its output on the console (a
// build, an install) and waits for it; Ctrl-C stops it like the others.
func runStep(workdir string, args ...string) error {
	cmd := exec.Command(args[0], args[1:]...)
	cmd.Dir, cmd.Stdout, cmd.Stderr = workdir, os.Stdout, os.Stderr
	p, err := track(args[0], cmd, func() error { return nil })
	if err != nil {
		return err
	}
	<-p.done
	if !cmd.ProcessState.Success() {
		return fmt.Errorf("%s: %v", strings.Join(args, " "), cmd.ProcessState)
	}
	return nil
}

// track starts cmd in a process group of its own (so that Ctrl-C reaches
// only this program, which then stops the children in order) and keeps it
// for stopAll. The kernel kills it should this program die without
// cleaning up. closed runs once it has exited.
func track(name string, cmd *exec.Cmd, closed func() error) (*proc, error) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	p := &proc{name: name, cmd: cmd, done: make(chan struct{})}
	children.mu.Lock()
	defer children.mu.Unlock()
	if children.stopping {
		return nil, errors.New("stopping")
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("starting %s: %w", name, err)
	}
	children.list = append(children.list, p)
	go func() {
		cmd.Wait()
		closed()
		close(p.done)
	}()
	return p, nil
}

func (p *proc) pid() int { return p.cmd.Process.Pid }

func (p *proc) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// stop ends the process group: SIGTERM, then SIGKILL after 3 s.
func (p *proc) stop() {
	if p.exited() {
		return
	}
	syscall.Kill(-p.pid(), syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(3 * time.Second):
		syscall.Kill(-p.pid(), syscall.SIGKILL)
		<-p.done
	}
}

// tail is the end of the process's log, for error messages.
func (p *proc) tail() string {
	if p.log == "" {
		return ""
	}
	b, _ := os.ReadFile(p.log)
	if len(b) > 3000 {
		b = b[len(b)-3000:]
	}
	return strings.TrimSpace(string(b))
}

// stopAll ends every child, the last started first. It is safe to call
// more than once and from the signal handler.
func stopAll() {
	children.mu.Lock()
	children.stopping = true
	list := children.list
	children.list = nil
	children.mu.Unlock()
	var wg sync.WaitGroup
	for i := len(list) - 1; i >= 0; i-- {
		wg.Add(1)
		go func(p *proc) { defer wg.Done(); p.stop() }(list[i])
	}
	wg.Wait()
}

// interrupted is set once a signal arrived: the run's own errors after it
// (its processes vanishing) are the interruption's, not worth reporting.
var interrupted atomic.Bool

// onInterrupt stops every child and runs cleanup when the run is
// interrupted (Ctrl-C, SIGTERM, SIGHUP), then exits.
func onInterrupt(cleanup func()) {
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, os.Interrupt, syscall.SIGTERM, syscall.SIGHUP)
	go func() {
		s := <-sig
		interrupted.Store(true)
		fmt.Fprintf(os.Stderr, "\npeers: %v: stopping every process it started…\n", s)
		stopAll()
		cleanup()
		os.Exit(130)
	}()
}

// waitHTTP polls until ok says the answer to a GET of url is the one
// wanted, the process exits, or the timeout passes.
func waitHTTP(p *proc, url string, header http.Header, timeout time.Duration, ok func(status int, body []byte) bool) error {
	deadline := time.Now().Add(timeout)
	var last string
	for time.Now().Before(deadline) {
		if p.exited() {
			return fmt.Errorf("%s exited while starting:\n%s", p.name, indent(p.tail()))
		}
		req, _ := http.NewRequest("GET", url, nil)
		for k, v := range header {
			req.Header[k] = v
		}
		resp, err := http.DefaultClient.Do(req)
		if err == nil {
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if ok(resp.StatusCode, body) {
				return nil
			}
			last = fmt.Sprintf("status %d: %.300s", resp.StatusCode, bytes.TrimSpace(body))
		} else {
			last = err.Error()
		}
		time.Sleep(100 * time.Millisecond)
	}
	return fmt.Errorf("%s did not answer %s within %v (last: %s); its log:\n%s", p.name, url, timeout, last, indent(p.tail()))
}

func indent(s string) string {
	if s == "" {
		return "    (empty)"
	}
	return "    " + strings.ReplaceAll(s, "\n", "\n    ")
}

// freeAddr is a free loopback address. The port is free when returned; a
// process started right after takes it.
func freeAddr() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer l.Close()
	return l.Addr().String(), nil
}

// cpuTicks is the CPU time a running process has used so far, in clock
// ticks (user + system, /proc/PID/stat fields 14 and 15).
func cpuTicks(pid int) int64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	// the command name, field 2, is in parentheses and may hold spaces
	s := string(b)
	if i := strings.LastIndexByte(s, ')'); i >= 0 {
		s = s[i+1:]
	}
	f := strings.Fields(s) // f[0] is field 3
	if len(f) < 13 {
		return 0
	}
	u, _ := strconv.ParseInt(f[11], 10, 64)
	k, _ := strconv.ParseInt(f[12], 10, 64)
	return u + k
}

// clockTick is USER_HZ, which Linux fixes at 100 for /proc.
const clockTick = 100

// peakRSS is a process's peak resident memory (VmHWM), in bytes.
func peakRSS(pid int) int64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			return kb << 10
		}
	}
	return 0
}
