package kintonesim

import (
	"bytes"
	"encoding/json"
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/kgate/kgate/internal/kintone"
	"github.com/kgate/kgate/internal/kql"
)

// load builds the state from a seed, checking it.
func (s *Server) load(seed *Seed) (*state, error) {
	st := &state{
		users: map[string]*SeedUser{}, orgs: map[string]string{}, grps: map[string]string{},
		apps: map[int64]*app{}, data: map[int64]*appData{}, files: map[string]*fileRef{},
		tmp: map[string]*upload{}, tokens: map[string]tokenRef{}, top: *seed,
	}
	st.top.Apps, st.top.Files = nil, nil
	tzName := seed.TimeZone
	if tzName == "" {
		tzName = "Asia/Tokyo"
	}
	loc, err := time.LoadLocation(tzName)
	if err != nil {
		return nil, seedError(seed, nil, "timezone", "%v", err)
	}
	st.tz = loc
	switch seed.Language {
	case "":
		st.lang = "ja"
	case "ja", "en":
		st.lang = seed.Language
	default:
		return nil, seedError(seed, nil, "language", "%q is not ja or en", seed.Language)
	}
	st.basic = seed.BasicAuth
	for _, o := range seed.Organizations {
		st.orgs[o.Code] = o.Name
	}
	for _, g := range seed.Groups {
		st.grps[g.Code] = g.Name
	}
	for i := range seed.Users {
		u := &seed.Users[i]
		where := fmt.Sprintf("users[%d]", i)
		switch {
		case u.Code == "":
			return nil, seedError(seed, nil, where, "code is required")
		case st.users[u.Code] != nil || u.Code == administrator.code:
			return nil, seedError(seed, nil, where, "duplicate user %q", u.Code)
		case u.Language != "" && u.Language != "ja" && u.Language != "en":
			return nil, seedError(seed, nil, where, "language %q is not ja, en or empty", u.Language)
		}
		if u.TimeZone != "" {
			if _, err := time.LoadLocation(u.TimeZone); err != nil {
				return nil, seedError(seed, nil, where, "%v", err)
			}
		}
		if u.Name == "" {
			u.Name = u.Code
		}
		if u.Organization != "" && st.orgs[u.Organization] == "" {
			st.orgs[u.Organization] = u.Organization
		}
		for _, g := range u.Groups {
			if st.grps[g] == "" {
				st.grps[g] = g
			}
		}
		st.users[u.Code] = u
		st.userOrder = append(st.userOrder, u.Code)
	}
	for i := range seed.Apps {
		sa := &seed.Apps[i]
		a, err := buildApp(seed, sa)
		if err != nil {
			return nil, err
		}
		if st.apps[a.id] != nil {
			return nil, seedError(seed, sa, "", "duplicate app id")
		}
		a.creator = administrator
		if sa.Creator != "" {
			u := st.users[sa.Creator]
			if u == nil {
				return nil, seedError(seed, sa, "creator", "unknown user %q", sa.Creator)
			}
			a.creator = entity{code: u.Code, name: u.Name}
		}
		a.createdAt = s.now()
		if sa.CreatedAt != "" {
			if a.createdAt, err = time.Parse(time.RFC3339, sa.CreatedAt); err != nil {
				return nil, seedError(seed, sa, "createdAt", "%v", err)
			}
		}
		for t := range a.tokens {
			if prev, dup := st.tokens[t]; dup {
				return nil, seedError(seed, sa, "tokens", "token %q is also a token of app %d", t, prev.app.id)
			}
			st.tokens[t] = tokenRef{app: a, tok: a.tokens[t]}
		}
		for user := range a.rights {
			if st.users[user] == nil {
				return nil, seedError(seed, sa, "rights", "unknown user %q", user)
			}
		}
		st.apps[a.id] = a
		st.order = append(st.order, a.id)
		d := &appData{recs: map[int64]*record{}, nextID: 1, unique: map[*field]map[string]int64{}, comments: map[int64]*thread{}}
		for _, f := range a.fields {
			if f.prop.Unique {
				d.unique[f] = map[string]int64{}
			}
		}
		st.data[a.id] = d
	}
	sort.Slice(st.order, func(i, j int) bool { return st.order[i] < st.order[j] })
	for i := range seed.Apps {
		if err := st.link(seed, &seed.Apps[i]); err != nil {
			return nil, err
		}
	}
	for i, f := range seed.Files {
		if f.FileKey == "" || f.Name == "" {
			return nil, seedError(seed, nil, fmt.Sprintf("files[%d]", i), "fileKey and name are required")
		}
		if st.files[f.FileKey] != nil {
			return nil, seedError(seed, nil, fmt.Sprintf("files[%d]", i), "duplicate fileKey %q", f.FileKey)
		}
		data := f.Base64
		if f.Text != "" {
			data = []byte(f.Text)
		}
		ct := f.ContentType
		if ct == "" {
			ct = "application/octet-stream"
		}
		st.files[f.FileKey] = &fileRef{key: f.FileKey, name: f.Name, contentType: ct, data: data}
	}
	s.st = st
	for i := range seed.Apps {
		if err := s.loadRecords(seed, &seed.Apps[i]); err != nil {
			return nil, err
		}
	}
	st.dirty = false
	return st, nil
}

