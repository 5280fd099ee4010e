package portal

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"time"

	"go.uber.org/zap"
)

// VisitStore is the part of the session store (auth.SessionStore) that
// keeps members' visits: one small value per member, so that every
// instance sharing the sessions shows a member the same "new".
type VisitStore interface {
	Create(ctx context.Context, key string, value []byte, expires time.Time) error
	Get(ctx context.Context, key string) ([]byte, error)
	Delete(ctx context.Context, key string) error
}

// A visit is a run of home page views less than visitGap apart. What is
// new counts from the last view of the visit before this one, so that
// coming back to the home page within a visit does not clear it.
const (
	visitGap  = 30 * time.Minute
	visitKeep = 400 * 24 * time.Hour // a member away longer starts afresh
)

// visits is a member's stored visit times.
type visits struct {
	Prev time.Time `json:"prev"` // the last view of the previous visit
	Last time.Time `json:"last"` // the latest view
}

// seen reads the member's visits and records this view at now, unless
// staff are viewing as the member (their views are not the member's). It
// returns the moment what is new counts from: zero on a first visit.
func (c *call) seen(now time.Time) time.Time {
	key := visitKey(c.id.Issuer, c.id.Subject)
	var v visits
	if raw, err := c.h.visits.Get(c.ctx, key); err == nil {
		_ = json.Unmarshal(raw, &v)
	}
	if now.Sub(v.Last) >= visitGap {
		v.Prev = v.Last
	}
	v.Last = now
	if c.viewer == nil {
		c.h.saveVisits(c.ctx, key, v, now)
	}
	return v.Prev
}

func (h *Handler) saveVisits(ctx context.Context, key string, v visits, now time.Time) {
	raw, _ := json.Marshal(v)
	// Delete then create: the store updates values only under their first
	// expiry, and a member's visits should last visitKeep from the latest.
	err := h.visits.Delete(ctx, key)
	if err == nil {
		err = h.visits.Create(ctx, key, raw, now.Add(visitKeep))
	}
	if err != nil {
		h.log.Warn("the member's visit could not be kept", zap.Error(err))
	}
}

// visitKey names a member's visits in the session store, apart from its
// sessions; the hash keeps subjects of any form to one key shape.
func visitKey(issuer, subject string) string {
	sum := sha256.Sum256([]byte(issuer + "\x00" + subject))
	return "visit:" + hex.EncodeToString(sum[:16])
}
