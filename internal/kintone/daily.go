package kintone

import (
	"context"
	"errors"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
	"go.uber.org/zap"
)

// Budget counts requests sent to kintone per app and day. kintone counts
// about 10,000 requests per app per day on the standard course and resets
// at 09:00 JST, which is midnight UTC, so the day here is the UTC date.
// kintone keeps answering past the limit and mails the administrator;
// kgate warns before (a WARN line once per threshold and day, and the
// metrics), and past LowPriorityCutoff refuses the reads marked Low.
//
// With a shared Redis the count is every instance's: each adds what it
// sent every 200 ms (INCRBY of a key that expires after the day) and learns
// the total back. While Redis does not answer, an instance goes on from
// the total it last learnt plus its own requests, and adds those once
// Redis is back.
type Budget struct {
	limit  int64
	warn   []int // percent of limit, ascending
	lowCut int   // percent of limit
	shared *sharedRedis
	log    *zap.Logger
	now    func() time.Time

	mu      sync.Mutex
	day     string
	counts  map[string]int64 // today's per app: the shared total as last learnt plus this instance's since
	pending map[dayApp]int64 // this instance's, not yet added to the shared total
	crossed map[string]int   // per app, how many of warn today's count has passed
}

type dayApp struct{ day, app string }

// budgetConfig sets the daily limit and what kgate does as it nears.
type budgetConfig struct {
	limit  int64
	warn   []int
	lowCut int
}

func newBudget(cfg budgetConfig, shared *sharedRedis, log *zap.Logger) *Budget {
	warn := slices.Clone(cfg.warn)
	slices.Sort(warn)
	return &Budget{limit: cfg.limit, warn: warn, lowCut: cfg.lowCut, shared: shared, log: log, now: time.Now,
		counts: map[string]int64{}, pending: map[dayApp]int64{}, crossed: map[string]int{}}
}

func (b *Budget) count(app string) {
	b.mu.Lock()
	b.roll()
	b.counts[app]++
	if b.shared != nil {
		b.pending[dayApp{b.day, app}]++
	}
	crossed := b.crossLocked(app)
	day, n := b.day, b.counts[app]
	b.mu.Unlock()
	switch {
	case len(crossed) == 0:
	case b.shared != nil:
		go b.warnCrossed(day, app, n, crossed) // it asks Redis: not on the request's time
	default:
		b.warnCrossed(day, app, n, crossed)
	}
}

func (b *Budget) roll() {
	if d := b.now().UTC().Format(time.DateOnly); d != b.day {
		b.day, b.counts, b.crossed = d, map[string]int64{}, map[string]int{}
	}
}

// crossLocked returns the thresholds app's count passed since it was last
// asked.
func (b *Budget) crossLocked(app string) []int {
	if app == "" || b.limit <= 0 {
		return nil
	}
	var out []int
	for i := b.crossed[app]; i < len(b.warn) && b.counts[app]*100 >= int64(b.warn[i])*b.limit; i++ {
		out = append(out, b.warn[i])
		b.crossed[app] = i + 1
	}
	return out
}

// warnCrossed logs each threshold crossed, once a day for all instances
// when Redis is shared (the first to claim it logs) and once a day for
// this one otherwise.
func (b *Budget) warnCrossed(day, app string, n int64, crossed []int) {
	for _, pct := range crossed {
		if b.shared != nil && !b.shared.isDown() {
			ctx, cancel := b.shared.ctx()
			first, err := b.shared.rdb.SetNX(ctx, b.shared.prefix+"warned:"+day+":"+app+":"+strconv.Itoa(pct), 1, b.keepFor(day)).Result()
			cancel()
			if err == nil && !first {
				continue
			}
		}
		b.log.Warn("kintone daily request budget: an app passed a warning threshold",
			zap.String("app", app), zap.Int("threshold_percent", pct), zap.Int64("requests_today", n),
			zap.Int64("daily_limit", b.limit))
	}
}

