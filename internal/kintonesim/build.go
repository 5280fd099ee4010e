package kintonesim

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"

	"github.com/kgate/kgate/internal/kintone"
)

// process is an app's process-management setting.
type process struct {
	states  []SeedState
	index   map[string]int // state name → position
	actions []SeedAction
}

// seedError is a problem in a seed, located as precisely as it can be.
func seedError(s *Seed, a *SeedApp, where string, format string, args ...any) error {
	msg := fmt.Sprintf(format, args...)
	loc := s.label()
	if a != nil {
		loc += fmt.Sprintf(": app %d", a.ID)
		if a.Code != "" {
			loc += " (" + a.Code + ")"
		}
	}
	if where != "" {
		loc += ": " + where
	}
	return fmt.Errorf("%s: %s", loc, msg)
}

// The default codes of system fields in an English environment.
var systemDefaults = []struct{ typ, code, label string }{
	{"RECORD_NUMBER", "Record_number", "Record number"},
	{"CREATOR", "Created_by", "Created by"},
	{"MODIFIER", "Updated_by", "Updated by"},
	{"CREATED_TIME", "Created_datetime", "Created datetime"},
	{"UPDATED_TIME", "Updated_datetime", "Updated datetime"},
	{"STATUS", "Status", "Status"},
	{"STATUS_ASSIGNEE", "Assignee", "Assignee"},
	{"CATEGORY", "Categories", "Categories"},
}

