package kintonesim

import (
	"strconv"

	"github.com/kgate/kgate/internal/kintone"
	"github.com/kgate/kgate/internal/kql"
)

// maxAssignees is how many assignees a record can have.
const maxAssignees = 100

// statusRight is what running a process-management action takes: API
// tokens need the edit permission (kintone's token settings have no
// separate one); users need view, and must be an assignee.
func (c *call) statusRight() right {
	if c.who.user == nil {
		return rEdit
	}
	return rView
}

// PUT record/status.json
func putStatus(c *call) (any, *kintone.Error) {
	a, err := c.openApp("app", c.statusRight())
	if err != nil {
		return nil, err
	}
	if a.process == nil {
		return nil, kintone.NewError("GAIA_ST02", c.lang)
	}
	r, err := c.runAction(a, c.p, "")
	if err != nil {
		return nil, err
	}
	return map[string]string{"revision": strconv.FormatInt(r.rev, 10)}, nil
}

// PUT records/status.json
func putStatuses(c *call) (any, *kintone.Error) {
	a, err := c.openApp("app", c.statusRight())
	if err != nil {
		return nil, err
	}
	if a.process == nil {
		return nil, kintone.NewError("GAIA_ST02", c.lang)
	}
	items, err := c.itemList("records", maxWriteRecords, kintone.MsgMaxUpdate)
	if err != nil {
		return nil, err
	}
	out := make([]map[string]string, 0, len(items))
	for i, item := range items {
		r, err := c.runAction(a, item, "records["+strconv.Itoa(i)+"].")
		if err != nil {
			return nil, err
		}
		out = append(out, map[string]string{"id": strconv.FormatInt(r.id, 10), "revision": strconv.FormatInt(r.rev, 10)})
	}
	return map[string]any{"records": out}, nil
}

// runAction runs one action {id, action, assignee?, revision?} on a record:
// the action must leave the record's current state (and its filter must
// hold), the caller must be an assignee when the record has any, and the
// next state's assignee rule decides who works on it next. The revision
// goes up by 2: kintone counts the action and the status change.
func (c *call) runAction(a *app, item params, prefix string) (*record, *kintone.Error) {
	ve := &verrs{lang: c.lang}
	id, _ := item.required("id", ve)
	action, _ := item.text("action")
	if action == "" {
		ve.add(prefix+"action", kintone.MsgRequiredParam)
	}
	rev, _ := revision(item, "revision", ve)
	if ve.failed() {
		if prefix != "" {
			ve.err = renameKeys(ve.err, prefix)
		}
		return nil, ve.err
	}
	old, err := c.record(a, id)
	if err != nil {
		return nil, err
	}
	if err := c.checkRevision(old, rev); err != nil {
		return nil, err
	}
	cur := old.vals[a.statusF.idx].s
	var act *SeedAction
	for i := range a.process.actions {
		ac := &a.process.actions[i]
		if ac.Name == action && ac.From == cur {
			act = ac
		}
	}
	if act == nil || !c.filterHolds(a, act.FilterCond, old) {
		return nil, kintone.NewError("GAIA_IL03", c.lang)
	}
	if c.who.user != nil {
		cur, _ := old.vals[a.assigneeF.idx].x.([]entity)
		if len(cur) > 0 && !hasEntity(cur, c.who.user.Code) {
			return nil, kintone.NewError("GAIA_NT01", c.lang)
		}
	}
	next := a.process.states[a.process.index[act.To]]
	chosen, _ := item.text("assignee")
	if chosen != "" {
		if _, ok := c.st.users[chosen]; !ok {
			return nil, kintone.NewError("GAIA_IL26", c.lang, chosen)
		}
	}
	vals := append([]val(nil), old.vals...)
	cands := c.candidates(a, next, vals)
	var who []entity
	switch {
	case next.Assignee.Type != "ONE":
		who = cands
	case len(cands) == 0:
		who = []entity{}
	case chosen == "":
		return nil, kintone.NewError("GAIA_SA01", c.lang)
	case !hasEntity(cands, chosen):
		return nil, kintone.NewError("GAIA_SA04", c.lang, chosen)
	default:
		who = []entity{{code: chosen, name: c.st.users[chosen].Name}}
	}
	vals[a.statusF.idx] = val{s: next.Name}
	vals[a.assigneeF.idx] = val{x: who}
	return c.store(a, old, vals, 2), nil
}

// filterHolds evaluates an action's filter condition on a record.
func (c *call) filterHolds(a *app, cond string, r *record) bool {
	if cond == "" {
		return true
	}
	q, err := kql.Parse(cond)
	if err != nil || q.Where == nil {
		return err == nil
	}
	return c.compile(a, q.Where)(r)
}

