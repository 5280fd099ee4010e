package auth

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os/exec"
	"slices"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/kgate/kgate/internal/testenv"
)

// startRedis runs a private redis-server on a free loopback port for the
// test and returns a client to it.
func startRedis(t testing.TB) *redis.Client {
	t.Helper()
	bin := testenv.LookPath(t, "redis-server")
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	cmd := exec.Command(bin, "--port", fmt.Sprint(port), "--bind", "127.0.0.1", "--save", "",
		"--appendonly", "no", "--dir", t.TempDir())
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	c := redis.NewClient(&redis.Options{Addr: fmt.Sprintf("127.0.0.1:%d", port)})
	t.Cleanup(func() { c.Close() })
	deadline := time.Now().Add(10 * time.Second)
	for c.Ping(context.Background()).Err() != nil {
		if time.Now().After(deadline) {
			t.Fatal("redis-server did not come up")
		}
		time.Sleep(20 * time.Millisecond)
	}
	return c
}

func TestSessionStores(t *testing.T) {
	stores := map[string]func(t *testing.T) SessionStore{
		"memory": func(t *testing.T) SessionStore { return NewMemoryStore() },
		"redis":  func(t *testing.T) SessionStore { return NewRedisStore(startRedis(t), "kgate-test:") },
	}
	for name, mk := range stores {
		t.Run(name, func(t *testing.T) {
			s := mk(t)
			ctx := context.Background()
			exp := time.Now().Add(time.Hour)
			if _, err := s.Get(ctx, "a"); !errors.Is(err, ErrNotFound) {
				t.Fatalf("Get of a missing key: %v, want ErrNotFound", err)
			}
			if err := s.Update(ctx, "a", []byte("x")); !errors.Is(err, ErrNotFound) {
				t.Fatalf("Update of a missing key: %v, want ErrNotFound (no revival)", err)
			}
			if err := s.Create(ctx, "a", []byte("v1"), exp); err != nil {
				t.Fatal(err)
			}
			if err := s.Create(ctx, "a", []byte("v2"), exp); !errors.Is(err, ErrExists) {
				t.Fatalf("second Create: %v, want ErrExists", err)
			}
			if got, err := s.Get(ctx, "a"); err != nil || !bytes.Equal(got, []byte("v1")) {
				t.Fatalf("Get = %q, %v", got, err)
			}
			if err := s.Update(ctx, "a", []byte("v3")); err != nil {
				t.Fatal(err)
			}
			if got, _ := s.Get(ctx, "a"); !bytes.Equal(got, []byte("v3")) {
				t.Fatalf("after Update Get = %q", got)
			}
			if err := s.Delete(ctx, "a"); err != nil {
				t.Fatal(err)
			}
			if err := s.Delete(ctx, "a"); err != nil {
				t.Fatalf("deleting twice: %v", err)
			}
			if _, err := s.Get(ctx, "a"); !errors.Is(err, ErrNotFound) {
				t.Fatalf("Get after Delete: %v", err)
			}
			if err := s.Update(ctx, "a", []byte("late")); !errors.Is(err, ErrNotFound) {
				t.Fatalf("Update after Delete: %v, want ErrNotFound", err)
			}
			if err := s.Create(ctx, "short", []byte("x"), time.Now().Add(50*time.Millisecond)); err != nil {
				t.Fatal(err)
			}
			time.Sleep(120 * time.Millisecond)
			if _, err := s.Get(ctx, "short"); !errors.Is(err, ErrNotFound) {
				t.Fatalf("Get after expiry: %v", err)
			}
		})
	}
}

// Indexes are sets that live as long as their longest-lived member: an
// earlier expiry never cuts a set short, and a set whose members all
// expired is empty.
func TestSessionStoreIndexes(t *testing.T) {
	stores := map[string]func(t *testing.T) SessionStore{
		"memory": func(t *testing.T) SessionStore { return NewMemoryStore() },
		"redis":  func(t *testing.T) SessionStore { return NewRedisStore(startRedis(t), "kgate-test:") },
	}
	for name, mk := range stores {
		t.Run(name, func(t *testing.T) {
			s := mk(t)
			ctx := context.Background()
			members := func(key string) []string {
				t.Helper()
				m, err := s.IndexMembers(ctx, key)
				if err != nil {
					t.Fatal(err)
				}
				slices.Sort(m)
				return m
			}
			if got := members("sub/a"); len(got) != 0 {
				t.Fatalf("a missing index has members %v", got)
			}
			s.AddToIndex(ctx, "sub/a", "s1", time.Now().Add(time.Hour))
			s.AddToIndex(ctx, "sub/a", "s2", time.Now().Add(50*time.Millisecond))
			s.AddToIndex(ctx, "sub/b", "s3", time.Now().Add(50*time.Millisecond))
			if got := members("sub/a"); !slices.Equal(got, []string{"s1", "s2"}) {
				t.Fatalf("members %v, want s1 s2", got)
			}
			if err := s.RemoveFromIndex(ctx, "sub/a", "s2"); err != nil {
				t.Fatal(err)
			}
			if got := members("sub/a"); !slices.Equal(got, []string{"s1"}) {
				t.Fatalf("after removing s2: %v", got)
			}
			time.Sleep(120 * time.Millisecond)
			if got := members("sub/a"); !slices.Equal(got, []string{"s1"}) {
				t.Fatalf("a shorter expiry cut the index short: %v", got)
			}
			if got := members("sub/b"); len(got) != 0 {
				t.Fatalf("an expired index still has %v", got)
			}
		})
	}
}
