package policy

import (
	"crypto/sha256"
	"encoding/json"

	"github.com/open-policy-agent/opa/v1/ast"
)

// User is input.user: who is asking, as auth established it.
type User struct {
	Sub    string         `json:"sub"`
	Email  string         `json:"email"`
	Name   string         `json:"name"`
	Level  string         `json:"level"`
	Org    string         `json:"org"`
	Groups []string       `json:"groups"`
	Attrs  map[string]any `json:"attrs"`
}

// App is input.app: the kintone app asked for.
type App struct {
	ID    string `json:"id"`
	Alias string `json:"alias"`
}

// Input is what a policy is evaluated with. Record is input.record as
// Flatten builds it; it is left out when nil (and always for RowRule, which
// compiles the rule with input.record unknown).
type Input struct {
	User         User
	App          App
	Action       string // read, create, update, delete, comment.read, comment.write, file.read, file.write, status
	StatusAction string // the process-management action name when Action is "status"
	// Assignee is the next assignee a status action names (a kintone login
	// name), "" when it names none: which assignee a member may choose is
	// the policy's to say.
	Assignee string
	Record   map[string]any
}

// The actions a policy is asked about, for probes and documentation.
var actions = []string{
	"read", "create", "update", "delete",
	"comment.read", "comment.write", "file.read", "file.write", "status",
}

// value builds input for an evaluation. It is a lazy object over plain Go
// values: OPA converts a part into its AST only when the policy reads it,
// so a row rule that reads two fields of a record of dozens converts two.
//
// Empty strings are left out, so that a missing attribute is undefined in
// Rego: every expression that reads it fails instead of comparing with "".
// (input.user.org == "" would otherwise match every record whose org is
// unset.)
func (in *Input) value(withRecord bool) ast.Value {
	top := make(map[string]any, 6)
	top["user"] = in.User.object()
	app := make(map[string]any, 2)
	putString(app, "id", in.App.ID)
	putString(app, "alias", in.App.Alias)
	top["app"] = app
	putString(top, "action", in.Action)
	putString(top, "status_action", in.StatusAction)
	putString(top, "assignee", in.Assignee)
	if withRecord && in.Record != nil {
		top["record"] = in.Record
	}
	return ast.LazyObject(top)
}

func (u *User) object() map[string]any {
	obj := make(map[string]any, 7)
	putString(obj, "sub", u.Sub)
	putString(obj, "email", u.Email)
	putString(obj, "name", u.Name)
	putString(obj, "level", u.Level)
	putString(obj, "org", u.Org)
	groups := make([]string, 0, len(u.Groups))
	for _, g := range u.Groups {
		if g != "" {
			groups = append(groups, g)
		}
	}
	obj["groups"] = groups
	if u.Attrs != nil {
		obj["attrs"] = u.Attrs
	} else {
		obj["attrs"] = map[string]any{}
	}
	return obj
}

func putString(obj map[string]any, key, v string) {
	if v != "" {
		obj[key] = v
	}
}

// hash identifies the user's attributes for the row-rule cache. JSON with
// sorted map keys is canonical enough: equal users hash equally, and a
// change to any attribute changes the hash.
func (u *User) hash() ([32]byte, error) {
	b, err := json.Marshal(u)
	if err != nil {
		return [32]byte{}, err
	}
	return sha256.Sum256(b), nil
}