// link resolves the lookups and related-records tables of one app, which
// may point at any app, and builds the fields the query rules see.
func (st *state) link(seed *Seed, sa *SeedApp) error {
	a := st.apps[sa.ID]
	a.mapped = map[string]bool{}
	a.kql = map[string]kql.Field{}
	for _, f := range a.fields {
		a.kql[f.code] = kqlField(f)
		for _, in := range f.inner {
			a.kql[in.code] = kqlField(in)
		}
		if f.lookup == nil {
			continue
		}
		where := fmt.Sprintf("field %q: lookup", f.code)
		src := st.appByRef(f.lookup.RelatedApp)
		if src == nil {
			return seedError(seed, sa, where, "related app %+v not found", f.lookup.RelatedApp)
		}
		if kf := src.byCode[f.lookup.RelatedKeyField]; kf == nil || kf.parent != nil {
			return seedError(seed, sa, where, "relatedKeyField %q is not a field of app %d", f.lookup.RelatedKeyField, src.id)
		}
		for _, m := range f.lookup.FieldMappings {
			if d := a.byCode[m.Field]; d == nil || d.parent != nil {
				return seedError(seed, sa, where, "mapped field %q is not a field of the app", m.Field)
			}
			if sf := src.byCode[m.RelatedField]; sf == nil || sf.parent != nil {
				return seedError(seed, sa, where, "mapped field %q is not a field of app %d", m.RelatedField, src.id)
			}
			a.mapped[m.Field] = true
		}
		a.lookups = append(a.lookups, f)
	}
	for _, p := range a.form {
		if p.Type != "REFERENCE_TABLE" {
			continue
		}
		where := fmt.Sprintf("field %q: referenceTable", p.Code)
		if p.ReferenceTable == nil {
			return seedError(seed, sa, where, "referenceTable is required")
		}
		src := st.appByRef(p.ReferenceTable.RelatedApp)
		if src == nil {
			return seedError(seed, sa, where, "related app %+v not found", p.ReferenceTable.RelatedApp)
		}
		if a.byCode[p.ReferenceTable.Condition.Field] == nil || src.byCode[p.ReferenceTable.Condition.RelatedField] == nil {
			return seedError(seed, sa, where, "condition fields not found")
		}
		a.kql[p.Code] = kql.Field{Code: p.Code, Type: "REFERENCE_TABLE"}
		for _, sf := range src.fields {
			if sf.code != "$id" && sf.code != "$revision" {
				kf := kqlField(sf)
				kf.Code = p.Code + "." + sf.code
				a.kql[kf.Code] = kf
			}
		}
	}
	views, err := buildViews(a, sa.Views)
	if err != nil {
		return seedError(seed, sa, "views", "%v", err)
	}
	a.views = views
	return nil
}

func kqlField(f *field) kql.Field {
	kf := kql.Field{Code: f.code, Type: f.typ, InSubtable: f.parent != nil}
	for o := range f.options {
		kf.Options = append(kf.Options, o)
	}
	sort.Strings(kf.Options)
	if f.typ == "__REVISION__" {
		kf.Type = "NUMBER"
	}
	return kf
}

// appByRef finds the app a lookup or related-records setting names, by id
// or by code.
func (st *state) appByRef(ref kintone.RelatedApp) *app {
	if ref.App != "" {
		id, err := strconv.ParseInt(ref.App, 10, 64)
		if err != nil {
			return nil
		}
		return st.apps[id]
	}
	for _, a := range st.apps {
		if ref.Code != "" && a.code == ref.Code {
			return a
		}
	}
	return nil
}