// buildApp turns one seed app into an app, checking its settings. Lookups
// into other apps are checked later by linkApps, once every app exists.
func buildApp(s *Seed, sa *SeedApp) (*app, error) {
	if sa.ID <= 0 {
		return nil, seedError(s, sa, "", "id must be a positive integer")
	}
	if sa.Name == "" {
		return nil, seedError(s, sa, "", "name is required")
	}
	a := &app{
		id: sa.ID, code: sa.Code, name: sa.Name, description: sa.Description,
		spaceID: sa.SpaceID, threadID: sa.ThreadID, comments: !sa.CommentsDisabled,
		byCode: map[string]*field{}, tokens: map[string]*SeedToken{}, seed: *sa,
	}
	a.seed.Records, a.seed.Comments, a.seed.NextID = nil, nil, 0
	prec, err := buildPrecision(sa.NumberPrecision)
	if err != nil {
		return nil, seedError(s, sa, "numberPrecision", "%v", err)
	}
	a.prec = prec
	var props []kintone.FieldProperty
	seen := map[string]bool{}
	order := map[string][]string{} // subtable → its fields as the seed lists them
	for i, raw := range sa.Fields {
		p, err := parseProperty(raw, a.addLabels)
		if err != nil {
			return nil, seedError(s, sa, fmt.Sprintf("fields[%d]", i), "%v", err)
		}
		if err := checkProperty(p, false, seen); err != nil {
			return nil, seedError(s, sa, fmt.Sprintf("field %q", p.Code), "%v", err)
		}
		props = append(props, p)
		if p.Type == "SUBTABLE" {
			order[p.Code] = listedFields(raw)
		}
	}
	if sa.Process != nil && sa.Process.Enable {
		pr, err := buildProcess(sa.Process)
		if err != nil {
			return nil, seedError(s, sa, "process", "%v", err)
		}
		a.process = pr
	}
	// System fields the seed did not declare get kintone's default codes.
	for _, d := range systemDefaults {
		found := false
		for i := range props {
			if props[i].Type == d.typ {
				found = true
				if d.typ == "STATUS" || d.typ == "STATUS_ASSIGNEE" {
					on := a.process != nil
					props[i].Enabled = &on
				}
			}
		}
		if found {
			continue
		}
		if seen[d.code] {
			return nil, seedError(s, sa, fmt.Sprintf("field %q", d.code), "the code is kintone's default for %s; declare the %s field with another code", d.typ, d.typ)
		}
		p := kintone.FieldProperty{Type: d.typ, Code: d.code, Label: d.label}
		switch d.typ {
		case "STATUS", "STATUS_ASSIGNEE":
			on := a.process != nil
			p.Enabled = &on
		case "CATEGORY":
			off := false
			p.Enabled = &off
		}
		seen[d.code] = true
		props = append(props, p)
	}
	a.form = props
	for _, p := range props {
		if formOnlyTypes[p.Type] {
			continue
		}
		if (p.Type == "STATUS" || p.Type == "STATUS_ASSIGNEE") && a.process == nil {
			continue // records of an app without process management have no status
		}
		if p.Type == "CATEGORY" && (p.Enabled == nil || !*p.Enabled) {
			continue
		}
		f, err := newField(p, len(a.fields), nil)
		if err != nil {
			return nil, seedError(s, sa, fmt.Sprintf("field %q", p.Code), "%v", err)
		}
		a.fields = append(a.fields, f)
		a.byCode[f.code] = f
		for _, in := range f.inner {
			a.byCode[in.code] = in
		}
	}
	for _, sys := range []struct{ typ, code string }{{"__ID__", "$id"}, {"__REVISION__", "$revision"}} {
		f, _ := newField(kintone.FieldProperty{Type: sys.typ, Code: sys.code}, len(a.fields), nil)
		a.fields = append(a.fields, f)
		a.byCode[f.code] = f
	}
	for _, f := range a.fields {
		f.prec = a.prec
		for _, in := range f.inner {
			in.prec = a.prec
		}
		switch f.typ {
		case "RECORD_NUMBER":
			a.recordNumber = f
		case "CREATOR":
			a.creatorF = f
		case "MODIFIER":
			a.modifierF = f
		case "CREATED_TIME":
			a.createdF = f
		case "UPDATED_TIME":
			a.updatedF = f
		case "STATUS":
			a.statusF = f
		case "STATUS_ASSIGNEE":
			a.assigneeF = f
		case "__ID__":
			a.idF = f
		case "__REVISION__":
			a.revisionF = f
		}
	}
	if a.process != nil {
		for _, st := range a.process.states {
			for _, e := range st.Assignee.Entities {
				if e.Entity.Type == "FIELD_ENTITY" {
					if f := a.byCode[e.Entity.Code]; f == nil || f.parent != nil || (f.typ != "USER_SELECT" && f.typ != "CREATOR" && f.typ != "MODIFIER" && f.typ != "ORGANIZATION_SELECT" && f.typ != "GROUP_SELECT") {
						return nil, seedError(s, sa, "process state "+strconv.Quote(st.Name), "FIELD_ENTITY %q is not a user, organization or group field of the app", e.Entity.Code)
					}
				}
			}
		}
	}
	layout, err := buildLayout(sa.Layout, props, order)
	if err != nil {
		return nil, seedError(s, sa, "layout", "%v", err)
	}
	a.layout = layout
	for i := range sa.Tokens {
		t := sa.Tokens[i]
		if t.Token == "" {
			return nil, seedError(s, sa, fmt.Sprintf("tokens[%d]", i), "token is empty")
		}
		a.tokens[t.Token] = &t
	}
	if sa.Rights != nil {
		a.rights = map[string]rightSet{}
		for user, list := range sa.Rights {
			var r rightSet
			for _, x := range list {
				switch x {
				case "view":
					r.view = true
				case "add":
					r.add = true
				case "edit":
					r.edit = true
				case "delete":
					r.delete = true
				case "manage":
					r.manage = true
				default:
					return nil, seedError(s, sa, "rights of "+strconv.Quote(user), "unknown right %q (view, add, edit, delete, manage)", x)
				}
			}
			a.rights[user] = r
		}
	}
	return a, nil
}

// parseProperty decodes a form-field property as kintone writes it, also
// accepting numbers for the numeric settings and a plain list of strings
// for options. The seed's own "labels" key (a field's label per language,
// for fields.json's lang parameter) is handed to labels, field by field,
// subtable fields included.
func parseProperty(raw json.RawMessage, labels func(code string, byLang map[string]any) error) (kintone.FieldProperty, error) {
	var m map[string]any
	d := json.NewDecoder(bytes.NewReader(raw))
	d.UseNumber()
	if err := d.Decode(&m); err != nil {
		return kintone.FieldProperty{}, err
	}
	if err := takeLabels(m, fmt.Sprint(m["code"]), labels); err != nil {
		return kintone.FieldProperty{}, err
	}
	normalizeProperty(m)
	b, _ := json.Marshal(m)
	var p kintone.FieldProperty
	d = json.NewDecoder(bytes.NewReader(b))
	d.DisallowUnknownFields()
	if err := d.Decode(&p); err != nil {
		return p, err
	}
	return p, nil
}

