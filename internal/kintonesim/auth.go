package kintonesim

import (
	"encoding/base64"
	"net/http"
	"strings"
	"time"

	"github.com/kgate/kgate/internal/kintone"
)

// caller is who a request acts as: a user (password authentication) or the
// holder of one or more API tokens, who acts as "Administrator".
type caller struct {
	user   *SeedUser
	tokens map[int64]*SeedToken // app id → that app's token in the request
	root   bool                 // the simulator itself (seed loading, direct edits): every right
}

type tokenRef struct {
	app *app
	tok *SeedToken
}

// maxTokens is how many API tokens one request may carry.
const maxTokens = 9

// authenticate reads X-Cybozu-Authorization, else X-Cybozu-API-Token.
// When both are sent the password wins: the reference leaves the server's
// rule unverified, and this is the order kintone's docs list them in.
func (st *state) authenticate(r *http.Request, lang string) (*caller, *kintone.Error) {
	if v := r.Header.Get("X-Cybozu-Authorization"); v != "" {
		raw, err := base64.StdEncoding.DecodeString(strings.TrimSpace(v))
		login, pass, ok := strings.Cut(string(raw), ":")
		u := st.users[login]
		if err != nil || !ok || u == nil || u.Password != pass {
			return nil, kintone.NewError("CB_WA01", lang)
		}
		return &caller{user: u}, nil
	}
	var list []string
	for _, h := range r.Header.Values("X-Cybozu-API-Token") {
		for _, t := range strings.Split(h, ",") {
			if t = strings.TrimSpace(t); t != "" {
				list = append(list, t)
			}
		}
	}
	if len(list) == 0 {
		return nil, kintone.NewError("CB_AU01", lang)
	}
	if len(list) > maxTokens {
		// kintone refuses 10 or more tokens; the code it answers with is
		// not documented (unverified): a CB_VA01 naming the header.
		return nil, kintone.Invalid(lang).With("X-Cybozu-API-Token", kintone.Message(kintone.MsgMaxItems, lang, maxTokens))
	}
	c := &caller{tokens: map[int64]*SeedToken{}}
	for _, t := range list {
		ref, ok := st.tokens[t]
		if !ok || ref.tok.Undeployed {
			return nil, kintone.NewError("GAIA_IA02", lang)
		}
		if _, dup := c.tokens[ref.app.id]; dup {
			return nil, kintone.NewError("GAIA_DA03", lang)
		}
		c.tokens[ref.app.id] = ref.tok
	}
	return c, nil
}

// requestLang is the language of messages: the user's own setting when it
// has one, else Accept-Language (ja or en), else the seed's language (ja
// unless set). The reference recommends sending Accept-Language; kintone's
// answer without it is observed both ways.
func (st *state) requestLang(r *http.Request, who *caller) string {
	if who != nil && who.user != nil && (who.user.Language == "ja" || who.user.Language == "en") {
		return who.user.Language
	}
	if al := r.Header.Get("Accept-Language"); al != "" {
		tag := strings.ToLower(strings.TrimSpace(strings.Split(strings.Split(al, ",")[0], ";")[0]))
		if tag == "ja" || strings.HasPrefix(tag, "ja-") {
			return "ja"
		}
		return "en"
	}
	return st.lang
}

// right is one permission on an app.
type right int

const (
	rView right = iota
	rAdd
	rEdit
	rDelete
	rManage
)

func (r rightSet) has(x right) bool {
	switch x {
	case rView:
		return r.view
	case rAdd:
		return r.add
	case rEdit:
		return r.edit
	case rDelete:
		return r.delete
	}
	return r.manage
}

func tokenRights(t *SeedToken) rightSet {
	return rightSet{view: t.View, add: t.Add, edit: t.Edit, delete: t.Delete, manage: t.Manage}
}

// may reports whether the caller holds right x on a, and the error kintone
// gives when not: GAIA_NO01 for tokens, CB_NO02 for users.
func (c *call) may(a *app, x right) *kintone.Error {
	if c.who.root {
		return nil
	}
	if c.who.user == nil {
		t := c.who.tokens[a.id]
		if t == nil || !tokenRights(t).has(x) {
			return kintone.NewError("GAIA_NO01", c.lang)
		}
		return nil
	}
	if a.rights == nil {
		return nil
	}
	if r, ok := a.rights[c.who.user.Code]; ok && r.has(x) {
		return nil
	}
	return kintone.NewError("CB_NO02", c.lang)
}

// entity is who the caller is in records and comments.
func (c *call) entity() entity {
	if c.who.user == nil {
		return administrator
	}
	return entity{code: c.who.user.Code, name: c.who.user.Name}
}

// tz is the caller's time zone: the user's, else the seed's default.
func (c *call) tz() *time.Location {
	if c.who.user != nil && c.who.user.TimeZone != "" {
		if loc, err := time.LoadLocation(c.who.user.TimeZone); err == nil {
			return loc
		}
	}
	return c.st.tz
}
