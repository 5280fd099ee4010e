package gateway

import (
	"context"

	"github.com/kgate/kgate/identity"
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
