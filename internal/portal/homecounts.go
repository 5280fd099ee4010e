package portal

import (
	"strings"
	"time"

	"github.com/kgate/kgate/internal/gateway"
	"github.com/kgate/kgate/internal/kintone"
	"github.com/kgate/kgate/internal/kql"
)

// The home page's numbers. Each is the totalCount of a read of one record
// through the gateway, so the policy's row rule is in every one of them
// exactly as in the member's lists; each read costs one kintone call and
// one record of the member's read rate, and its answer is kept for
// countTTL per member, policy version and query.

// countTTL is how long a count is reused; countMax bounds how many are
// kept (the cache starts afresh when full).
const (
	countTTL = time.Minute
	countMax = 10_000
)

// appCounts are the numbers of one app card; a nil field was not counted
// (the app has no such field for the member, or the read failed).
type appCounts struct {
	Total    *int64 // records the member may see
	New      *int64 // of those, added or changed since the last visit
	Awaiting *int64 // of those, in a state the member may act from
}

// countsFor counts app alias for the member. since is the last visit
// (zero on the first: nothing is new). A failed count is left out rather
// than failing the home page.
func (c *call) countsFor(alias string, ref gateway.AppRef, since time.Time) appCounts {
	var out appCounts
	if out.Total = c.count(alias, ref, nil); out.Total == nil || *out.Total == 0 {
		return out
	}
	form, err := c.h.gw.FormFields(c.ctx, c.id, ref, c.loc.Lang)
	if err != nil {
		return out
	}
	updated, status := fieldOfType(form.Properties, "UPDATED_TIME"), fieldOfType(form.Properties, "STATUS")
	if updated != "" && !since.IsZero() {
		out.New = c.count(alias, ref, &kql.Cond{Field: updated, Op: kql.Gt, Values: []kql.Value{instant(since)}})
	}
	if status != "" {
		if states, err := c.h.gw.ActionStates(c.ctx, c.id, ref); err == nil {
			if len(states) == 0 {
				var zero int64
				out.Awaiting = &zero
			} else {
				vals := make([]kql.Value, len(states))
				for i, st := range states {
					vals[i] = str(st)
				}
				out.Awaiting = c.count(alias, ref, &kql.Cond{Field: status, Op: kql.In, Values: vals})
			}
		}
	}
	return out
}

// count is the number of records matching cond (nil: all) that the
// member may see, from the cache when fresh.
func (c *call) count(alias string, ref gateway.AppRef, cond kql.Expr) *int64 {
	one := 1
	q := (&kql.Query{Where: cond, Limit: &one}).String()
	key := strings.Join([]string{"count", c.id.Issuer, c.id.Subject, c.id.Level, c.id.Org,
		c.h.gw.PolicyVersion(c.ctx), alias, q}, "\x00")
	v, err := c.h.counts.get(key, func() (any, error) {
		page, err := c.h.gw.ListRecords(c.ctx, c.id, gateway.ListRequest{App: ref, Fields: []string{"$id"},
			Query: q, TotalCount: true})
		if err != nil {
			return nil, err
		}
		if page.TotalCount == nil {
			return int64(len(page.Records)), nil
		}
		return *page.TotalCount, nil
	})
	if err != nil {
		return nil
	}
	n := v.(int64)
	return &n
}

// fieldOfType is the code of the member's readable field of type typ, ""
// when there is none.
func fieldOfType(props map[string]kintone.FieldProperty, typ string) string {
	for code, p := range props {
		if p.Type == typ && (p.Enabled == nil || *p.Enabled) {
			return code
		}
	}
	return ""
}

// someVisible reports whether the member may see some record whose field
// code holds value: the organization filter offers only those. A count
// that fails keeps the option.
func (c *call) someVisible(av *appView, code, value string) bool {
	n := c.count(av.alias, av.ref, &kql.Cond{Field: code, Op: kql.In, Values: []kql.Value{str(value)}})
	return n == nil || *n > 0
}
