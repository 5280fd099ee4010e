package testenv

import (
	"bufio"
	"fmt"
	"net"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// Redis is a redis-server of a test's own, on a loopback port chosen at run
// time, with its data in the test's temporary directory. Every write is
// synced to an append-only file, so a test can kill it and start it again
// and find what was stored.
type Redis struct {
	Addr string // 127.0.0.1:port
	t    testing.TB
	bin  string
	dir  string
	cmd  *exec.Cmd
}

// StartRedis starts a redis-server, or skips the test when there is none
// (fails under KGATE_REQUIRE_ALL=1). It is stopped when the test ends.
func StartRedis(t testing.TB) *Redis {
	t.Helper()
	r := &Redis{t: t, bin: LookPath(t, "redis-server"), dir: t.TempDir()}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	r.Addr = l.Addr().String()
	l.Close()
	r.Start()
	t.Cleanup(r.Kill)
	return r
}

// URL is the server as kgate's session_store names it.
func (r *Redis) URL() string { return "redis://" + r.Addr + "/0" }

// Start starts the server again after Kill, on the same port and data, and
// waits until it answers.
func (r *Redis) Start() {
	r.t.Helper()
	_, port, _ := net.SplitHostPort(r.Addr)
	r.cmd = exec.Command(r.bin, "--port", port, "--bind", "127.0.0.1", "--dir", r.dir, "--save", "",
		"--appendonly", "yes", "--appendfsync", "always")
	if err := r.cmd.Start(); err != nil {
		r.t.Fatal(err)
	}
	for deadline := time.Now().Add(10 * time.Second); !r.answers(); time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			r.t.Fatal("redis-server did not come up")
		}
	}
}

// Kill stops the server at once, as a crash would.
func (r *Redis) Kill() {
	if r.cmd == nil {
		return
	}
	r.cmd.Process.Kill()
	r.cmd.Wait()
	r.cmd = nil
}

func (r *Redis) answers() bool {
	c, err := net.DialTimeout("tcp", r.Addr, time.Second)
	if err != nil {
		return false
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(time.Second))
	if _, err := fmt.Fprint(c, "PING\r\n"); err != nil {
		return false
	}
	line, err := bufio.NewReader(c).ReadString('\n')
	return err == nil && strings.HasPrefix(line, "+PONG")
}