// loadRecords stores the seed's records and comments of one app.
func (s *Server) loadRecords(seed *Seed, sa *SeedApp) error {
	st := s.st
	a := st.apps[sa.ID]
	c := &call{s: s, st: st, lang: "en", who: &caller{root: true}, now: s.now()}
	for i, raw := range sa.Records {
		where := fmt.Sprintf("records[%d]", i)
		in, ok := decodeJSON(recordJSON(raw))
		if !ok {
			return seedError(seed, sa, where, "not a JSON object")
		}
		if err := expandDates(a, in, c.now, st.tz); err != nil {
			return seedError(seed, sa, where, "%v", err)
		}
		for code := range in {
			if a.byCode[code] == nil && code != "$id" && code != "$revision" {
				return seedError(seed, sa, where, "unknown field %q", code)
			}
		}
		r, kerr := c.buildRecord(a, nil, in, keys{base: where}, true)
		if kerr != nil {
			return seedError(seed, sa, where, "%s", describe(kerr))
		}
		st.setRecord(a, r.id, r)
	}
	if d := st.data[a.id]; sa.NextID > d.nextID {
		d.nextID = sa.NextID
	}
	for i, sc := range sa.Comments {
		where := fmt.Sprintf("comments[%d]", i)
		if st.data[a.id].recs[sc.Record] == nil {
			return seedError(seed, sa, where, "record %d not found", sc.Record)
		}
		who := administrator
		if sc.User != "" {
			u := st.users[sc.User]
			if u == nil {
				return seedError(seed, sa, where, "unknown user %q", sc.User)
			}
			who = entity{code: u.Code, name: u.Name}
		}
		at := c.now
		if sc.CreatedAt != "" {
			t, err := parseSeedTime(sc.CreatedAt, c.now, st.tz)
			if err != nil {
				return seedError(seed, sa, where, "createdAt: %v", err)
			}
			at = t
		}
		text := sc.Text
		if sc.ID == 0 { // a new comment: mentions are written into the text
			var kerr *kintone.Error
			if text, kerr = c.mentionText(text, sc.Mentions); kerr != nil {
				return seedError(seed, sa, where, "%s", describe(kerr))
			}
		}
		st.addComment(a, sc.Record, &comment{id: sc.ID, text: text, createdAt: at, creator: who, mentions: sc.Mentions})
	}
	st.undo = st.undo[:0]
	return nil
}

// recordJSON accepts a seed record in kintone's write format.
func recordJSON(raw map[string]json.RawMessage) []byte {
	var b bytes.Buffer
	b.WriteByte('{')
	codes := make([]string, 0, len(raw))
	for k := range raw {
		codes = append(codes, k)
	}
	sort.Strings(codes)
	for i, k := range codes {
		if i > 0 {
			b.WriteByte(',')
		}
		b.Write(appendString(nil, k))
		b.WriteByte(':')
		b.Write(raw[k])
	}
	b.WriteByte('}')
	return b.Bytes()
}

// describe renders a kintone error for a seed error message.
func describe(e *kintone.Error) string {
	s := e.Code + " " + e.Message
	keys := make([]string, 0, len(e.Errors))
	for k := range e.Errors {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		s += "; " + k + ": " + strings.Join(e.Errors[k].Messages, " ")
	}
	return s
}

// Relative dates in seeds: "today", "today+3", "today-2" (DATE, or local
// midnight for date-times), "today+1 14:30" (a local time), "now",
// "now-90m", "now+2h", "now-3d"; local means the seed's time zone.
var relDate = regexp.MustCompile(`^(today|now)(?:([+-]\d+)(m|h|d)?)?(?: (\d{1,2}:\d{2}))?$`)

// expandDates rewrites relative dates in the date fields of a seed record.
func expandDates(a *app, in map[string]any, now time.Time, loc *time.Location) error {
	for code, e := range in {
		f := a.byCode[code]
		m, _ := e.(map[string]any)
		if f == nil || m == nil {
			continue
		}
		if f.typ == "SUBTABLE" {
			rows, _ := m["value"].([]any)
			for _, r := range rows {
				rm, _ := r.(map[string]any)
				if inner, ok := rm["value"].(map[string]any); ok {
					if err := expandDates(a, inner, now, loc); err != nil {
						return err
					}
				}
			}
			continue
		}
		s, ok := m["value"].(string)
		if !ok || !relDate.MatchString(s) {
			continue
		}
		t, err := parseSeedTime(s, now, loc)
		if err != nil {
			return fmt.Errorf("field %q: %v", code, err)
		}
		switch f.typ {
		case "DATE":
			m["value"] = t.In(loc).Format("2006-01-02")
		case "DATETIME", "CREATED_TIME", "UPDATED_TIME":
			m["value"] = formatDateTime(t)
		case "TIME":
			m["value"] = t.In(loc).Format("15:04")
		}
	}
	return nil
}

// parseSeedTime reads an RFC 3339 time or a relative date.
func parseSeedTime(s string, now time.Time, loc *time.Location) (time.Time, error) {
	m := relDate.FindStringSubmatch(s)
	if m == nil {
		return time.Parse(time.RFC3339, s)
	}
	n := 0
	if m[2] != "" {
		n, _ = strconv.Atoi(m[2])
	}
	local := now.In(loc)
	var t time.Time
	if m[1] == "today" {
		if m[3] != "" && m[3] != "d" {
			return t, fmt.Errorf("%q: today moves in days", s)
		}
		t = time.Date(local.Year(), local.Month(), local.Day()+n, 0, 0, 0, 0, loc)
	} else {
		switch m[3] {
		case "m":
			t = now.Add(time.Duration(n) * time.Minute)
		case "h":
			t = now.Add(time.Duration(n) * time.Hour)
		default:
			t = now.AddDate(0, 0, n)
		}
	}
	if m[4] != "" {
		hm, err := time.Parse("15:04", m[4])
		if err != nil {
			return t, err
		}
		l := t.In(loc)
		t = time.Date(l.Year(), l.Month(), l.Day(), hm.Hour(), hm.Minute(), 0, 0, loc)
	}
	return t, nil
}
