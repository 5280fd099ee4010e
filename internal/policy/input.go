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
	Record       map[string]any
}

// The actions of DESIGN §3, for probes and documentation.
var actions = []string{
	"read", "create", "update", "delete",
	"comment.read", "comment.write", "file.read", "file.write", "status",
}

// value builds input as an AST object directly, skipping the JSON round
// trip that rego.EvalInput would take for the structs.
//
// Empty strings are left out, so that a missing attribute is undefined in
// Rego: every expression that reads it fails instead of comparing with "".
// (input.user.org == "" would otherwise match every record whose org is
// unset.)
func (in *Input) value(withRecord bool) (ast.Value, error) {
	user, err := in.User.value()
	if err != nil {
		return nil, err
	}
	obj := ast.NewObject(ast.Item(ast.InternedTerm("user"), ast.NewTerm(user)))
	app := ast.NewObject()
	putString(app, "id", in.App.ID)
	putString(app, "alias", in.App.Alias)
	obj.Insert(ast.InternedTerm("app"), ast.NewTerm(app))
	putString(obj, "action", in.Action)
	putString(obj, "status_action", in.StatusAction)
	if withRecord && in.Record != nil {
		rec, err := ast.InterfaceToValue(in.Record)
		if err != nil {
			return nil, err
		}
		obj.Insert(ast.InternedTerm("record"), ast.NewTerm(rec))
	}
	return obj, nil
}

func (u *User) value() (ast.Value, error) {
	obj := ast.NewObject()
	putString(obj, "sub", u.Sub)
	putString(obj, "email", u.Email)
	putString(obj, "name", u.Name)
	putString(obj, "level", u.Level)
	putString(obj, "org", u.Org)
	groups := make([]*ast.Term, 0, len(u.Groups))
	for _, g := range u.Groups {
		if g != "" {
			groups = append(groups, ast.StringTerm(g))
		}
	}
	obj.Insert(ast.InternedTerm("groups"), ast.ArrayTerm(groups...))
	attrs := ast.Value(ast.NewObject())
	if u.Attrs != nil {
		var err error
		if attrs, err = ast.InterfaceToValue(u.Attrs); err != nil {
			return nil, err
		}
	}
	obj.Insert(ast.InternedTerm("attrs"), ast.NewTerm(attrs))
	return obj, nil
}

func putString(obj ast.Object, key, v string) {
	if v != "" {
		obj.Insert(ast.InternedTerm(key), ast.StringTerm(v))
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