// short reports whether app's budget is past the low-priority cutoff.
func (b *Budget) short(app string) bool {
	if app == "" || b.limit <= 0 || b.lowCut <= 0 {
		return false
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	b.roll()
	return b.counts[app]*100 >= int64(b.lowCut)*b.limit
}

// Today returns today's count per app id ("" for calls tied to no app):
// every instance's when Redis is shared.
func (b *Budget) Today() map[string]int64 {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.roll()
	out := make(map[string]int64, len(b.counts))
	for k, v := range b.counts {
		out[k] = v
	}
	return out
}

// Limit returns the daily limit per app the budget warns against.
func (b *Budget) Limit() int64 { return b.limit }

// Thresholds returns the warning thresholds in percent, ascending.
func (b *Budget) Thresholds() []int { return slices.Clone(b.warn) }

// Crossed returns, per app, how many of Thresholds today's count has
// passed.
func (b *Budget) Crossed() map[string]int {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.roll()
	out := make(map[string]int, len(b.crossed))
	for k, v := range b.crossed {
		out[k] = v
	}
	return out
}

// flush adds this instance's requests to the shared totals and learns the
// totals of the apps it knows.
func (b *Budget) flush() error {
	if b.shared.isDown() {
		return nil
	}
	b.mu.Lock()
	b.roll()
	day, batch := b.day, b.pending
	b.pending = map[dayApp]int64{}
	apps := make([]string, 0, len(b.counts))
	for app := range b.counts {
		apps = append(apps, app)
	}
	b.mu.Unlock()

	ctx, cancel := b.shared.ctx()
	defer cancel()
	pipe := b.shared.rdb.Pipeline()
	added := map[dayApp]*redis.IntCmd{}
	for k, n := range batch {
		key := b.key(k)
		added[k] = pipe.IncrBy(ctx, key, n)
		pipe.Expire(ctx, key, b.keepFor(k.day))
	}
	learnt := map[string]*redis.StringCmd{}
	for _, app := range apps {
		if _, ok := batch[dayApp{day, app}]; !ok {
			learnt[app] = pipe.Get(ctx, b.key(dayApp{day, app}))
		}
	}
	if len(added)+len(learnt) == 0 {
		return nil
	}
	if _, err := pipe.Exec(ctx); err != nil && !errors.Is(err, redis.Nil) {
		b.mu.Lock()
		for k, n := range batch {
			b.pending[k] += n
		}
		b.mu.Unlock()
		return err
	}
	type crossing struct {
		app     string
		n       int64
		crossed []int
	}
	var crossings []crossing
	b.mu.Lock()
	if b.day == day {
		set := func(app string, total int64) {
			b.counts[app] = total + b.pending[dayApp{day, app}]
			if c := b.crossLocked(app); len(c) > 0 {
				crossings = append(crossings, crossing{app, b.counts[app], c})
			}
		}
		for k, cmd := range added {
			if k.day == day {
				set(k.app, cmd.Val())
			}
		}
		for app, cmd := range learnt {
			if total, err := cmd.Int64(); err == nil {
				set(app, total)
			}
		}
	}
	b.mu.Unlock()
	for _, c := range crossings {
		b.warnCrossed(day, c.app, c.n, c.crossed)
	}
	return nil
}

func (b *Budget) key(k dayApp) string { return b.shared.prefix + "day:" + k.day + ":" + k.app }

// dayEnd is when kintone's day day (a UTC date) ends.
func dayEnd(day string) time.Time {
	t, _ := time.Parse(time.DateOnly, day)
	return t.Add(24 * time.Hour)
}

// keepFor is how long a key about day lives: until an hour after it.
func (b *Budget) keepFor(day string) time.Duration {
	return max(time.Minute, dayEnd(day).Add(time.Hour).Sub(b.now()))
}

// flushLoop runs flush every 200 ms until ctx ends, and once more then.
func (b *Budget) flushLoop(ctx context.Context) {
	t := time.NewTicker(200 * time.Millisecond)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			b.flush()
			return
		case <-t.C:
			if err := b.flush(); err != nil {
				b.shared.failed(err)
			}
		}
	}
}