// store saves vals as the next version of old, bump revisions later.
func (c *call) store(a *app, old *record, vals []val, bump int64) *record {
	r := &record{id: old.id, rev: old.rev + bump, vals: vals}
	if a.modifierF != nil {
		vals[a.modifierF.idx] = val{x: []entity{c.entity()}}
	}
	if a.updatedF != nil {
		vals[a.updatedF.idx] = val{s: formatDateTime(c.now)}
	}
	vals[a.revisionF.idx] = val{s: strconv.FormatInt(r.rev, 10)}
	a.encodeRecord(r)
	c.st.setRecord(a, r.id, r)
	return r
}

// PUT record/assignees.json
func putAssignees(c *call) (any, *kintone.Error) {
	a, err := c.openApp("app", c.statusRight())
	if err != nil {
		return nil, err
	}
	if a.process == nil {
		return nil, kintone.NewError("GAIA_ST02", c.lang)
	}
	ve := &verrs{lang: c.lang}
	id, _ := c.p.required("id", ve)
	rev, _ := revision(c.p, "revision", ve)
	list, ok := c.p.list("assignees")
	if !ok {
		if c.p["assignees"] != nil {
			return nil, errJSON(c.lang)
		}
		ve.add("assignees", kintone.MsgRequiredParam)
	} else if len(list) > maxAssignees {
		ve.add("assignees", kintone.MsgMaxItems, maxAssignees)
	}
	if ve.failed() {
		return nil, ve.err
	}
	old, err := c.record(a, id)
	if err != nil {
		return nil, err
	}
	if err := c.checkRevision(old, rev); err != nil {
		return nil, err
	}
	who := make([]entity, 0, len(list))
	for _, x := range list {
		code, ok := scalarText(x)
		if !ok {
			return nil, errJSON(c.lang)
		}
		u := c.st.users[code]
		if u == nil {
			return nil, kintone.NewError("GAIA_IL26", c.lang, code)
		}
		if !hasEntity(who, code) {
			who = append(who, entity{code: code, name: u.Name})
		}
	}
	vals := append([]val(nil), old.vals...)
	vals[a.assigneeF.idx] = val{x: who}
	r := c.store(a, old, vals, 1)
	return map[string]string{"revision": strconv.FormatInt(r.rev, 10)}, nil
}

// assignees is who works on a record entering state st: every candidate,
// or for a ONE rule the chosen user (the first candidate when none is).
func (c *call) assignees(a *app, st SeedState, vals []val, chosen string) []entity {
	cands := c.candidates(a, st, vals)
	if st.Assignee.Type != "ONE" || len(cands) == 0 {
		return cands
	}
	if chosen != "" && hasEntity(cands, chosen) {
		return []entity{{code: chosen, name: c.st.users[chosen].Name}}
	}
	return cands[:1]
}

// candidates expands a state's assignee entities into users.
func (c *call) candidates(a *app, st SeedState, vals []val) []entity {
	var out []entity
	add := func(code string) {
		if u := c.st.users[code]; u != nil && !hasEntity(out, code) {
			out = append(out, entity{code: code, name: u.Name})
		}
	}
	members := func(org, group string) {
		for _, code := range c.st.userOrder {
			u := c.st.users[code]
			if (org != "" && u.Organization == org) || (group != "" && contains(u.Groups, group)) {
				add(code)
			}
		}
	}
	for _, e := range st.Assignee.Entities {
		switch e.Entity.Type {
		case "USER":
			add(e.Entity.Code)
		case "ORGANIZATION":
			members(e.Entity.Code, "")
		case "GROUP":
			members("", e.Entity.Code)
		case "CREATOR":
			if a.creatorF != nil {
				for _, x := range entitiesOf(vals[a.creatorF.idx]) {
					add(x.code)
				}
			}
		case "FIELD_ENTITY":
			f := a.byCode[e.Entity.Code]
			for _, x := range entitiesOf(vals[f.idx]) {
				switch f.typ {
				case "ORGANIZATION_SELECT":
					members(x.code, "")
				case "GROUP_SELECT":
					members("", x.code)
				default:
					add(x.code)
				}
			}
		}
	}
	if out == nil {
		out = []entity{}
	}
	return out
}

func entitiesOf(v val) []entity { l, _ := v.x.([]entity); return l }

func hasEntity(l []entity, code string) bool {
	for _, e := range l {
		if e.code == code {
			return true
		}
	}
	return false
}

func contains(l []string, s string) bool {
	for _, x := range l {
		if x == s {
			return true
		}
	}
	return false
}

// renameKeys prefixes the keys of a validation error (records[i].id).
func renameKeys(e *kintone.Error, prefix string) *kintone.Error {
	out := &kintone.Error{Status: e.Status, Code: e.Code, ID: e.ID, Message: e.Message}
	for k, v := range e.Errors {
		if len(k) >= len(prefix) && k[:len(prefix)] == prefix {
			out.With(k, v.Messages...)
		} else {
			out.With(prefix+k, v.Messages...)
		}
	}
	return out
}
