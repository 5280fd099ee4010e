package notify

import (
	"strings"
	"sync"
	"time"
)

// maxRateEntries bounds the members whose hour of e-mail is counted: at
// about 100 bytes each, 65,536 take under 7 MB.
const maxRateEntries = 65536

// limiter counts each member's e-mails in fixed hours. A member past the
// rate waits for the next digest rather than losing the change.
type limiter struct {
	mu  sync.Mutex
	per int // e-mails an hour
	max int // members counted at once
	m   map[string]*window
}

type window struct {
	start time.Time
	n     int
}

func newLimiter(per, max int) *limiter {
	return &limiter{per: per, max: max, m: map[string]*window{}}
}

// allow counts one e-mail to the member at now, or says it is one too
// many. When the table is full of members inside their hour, a new member
// is refused too: the bound on memory wins, and the change waits for the
// digest.
func (l *limiter) allow(member string, now time.Time) bool {
	member = strings.ToLower(member)
	l.mu.Lock()
	defer l.mu.Unlock()
	w := l.m[member]
	if w == nil || now.Sub(w.start) >= time.Hour {
		if w == nil && len(l.m) >= l.max && !l.sweep(now) {
			return false
		}
		w = &window{start: now}
		l.m[member] = w
	}
	if w.n >= l.per {
		return false
	}
	w.n++
	return true
}

// sweep forgets the members whose hour is over and says whether that
// made room.
func (l *limiter) sweep(now time.Time) bool {
	for k, w := range l.m {
		if now.Sub(w.start) >= time.Hour {
			delete(l.m, k)
		}
	}
	return len(l.m) < l.max
}