// listedFields is the order of a subtable's fields when the seed gives
// them as a list, nil when it gives an object.
func listedFields(raw json.RawMessage) []string {
	var p struct {
		Fields []struct {
			Code string `json:"code"`
		} `json:"fields"`
	}
	if json.Unmarshal(raw, &p) != nil {
		return nil
	}
	codes := make([]string, len(p.Fields))
	for i, f := range p.Fields {
		codes[i] = f.Code
	}
	return codes
}

// takeLabels removes the "labels" key from a property and from its
// subtable's fields (a list or an object keyed by code), passing each to
// labels with the field's code.
func takeLabels(m map[string]any, code string, labels func(code string, byLang map[string]any) error) error {
	if raw, ok := m["labels"]; ok {
		byLang, ok := raw.(map[string]any)
		if !ok {
			return fmt.Errorf("field %q: labels must be an object of language → label, such as {\"ja\": \"件名\", \"en\": \"Title\"}", code)
		}
		delete(m, "labels")
		if err := labels(code, byLang); err != nil {
			return fmt.Errorf("field %q: %w", code, err)
		}
	}
	switch fs := m["fields"].(type) {
	case []any:
		for _, f := range fs {
			if fm, ok := f.(map[string]any); ok {
				if err := takeLabels(fm, fmt.Sprint(fm["code"]), labels); err != nil {
					return err
				}
			}
		}
	case map[string]any:
		for c, f := range fs {
			if fm, ok := f.(map[string]any); ok {
				if err := takeLabels(fm, c, labels); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

func normalizeProperty(m map[string]any) {
	for _, k := range []string{"minLength", "maxLength", "minValue", "maxValue", "displayScale", "thumbnailSize"} {
		if n, ok := m[k].(json.Number); ok {
			m[k] = n.String()
		}
	}
	if list, ok := m["options"].([]any); ok {
		opts := map[string]any{}
		for i, o := range list {
			s := fmt.Sprint(o)
			opts[s] = map[string]any{"label": s, "index": strconv.Itoa(i)}
		}
		m["options"] = opts
	}
	if fields, ok := m["fields"].([]any); ok { // subtable fields given as a list
		inner := map[string]any{}
		for _, f := range fields {
			if fm, ok := f.(map[string]any); ok {
				normalizeProperty(fm)
				inner[fmt.Sprint(fm["code"])] = fm
			}
		}
		m["fields"] = inner
	} else if fields, ok := m["fields"].(map[string]any); ok {
		for _, f := range fields {
			if fm, ok := f.(map[string]any); ok {
				normalizeProperty(fm)
			}
		}
	}
}

var knownTypes = func() map[string]bool {
	m := map[string]bool{}
	for _, set := range []map[string]bool{writableTypes, systemTypes, formOnlyTypes} {
		for k := range set {
			m[k] = true
		}
	}
	delete(m, "__ID__")
	delete(m, "__REVISION__")
	return m
}()

func checkProperty(p kintone.FieldProperty, inSubtable bool, seen map[string]bool) error {
	if !knownTypes[p.Type] {
		return fmt.Errorf("unknown type %q", p.Type)
	}
	if p.Code == "" || strings.HasPrefix(p.Code, "$") {
		return fmt.Errorf("code %q is not a valid field code", p.Code)
	}
	if seen[p.Code] {
		return fmt.Errorf("duplicate field code")
	}
	seen[p.Code] = true
	if inSubtable && !subtableTypes[p.Type] {
		return fmt.Errorf("type %s cannot be inside a subtable", p.Type)
	}
	switch p.Type {
	case "CHECK_BOX", "RADIO_BUTTON", "DROP_DOWN", "MULTI_SELECT":
		if len(p.Options) == 0 {
			return fmt.Errorf("%s needs options", p.Type)
		}
	case "SUBTABLE":
		if len(p.Fields) == 0 {
			return fmt.Errorf("a subtable needs fields")
		}
		for code, in := range p.Fields {
			if in.Code == "" {
				in.Code = code
			}
			if in.Code != code {
				return fmt.Errorf("inner field key %q differs from its code %q", code, in.Code)
			}
			if err := checkProperty(in, true, seen); err != nil {
				return fmt.Errorf("inner field %q: %v", code, err)
			}
		}
	}
	if p.Unique {
		switch p.Type {
		case "SINGLE_LINE_TEXT", "NUMBER", "LINK", "DATE", "DATETIME":
		default:
			return fmt.Errorf("unique is possible only on SINGLE_LINE_TEXT, NUMBER, LINK, DATE and DATETIME")
		}
	}
	if p.Lookup != nil {
		switch p.Type {
		case "SINGLE_LINE_TEXT", "NUMBER", "LINK":
		default:
			return fmt.Errorf("a lookup key must be SINGLE_LINE_TEXT, NUMBER or LINK")
		}
	}
	return nil
}

// newField builds the field for property p at position idx.
func newField(p kintone.FieldProperty, idx int, parent *field) (*field, error) {
	f := &field{code: p.Code, typ: p.Type, idx: idx, parent: parent, prop: p, minLen: -1, maxLen: -1, lookup: p.Lookup}
	h := appendString(nil, f.code)
	h = append(h, `:{"type":`...)
	h = appendString(h, f.typ)
	f.header = append(h, `,"value":`...)
	if len(p.Options) > 0 {
		f.options = map[string]bool{}
		for k := range p.Options {
			f.options[k] = true
		}
	}
	var err error
	num := func(s string) *float64 {
		if s == "" || err != nil {
			return nil
		}
		x, e := strconv.ParseFloat(s, 64)
		if e != nil {
			err = fmt.Errorf("%q is not a number", s)
			return nil
		}
		return &x
	}
	limit := func(s string) string {
		if s == "" || err != nil {
			return ""
		}
		n, ok := numberLiteral(s)
		if !ok {
			err = fmt.Errorf("%q is not a number", s)
		}
		return n
	}
	f.minVal, f.maxVal = limit(p.MinValue), limit(p.MaxValue)
	f.minText, f.maxText = p.MinValue, p.MaxValue
	f.calcText = p.Type == "CALC" && !numericFormat(p.Format)
	if l := num(p.MinLength); l != nil {
		f.minLen = int(*l)
	}
	if l := num(p.MaxLength); l != nil {
		f.maxLen = int(*l)
	}
	if err != nil {
		return nil, err
	}
	if p.Type == "SUBTABLE" {
		// Inner fields in a stable order: as the seed listed them when it
		// gave a list (kept in the property's map order is not possible),
		// else by code.
		codes := make([]string, 0, len(p.Fields))
		for c := range p.Fields {
			codes = append(codes, c)
		}
		sortStrings(codes)
		for i, c := range codes {
			ip := p.Fields[c]
			ip.Code = c
			in, err := newField(ip, i, f)
			if err != nil {
				return nil, fmt.Errorf("inner field %q: %v", c, err)
			}
			f.inner = append(f.inner, in)
		}
	}
	return f, nil
}

// numericFormat reports whether a CALC field of this format computes a
// number (rather than a date or a time).
func numericFormat(format string) bool {
	return format == "" || format == "NUMBER" || format == "NUMBER_DIGIT"
}

// buildPrecision checks an app's number precision setting; what the seed
// leaves out is kintone's default.
func buildPrecision(sp *SeedNumberPrecision) (precision, error) {
	p := defaultPrecision
	if sp == nil {
		return p, nil
	}
	if len(sp.unknown) > 0 {
		sortStrings(sp.unknown)
		return p, fmt.Errorf("unknown key %q (digits, decimalPlaces, roundingMode)", sp.unknown[0])
	}
	count := func(name, s string, lo, hi int, dst *int) error {
		if s == "" {
			return nil
		}
		n, err := strconv.Atoi(s)
		if err != nil || n < lo || n > hi {
			return fmt.Errorf("%s %s is not a whole number from %d to %d", name, s, lo, hi)
		}
		*dst = n
		return nil
	}
	if err := count("digits", sp.Digits, 1, maxPrecisionDigits, &p.digits); err != nil {
		return p, err
	}
	if err := count("decimalPlaces", sp.DecimalPlaces, 0, maxPrecisionPlaces, &p.places); err != nil {
		return p, err
	}
	if p.places >= p.digits {
		return p, fmt.Errorf("decimalPlaces (%d) must be fewer than digits (%d)", p.places, p.digits)
	}
	if sp.RoundingMode != "" {
		m, ok := roundingModes[sp.RoundingMode]
		if !ok {
			return p, fmt.Errorf("roundingMode %q is not HALF_EVEN, UP or DOWN", sp.RoundingMode)
		}
		p.mode = m
	}
	return p, nil
}

func buildProcess(sp *SeedProcess) (*process, error) {
	p := &process{states: sp.States, index: map[string]int{}, actions: sp.Actions}
	if len(sp.States) == 0 {
		return nil, fmt.Errorf("process management needs at least one state")
	}
	for i, st := range sp.States {
		if st.Name == "" {
			return nil, fmt.Errorf("states[%d] has no name", i)
		}
		if _, dup := p.index[st.Name]; dup {
			return nil, fmt.Errorf("duplicate state %q", st.Name)
		}
		switch st.Assignee.Type {
		case "", "ONE", "ALL", "ANY":
		default:
			return nil, fmt.Errorf("state %q: assignee type %q is not ONE, ALL or ANY", st.Name, st.Assignee.Type)
		}
		if p.states[i].Assignee.Type == "" {
			p.states[i].Assignee.Type = "ONE"
		}
		for _, e := range st.Assignee.Entities {
			switch e.Entity.Type {
			case "USER", "GROUP", "ORGANIZATION", "FIELD_ENTITY", "CREATOR", "CUSTOM_FIELD":
			default:
				return nil, fmt.Errorf("state %q: unknown entity type %q", st.Name, e.Entity.Type)
			}
		}
		p.index[st.Name] = i
	}
	for i, ac := range sp.Actions {
		if ac.Name == "" {
			return nil, fmt.Errorf("actions[%d] has no name", i)
		}
		if _, ok := p.index[ac.From]; !ok {
			return nil, fmt.Errorf("action %q: unknown state %q", ac.Name, ac.From)
		}
		if _, ok := p.index[ac.To]; !ok {
			return nil, fmt.Errorf("action %q: unknown state %q", ac.Name, ac.To)
		}
		if ac.Type == "" {
			p.actions[i].Type = "PRIMARY"
		}
	}
	return p, nil
}

// buildLayout checks a layout given in the seed, or lays out one field per
// row in form order, a subtable's fields in the order the seed lists them.
func buildLayout(raw json.RawMessage, props []kintone.FieldProperty, order map[string][]string) ([]byte, error) {
	if len(raw) > 0 {
		var rows []struct {
			Type string `json:"type"`
		}
		if err := json.Unmarshal(raw, &rows); err != nil {
			return nil, err
		}
		for i, r := range rows {
			if r.Type != "ROW" && r.Type != "SUBTABLE" && r.Type != "GROUP" {
				return nil, fmt.Errorf("layout[%d]: type %q is not ROW, SUBTABLE or GROUP", i, r.Type)
			}
		}
		return raw, nil
	}
	type elem struct {
		Type string            `json:"type"`
		Code string            `json:"code,omitempty"`
		Size map[string]string `json:"size"`
	}
	type rowT struct {
		Type   string `json:"type"`
		Code   string `json:"code,omitempty"`
		Fields []elem `json:"fields"`
	}
	rows := []rowT{}
	for _, p := range props {
		if systemTypes[p.Type] && p.Type != "CALC" && p.Type != "RECORD_NUMBER" && p.Type != "CREATOR" &&
			p.Type != "MODIFIER" && p.Type != "CREATED_TIME" && p.Type != "UPDATED_TIME" {
			continue // status, assignee and categories are not placed on the form
		}
		if p.Type == "SUBTABLE" {
			r := rowT{Type: "SUBTABLE", Code: p.Code}
			codes := order[p.Code]
			if len(codes) != len(p.Fields) { // given as an object: no order to keep
				codes = make([]string, 0, len(p.Fields))
				for c := range p.Fields {
					codes = append(codes, c)
				}
				sortStrings(codes)
			}
			for _, c := range codes {
				r.Fields = append(r.Fields, elem{Type: p.Fields[c].Type, Code: c, Size: map[string]string{"width": "193"}})
			}
			rows = append(rows, r)
			continue
		}
		rows = append(rows, rowT{Type: "ROW", Fields: []elem{{Type: p.Type, Code: p.Code, Size: map[string]string{"width": "193"}}}})
	}
	return json.Marshal(rows)
}
