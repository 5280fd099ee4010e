package gateway_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zaptest"

	"github.com/kgate/kgate/identity"
	"github.com/kgate/kgate/internal/gateway"
	"github.com/kgate/kgate/internal/kintone"
	"github.com/kgate/kgate/internal/policy"
	"github.com/kgate/kgate/internal/readrate"
	"github.com/kgate/kgate/internal/testworld"
)

// stillClock moves only when a read sleeps or a test says so.
type stillClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *stillClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *stillClock) Sleep(_ context.Context, d time.Duration) error {
	c.advance(d)
	return nil
}

func (c *stillClock) advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

// rateEnv is a gateway over the test world whose silver rate is rate
// records per minute, on a clock that does not move by itself.
func rateEnv(t *testing.T, rate string) (*gateway.Gateway, *stillClock) {
	t.Helper()
	w := testworld.Start(t, 200)
	file := filepath.Join(w.PolicyDir, "orders.rego")
	src, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	const silver = `rate := 600000 if input.user.level == "silver"`
	if !strings.Contains(string(src), silver) {
		t.Fatalf("orders.rego has no %q", silver)
	}
	os.WriteFile(file, []byte(strings.Replace(string(src), silver, "rate := "+rate+` if input.user.level == "silver"`, 1)), 0o644)
	eng, err := policy.Open(t.Context(), policy.Options{Dir: w.PolicyDir})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { eng.Close() })
	client, err := kintone.NewClient(kintone.Config{BaseURL: w.URL})
	if err != nil {
		t.Fatal(err)
	}
	clock := &stillClock{now: time.Unix(1_800_000_000, 0)}
	gw, err := gateway.New(gateway.Config{Client: client, Policy: eng, Apps: testworld.Apps(),
		Logger: zaptest.NewLogger(t, zaptest.Level(zap.WarnLevel)), ReadRate: readrate.New(clock, 0)})
	if err != nil {
		t.Fatal(err)
	}
	return gw, clock
}

// readUntilRefused reads with read until it is refused, at most n times.
func readUntilRefused(n int, read func() error) (*kintone.Error, int) {
	for i := range n {
		err := read()
		var ke *kintone.Error
		if errors.As(err, &ke) && ke.Code == "KGATE_RT01" {
			return ke, i
		}
	}
	return nil, n
}

func TestReadsPastTheRateAreRefusedWithKGATE_RT01AndRetryAfter(t *testing.T) {
	gw, clock := rateEnv(t, "10")
	ctx := context.Background()
	ref := gateway.AppRef{ID: testworld.OrdersApp}
	bob, sam := testworld.Identities["bob"], testworld.Identities["sam"]
	list := func(who *identity.Identity) func() error {
		return func() error {
			_, err := gw.ListRecords(ctx, who, gateway.ListRequest{App: ref, Query: "limit 10"})
			return err
		}
	}
	for _, tt := range []struct {
		name string
		read func() error
	}{
		{"records", list(bob)},
		{"cursor", func() error {
			key, _, err := gw.CreateCursor(ctx, bob, gateway.CursorRequest{App: ref, Size: 10})
			if err != nil {
				return err
			}
			defer gw.DeleteCursor(ctx, bob, key)
			_, err = gw.GetCursor(ctx, bob, key)
			return err
		}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			ke, reads := readUntilRefused(100, tt.read)
			if ke == nil {
				t.Fatalf("%d reads of 10 at 10 records a minute, none refused", reads)
			}
			if ke.Status != http.StatusTooManyRequests || ke.RetryAfter < 1 || !strings.Contains(ke.Message, "10 records per minute") {
				t.Fatalf("refusal %+v: want 429 with a Retry-After naming the rate", ke)
			}
			clock.advance(time.Duration(ke.RetryAfter) * time.Second)
			if err := tt.read(); err != nil {
				t.Fatalf("after Retry-After: %v", err)
			}
			clock.advance(time.Hour) // a full bucket for the next case
		})
	}
	t.Run("single records wait rather than refuse", func(t *testing.T) {
		page, err := gw.ListRecords(ctx, bob, gateway.ListRequest{App: ref, Query: "limit 1", Fields: []string{"$id"}})
		if err != nil || len(page.Records) != 1 {
			t.Fatalf("%v", err)
		}
		var rec kintone.Record
		if err := json.Unmarshal(page.Records[0], &rec); err != nil {
			t.Fatal(err)
		}
		before := clock.Now()
		for range 30 {
			if _, err := gw.GetRecord(ctx, bob, ref, testworld.ID(rec)); err != nil {
				t.Fatalf("a single record within the wait: %v", err)
			}
		}
		if !clock.Now().After(before) {
			t.Fatal("30 records at 10 a minute came without a wait")
		}
	})
	t.Run("a level without a rate is never refused", func(t *testing.T) {
		if ke, reads := readUntilRefused(100, list(sam)); ke != nil {
			t.Fatalf("staff refused after %d reads: %+v", reads, ke)
		}
	})
	t.Run("in Japanese", func(t *testing.T) {
		ja := *bob
		ja.Lang = "ja"
		ke, _ := readUntilRefused(100, list(&ja))
		if ke == nil || !strings.Contains(ke.Message, "毎分 10 件") {
			t.Fatalf("refusal %+v: want the Japanese message", ke)
		}
	})
}
