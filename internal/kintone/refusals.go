package kintone

import (
	"context"
	"errors"
	"sync/atomic"
	"time"

	"go.uber.org/zap"
)

// Refusals for load come by the thousand in an overload, and a log line
// each would be a load of its own: they are counted per reason (the
// metrics read the totals) and logged as one line per interval.

// Refusal reasons, as the metrics and the log name them.
const (
	RefusedQueueFull   = "queue_full"   // the lane's queue was full
	RefusedQueueWait   = "queue_wait"   // no slot came free within the timeout
	RefusedLowPriority = "low_priority" // a PriorityLow read of an app past the low-priority cutoff
	RefusedKintoneBusy = "kintone_busy" // kintone still answered 429 after the retries
	RefusedMemory      = "memory"       // kgate's memory budget refused the answer
)

var refusalReasons = []string{RefusedQueueFull, RefusedQueueWait, RefusedLowPriority, RefusedKintoneBusy, RefusedMemory}

// refusalEvery is how often the refusals of the interval are logged.
const refusalEvery = 10 * time.Second

type refusals struct {
	total    [5]atomic.Int64 // since the start, by refusalReasons
	unlogged [5]atomic.Int64
	log      *zap.Logger
}

func (r *refusals) add(reason string) {
	for i, name := range refusalReasons {
		if name == reason {
			r.total[i].Add(1)
			r.unlogged[i].Add(1)
			return
		}
	}
}

// reasonOf names why err refused a request; "" when it is no refusal.
func reasonOf(err error) string {
	switch {
	case errors.Is(err, errQueueFull):
		return RefusedQueueFull
	case errors.Is(err, errWaitedLong):
		return RefusedQueueWait
	case errors.Is(err, ErrDailyBudget):
		return RefusedLowPriority
	case errors.Is(err, errKintoneBusy):
		return RefusedKintoneBusy
	case errors.Is(err, ErrBusy):
		return RefusedMemory
	}
	return ""
}

// counts returns the refusals since the start per reason.
func (r *refusals) counts() map[string]int64 {
	out := make(map[string]int64, len(refusalReasons))
	for i, name := range refusalReasons {
		out[name] = r.total[i].Load()
	}
	return out
}

// report logs the refusals since the last report, if any, as one line.
func (r *refusals) report(over time.Duration) {
	var sum int64
	fields := []zap.Field{zap.Duration("over", over)}
	for i, name := range refusalReasons {
		if n := r.unlogged[i].Swap(0); n > 0 {
			sum += n
			fields = append(fields, zap.Int64(name, n))
		}
	}
	if sum > 0 {
		r.log.Warn("kintone requests refused for load", append([]zap.Field{zap.Int64("refused", sum)}, fields...)...)
	}
}

func (r *refusals) reportLoop(ctx context.Context) {
	t := time.NewTicker(refusalEvery)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			r.report(refusalEvery)
			return
		case <-t.C:
			r.report(refusalEvery)
		}
	}
}
