package gateway

import (
	"context"
	"strconv"

	"github.com/kgate/kgate/identity"
	"github.com/kgate/kgate/internal/policy"
)

// Allows reports whether the policy allows id action on the app, without
// a record: for actions that are not kintone calls, such as view_as on the
// members app.
func (g *Gateway) Allows(ctx context.Context, id *identity.Identity, ref AppRef, action string) (bool, error) {
	a, err := g.resolve(id, ref)
	if err != nil {
		return false, err
	}
	d, err := g.view(ctx).Decide(ctx, input(id, a, action))
	if err != nil {
		return false, policyError(id.Lang)
	}
	return d.Allow, nil
}

// Explain is `kgate policy explain` for id: the decision for action on the
// app under the serving policy version, its row rule compiled against the
// app's form and, when record is not "", the row rule's verdict on that
// record as kintone holds it (read past the row rule: the explanation is
// for staff, who are shown why the member may not see it).
func (g *Gateway) Explain(ctx context.Context, id *identity.Identity, ref AppRef, action, record string) (*policy.Report, error) {
	w := g.newWriter(ctx, id)
	wa, err := w.app(ctx, ref)
	if err != nil {
		return nil, err
	}
	in := input(id, wa.app, action)
	if _, err := strconv.ParseUint(record, 10, 63); err == nil {
		if err := w.load(ctx, wa, []string{record}, nil); err != nil {
			return nil, err
		}
		if cur := w.records[recordKey{wa.ID, record}]; cur != nil {
			in.Record = policy.Flatten(cur.rec)
		}
	}
	if in.Record == nil {
		record = ""
	}
	return policy.NewReport(ctx, w.view, in, wa.form.fields, record, false)
}
