package gateway

import (
	"context"
	"slices"

	"github.com/kgate/kgate/identity"
)

// ActionStates are the process-management states from which the policy
// lets the member run some action of the app, in the app's order of
// actions: the states in which a record awaits the member. An app without
// process management, or whose actions the policy refuses the member, has
// none. The decisions are taken without a record, as a record page's
// offer is (pageOffer); a record in one of these states may still fail the
// action's row rule, which the write checks.
func (g *Gateway) ActionStates(ctx context.Context, id *identity.Identity, ref AppRef) ([]string, error) {
	w := g.newWriter(ctx, id)
	wa, err := w.app(ctx, ref)
	if err != nil || wa.status == "" {
		return nil, err
	}
	var states []string
	for _, a := range g.processActions(ctx, wa) {
		if slices.Contains(states, a.From) {
			continue
		}
		if d, err := w.decision(ctx, wa, "status", a.Name); err == nil && d.Allow {
			states = append(states, a.From)
		}
	}
	return states, nil
}

// PolicyVersion is the version of the policy ctx decides under (see Pin),
// so that what a caller caches from the gateway's answers can be keyed by
// it and not outlive a policy change.
func (g *Gateway) PolicyVersion(ctx context.Context) string {
	return g.view(ctx).Version()
}
