package enforcement

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/open-policy-agent/opa/v1/rego"

	"github.com/kgate/kgate/internal/kintone"
)

// truth is the policy as OPA alone evaluates it: kgate's engine, its
// caches, its compilation into kintone conditions and its flattening of
// records play no part.
type truth struct {
	allow, include, readable, masks rego.PreparedEvalQuery
}

func contextBackground() context.Context { return context.Background() }

func newTruth(module string) (*truth, error) {
	ctx := contextBackground()
	prep := func(query string) (rego.PreparedEvalQuery, error) {
		return rego.New(rego.Query(query), rego.Module("policy.rego", module), rego.SetRegoVersion(ast.RegoV1)).PrepareForEval(ctx)
	}
	t := &truth{}
	for _, q := range []struct {
		dst  *rego.PreparedEvalQuery
		rule string
	}{{&t.allow, "allow"}, {&t.include, "include"}, {&t.readable, "readable"}, {&t.masks, "masks"}} {
		var err error
		if *q.dst, err = prep("x := data.kgate." + q.rule); err != nil {
			return nil, fmt.Errorf("%s: %w", q.rule, err)
		}
	}
	return t, nil
}

// eval returns the rule's value, or nil when it is undefined.
func eval(q rego.PreparedEvalQuery, input map[string]any) (any, error) {
	rs, err := q.Eval(contextBackground(), rego.EvalInput(input))
	if err != nil || len(rs) == 0 {
		return nil, err
	}
	return rs[0].Bindings["x"], nil
}

// input builds input as kgate's policy contract defines it: an attribute
// the member lacks is absent, groups is always a list, attrs an object.
func input(m member, action string, rec map[string]any) map[string]any {
	user := map[string]any{"groups": []any{}, "attrs": map[string]any{}}
	for k, v := range map[string]string{"sub": m.id.Subject, "email": m.id.Email, "name": m.id.Name, "level": m.id.Level, "org": m.id.Org} {
		if v != "" {
			user[k] = v
		}
	}
	if m.id.Attrs != nil {
		user["attrs"] = m.id.Attrs
	}
	in := map[string]any{"user": user, "app": map[string]any{"id": appID, "alias": appAlias}, "action": action}
	if rec != nil {
		in["record"] = rec
	}
	return in
}

// decision is what the truth says about a member and an action.
type decision struct {
	allow    bool
	all      bool            // readable "*"
	readable map[string]bool // top-level codes, system fields included
	masks    map[string]any
}

func (t *truth) decide(m member, action string) (decision, error) {
	in := input(m, action, nil)
	d := decision{readable: map[string]bool{}}
	v, err := eval(t.allow, in)
	if err != nil {
		return d, err
	}
	d.allow = v == true
	if v, err = eval(t.readable, in); err != nil {
		return d, err
	}
	for _, c := range asList(v) {
		if c == "*" {
			d.all = true
		}
		if s, ok := c.(string); ok {
			d.readable[s] = true
		}
	}
	if v, err = eval(t.masks, in); err != nil {
		return d, err
	}
	d.masks, _ = v.(map[string]any)
	return d, nil
}

func asList(v any) []any {
	l, _ := v.([]any)
	return l
}

func (t *truth) includes(m member, action string, rec map[string]any) (bool, error) {
	v, err := eval(t.include, input(m, action, rec))
	return v == true, err
}

// canSee reports whether the decision shows the field at all: readable,
// the record's identity, or a column of a readable table.
func (d decision) canSee(code string) bool {
	f, ok := fieldByCode(code)
	switch {
	case !ok:
		return false
	case code == "$id" || code == "$revision":
		return true
	case f.table != "":
		return d.all || d.readable[f.table] || d.readable[code]
	}
	return d.all || d.readable[code]
}

// masked reports whether a visible field shows only its mask, itself or
// through its table.
func (d decision) masked(code string) bool {
	if _, ok := d.masks[code]; ok {
		return true
	}
	f, _ := fieldByCode(code)
	_, tableMasked := d.masks[f.table]
	return f.table != "" && tableMasked
}

// maskOut is the value kgate shows for a masked field: the policy's mask
// written as kintone writes values of the type.
func maskOut(code string, mask any) any {
	f, _ := fieldByCode(code)
	switch f.typ {
	case "NUMBER":
		if n, ok := mask.(json.Number); ok {
			return canonicalNumber(string(n))
		}
		if s, ok := mask.(string); ok && s != "" {
			return canonicalNumber(s)
		}
	case "DATE", "TIME", "DROP_DOWN", "RADIO_BUTTON":
		if mask == "" {
			return nil
		}
	}
	return mask
}

func canonicalNumber(s string) string {
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	if strings.Contains(s, ".") {
		s = strings.TrimRight(strings.TrimRight(s, "0"), ".")
	}
	if neg && s != "0" {
		return "-" + s
	}
	return s
}

// flatten is input.record as the policy contract defines it, written here
// independently of kgate's own.
func flatten(rec kintone.Record) map[string]any {
	out := map[string]any{}
	for code, fv := range rec {
		out[code] = flatValue(fv.Type, fv.Value)
	}
	return out
}

