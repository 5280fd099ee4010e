package portal

import (
	"context"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/kgate/kgate/internal/testenv"
)

// twoInstances are the submission ledgers of two kgate instances sharing
// one Redis.
func twoInstances(t *testing.T) (a, b *submissions) {
	t.Helper()
	rs := testenv.StartRedis(t)
	client := redis.NewClient(&redis.Options{Addr: rs.Addr})
	t.Cleanup(func() { client.Close() })
	ledger := NewRedisLedger(client, "kgate:form:")
	a, b = newSubmissions(time.Now, ledger), newSubmissions(time.Now, ledger)
	a.poll, b.poll = time.Millisecond, time.Millisecond
	return a, b
}

// A form sent twice is written once whichever instances the two reach:
// the repeat waits for the first and goes where it went, or is told that
// kintone did not confirm it; a first that changed nothing lets the repeat
// be sent.
func TestARepeatOnAnotherInstanceFollowsTheFirstSubmission(t *testing.T) {
	tests := []struct {
		name      string
		end       func(s *submissions, sub *submission)
		wantFirst bool
		wantTo    string
		unknown   bool
	}{
		{"the first succeeded", func(s *submissions, sub *submission) { s.succeed(sub, "/apps/budget/records/7") }, false, "/apps/budget/records/7", false},
		{"kintone did not confirm the first", func(s *submissions, sub *submission) { s.unconfirmed(sub) }, false, "", true},
		{"the first changed nothing", func(s *submissions, sub *submission) { s.fail(sub.key, sub) }, true, "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, b := twoInstances(t)
			ctx := context.Background()
			first, isFirst, err := a.begin(ctx, "alice\x00/apps/budget/new\x00k1")
			if err != nil || !isFirst {
				t.Fatalf("first submission: first=%v, %v", isFirst, err)
			}
			repeat := make(chan *submission)
			go func() {
				sub, isFirst, err := b.begin(ctx, "alice\x00/apps/budget/new\x00k1")
				if err != nil {
					t.Error(err)
				}
				if isFirst != tt.wantFirst {
					t.Errorf("the repeat on the other instance: first=%v, want %v", isFirst, tt.wantFirst)
				}
				repeat <- sub
			}()
			tt.end(a, first)
			got := <-repeat
			if !tt.wantFirst && (got.location != tt.wantTo || got.unknown != tt.unknown) {
				t.Errorf("the repeat went to %q (unknown %v), want %q (unknown %v)", got.location, got.unknown, tt.wantTo, tt.unknown)
			}
		})
	}
}

func TestAnotherFormOnAnotherInstanceIsItsOwnFirstSubmission(t *testing.T) {
	a, b := twoInstances(t)
	ctx := context.Background()
	if _, first, err := a.begin(ctx, "alice\x00/apps/budget/new\x00k1"); err != nil || !first {
		t.Fatalf("first form: %v, %v", first, err)
	}
	if _, first, err := b.begin(ctx, "alice\x00/apps/budget/new\x00k2"); err != nil || !first {
		t.Fatalf("another form: first=%v, %v", first, err)
	}
}
