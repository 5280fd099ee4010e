package caddymodule

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"

	"github.com/kgate/kgate/identity"
	"github.com/kgate/kgate/internal/audit"
	"github.com/kgate/kgate/internal/auth"
	"github.com/kgate/kgate/internal/gateway"
	"github.com/kgate/kgate/internal/policy"
	"github.com/kgate/kgate/internal/portal"
	"github.com/kgate/kgate/internal/seal"
)

// viewAs gives the portal what staff viewing it as a member need: kgate's
// sessions bind the choice, the members app names the member, the policy
// says who may (view_as on the members app) and explains refusals.
type viewAs struct {
	*seal.Keys
	auth    *auth.Auth
	gw      *gateway.Gateway
	members string // the members app's alias
	audit   *audit.Logger
}

// enableViewAs turns view-as on where it can work: a portal, kgate's own
// sessions and a members app.
func (h *Handler) enableViewAs(gw *gateway.Gateway) error {
	if h.portal == nil || h.auth == nil || h.Members == nil {
		return nil
	}
	keys, err := h.auth.SessionKeys("view-as cookie")
	if err != nil {
		return err
	}
	h.portal.EnableViewAs(&viewAs{Keys: keys, auth: h.auth, gw: gw, members: h.Members.App, audit: audit.New(h.logger.Named("audit"))})
	return nil
}

func (v *viewAs) Session(r *http.Request) string { return v.auth.SessionID(r) }

func (v *viewAs) May(ctx context.Context, staff *identity.Identity) (bool, error) {
	ref, ok := v.gw.Ref(v.members)
	if !ok {
		return false, nil
	}
	return v.gw.Allows(ctx, staff, ref, "view_as")
}

func (v *viewAs) Member(ctx context.Context, email string) (*identity.Identity, error) {
	id, err := v.auth.MemberByEmail(ctx, email)
	var fe *auth.ForbiddenError
	if errors.As(err, &fe) {
		return nil, fmt.Errorf("%w: %s", portal.ErrNoSuchMember, fe.Reason)
	}
	return id, err
}

func (v *viewAs) Explain(ctx context.Context, member *identity.Identity, alias, action, record string) (string, error) {
	ref, ok := v.gw.Ref(alias)
	if !ok {
		return "", fmt.Errorf("no app %q", alias)
	}
	rep, err := v.gw.Explain(ctx, member, ref, action, record)
	if err != nil {
		return "", err
	}
	rep.Member = &policy.MemberState{App: v.members, State: auth.MemberActive, Found: true}
	var b bytes.Buffer
	rep.WriteText(&b, false)
	return b.String(), nil
}

func (v *viewAs) Log(ctx context.Context, e audit.Event) { v.audit.LogContext(ctx, e) }

var _ portal.ViewAs = (*viewAs)(nil)