func flatValue(typ string, raw json.RawMessage) any {
	var s string
	switch typ {
	case "NUMBER", "CALC", "__ID__", "__REVISION__":
		if json.Unmarshal(raw, &s) != nil || s == "" {
			return nil
		}
		return json.Number(s)
	case "RECORD_NUMBER":
		json.Unmarshal(raw, &s)
		return s[strings.LastIndex(s, "-")+1:]
	case "CHECK_BOX", "MULTI_SELECT", "CATEGORY":
		l := []any{}
		var strs []string
		json.Unmarshal(raw, &strs)
		for _, x := range strs {
			l = append(l, x)
		}
		return l
	case "USER_SELECT", "ORGANIZATION_SELECT", "GROUP_SELECT", "STATUS_ASSIGNEE":
		var es []struct{ Code string }
		json.Unmarshal(raw, &es)
		l := []any{}
		for _, e := range es {
			l = append(l, e.Code)
		}
		return l
	case "CREATOR", "MODIFIER":
		var e struct{ Code string }
		json.Unmarshal(raw, &e)
		return e.Code
	case "FILE":
		var fs []struct{ Name, ContentType, Size string }
		json.Unmarshal(raw, &fs)
		l := []any{}
		for _, f := range fs {
			l = append(l, map[string]any{"name": f.Name, "contentType": f.ContentType, "size": json.Number(f.Size)})
		}
		return l
	case "SUBTABLE":
		var rows []struct{ Value kintone.Record }
		json.Unmarshal(raw, &rows)
		l := []any{}
		for _, row := range rows {
			l = append(l, flatten(row.Value))
		}
		return l
	}
	json.Unmarshal(raw, &s) // text, choices, dates and times; null reads ""
	return s
}

// oracle is the truth for one policy over one world and its members.
type oracle struct {
	t       *truth
	w       *world
	dec     map[string]map[string]decision // member → action → decision
	visible map[string]map[string]map[string]bool
}

// newOracle evaluates every decision and every include of every record.
func newOracle(t *truth, w *world, ms []member) (*oracle, error) {
	o := &oracle{t: t, w: w, dec: map[string]map[string]decision{}, visible: map[string]map[string]map[string]bool{}}
	flat := map[string]map[string]any{}
	for id, rec := range w.dump {
		flat[id] = flatten(rec)
	}
	for _, m := range ms {
		o.dec[m.name], o.visible[m.name] = map[string]decision{}, map[string]map[string]bool{}
		for _, action := range readActions {
			d, err := t.decide(m, action)
			if err != nil {
				return nil, err
			}
			o.dec[m.name][action] = d
			vis := map[string]bool{}
			if d.allow {
				for id, rec := range flat {
					ok, err := t.includes(m, action, rec)
					if err != nil {
						return nil, err
					}
					vis[id] = ok
				}
			}
			o.visible[m.name][action] = vis
		}
	}
	return o, nil
}

// sees reports whether member may see record id for every action listed:
// each must be allowed and include the record.
func (o *oracle) sees(m member, id string, actions ...string) bool {
	for _, a := range actions {
		if !o.dec[m.name][a].allow || !o.visible[m.name][a][id] {
			return false
		}
	}
	return true
}

// expectedRecord is the record as member m may see it: the fields asked
// for (every field when none) that the decision shows, masks applied at
// every depth. Files are compared by name and size (their keys become
// tokens).
func (o *oracle) expectedRecord(m member, id string, requested []string) map[string]any {
	d := o.dec[m.name]["read"]
	rec := o.w.dump[id]
	out := map[string]any{}
	keep := func(code string) bool {
		if len(requested) == 0 {
			return true
		}
		return slices.Contains(requested, code)
	}
	for code, fv := range rec {
		f, known := fieldByCode(code)
		if !known || f.table != "" || !keep(code) || !d.canSee(code) {
			continue
		}
		if mask, ok := d.masks[code]; ok {
			out[code] = maskOut(code, mask)
			continue
		}
		out[code] = plain(fv, d)
	}
	return out
}

// plain is a field's value for comparison: JSON decoded, files reduced to
// name and size, a table's masked columns replaced.
func plain(fv kintone.FieldValue, d decision) any {
	switch fv.Type {
	case "FILE":
		var fs []struct{ Name, Size string }
		json.Unmarshal(fv.Value, &fs)
		out := []any{}
		for _, f := range fs {
			out = append(out, f.Name+"/"+f.Size)
		}
		return out
	case "SUBTABLE":
		var rows []struct {
			ID    string
			Value kintone.Record
		}
		json.Unmarshal(fv.Value, &rows)
		out := []any{}
		for _, row := range rows {
			cells := map[string]any{}
			for code, cell := range row.Value {
				if mask, ok := d.masks[code]; ok {
					cells[code] = maskOut(code, mask)
				} else {
					cells[code] = plain(cell, d)
				}
			}
			out = append(out, map[string]any{"id": row.ID, "value": cells})
		}
		return out
	}
	var v any
	json.Unmarshal(fv.Value, &v)
	return v
}
