package gateway

import (
	"context"
	"errors"

	"github.com/kgate/kgate/identity"
	"github.com/kgate/kgate/internal/audit"
	"github.com/kgate/kgate/internal/kintone"
)

// CompiledQuery is what decides which records a read of ref with query
// returns for the member: the policy version (pinned to ctx, or serving
// now), the app, and the member's conditions joined with the row rules,
// as kgate sends them to kintone. Two reads with the same compiled query
// see the same records, so what is computed over those records (a chart
// of fields both members may read unmasked) may be kept under it. It
// refuses as a read would, and reads nothing from kintone but the form.
func (g *Gateway) CompiledQuery(ctx context.Context, id *identity.Identity, ref AppRef, query string) (string, error) {
	a, err := g.resolve(id, ref)
	if err != nil {
		return "", err
	}
	view := g.view(ctx)
	p, err := g.planRead(ctx, view, id, a)
	if err != nil {
		return "", err
	}
	head := view.Version() + "\x00" + a.Alias + "\x00"
	if p.never {
		return head + "never", nil
	}
	q, err := g.userQuery(ctx, p, query)
	if err != nil {
		return "", err
	}
	composed, err := p.compose(q)
	if err != nil {
		return "", err
	}
	return head + "where " + composed.String(), nil
}

// LogExport audits an export the portal made of ref's records for the
// member: an event of kind "export" with the records it held, or the
// error that stopped or refused it. Each page the export read is audited
// as a read besides.
func (g *Gateway) LogExport(ctx context.Context, id *identity.Identity, ref AppRef, records int, err error) {
	ev := audit.Event{Kind: "export", Action: "read", App: ref.ID, Records: records, Allowed: true, Outcome: "ok"}
	if a, rerr := g.resolve(id, ref); rerr == nil {
		ev.App = a.Alias
	}
	ev.PolicyVersion = g.view(ctx).Version()
	if err != nil {
		ev.Outcome, ev.Error = "error", err.Error()
		var ke *kintone.Error
		if errors.As(err, &ke) && ke.Code == "CB_NO02" {
			ev.Allowed, ev.Outcome = false, "denied"
		}
	}
	g.logEvent(audit.RequestFrom(ctx), id, ev)
}
