package kintonesim

import (
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/kgate/kgate/internal/kintone"
)

// Comment limits.
const (
	maxCommentLimit    = 10
	maxCommentText     = 65535
	maxCommentMentions = 10
)

// commentTarget opens the app (with comments on) and the record.
func (c *call) commentTarget() (*app, *record, *kintone.Error) {
	a, err := c.openApp("app", rView)
	if err != nil {
		return nil, nil, err
	}
	ve := &verrs{lang: c.lang}
	id, ok := c.p.required("record", ve)
	if !ok {
		return nil, nil, ve.err
	}
	if !a.comments {
		return nil, nil, kintone.NewError("GAIA_RE12", c.lang)
	}
	r, err := c.record(a, id)
	if err != nil {
		return nil, nil, err
	}
	return a, r, nil
}

// GET record/comments.json
func getComments(c *call) (any, *kintone.Error) {
	a, r, err := c.commentTarget()
	if err != nil {
		return nil, err
	}
	ve := &verrs{lang: c.lang}
	order, _ := c.p.text("order")
	if order == "" {
		order = "desc"
	}
	if order != "asc" && order != "desc" {
		ve.add("order", kintone.MsgEnum, "asc, desc")
	}
	offset, limit := int64(0), int64(maxCommentLimit)
	if n, ok := c.p.integer("offset", ve); ok {
		if n < 0 {
			ve.add("offset", kintone.MsgMin, 0)
		}
		offset = n
	}
	if n, ok := c.p.integer("limit", ve); ok {
		if n < 0 {
			ve.add("limit", kintone.MsgMin, 0)
		} else if n > maxCommentLimit {
			ve.add("limit", kintone.MsgMax, maxCommentLimit)
		}
		limit = n
	}
	if ve.failed() {
		return nil, ve.err
	}
	var list []*comment
	if t := c.st.data[a.id].comments[r.id]; t != nil {
		list = t.list
	}
	n := int64(len(list))
	type mention struct {
		Code string `json:"code"`
		Type string `json:"type"`
	}
	type out struct {
		ID        string            `json:"id"`
		Text      string            `json:"text"`
		CreatedAt string            `json:"createdAt"`
		Creator   map[string]string `json:"creator"`
		Mentions  []mention         `json:"mentions"`
	}
	page := []out{}
	for i := offset; i < offset+limit && i < n; i++ {
		cm := list[i]
		if order == "desc" {
			cm = list[n-1-i]
		}
		o := out{ID: strconv.FormatInt(cm.id, 10), Text: cm.text, CreatedAt: cm.createdAt.UTC().Format("2006-01-02T15:04:05Z"),
			Creator: map[string]string{"code": cm.creator.code, "name": cm.creator.name}, Mentions: []mention{}}
		for _, m := range cm.mentions {
			o.Mentions = append(o.Mentions, mention{m.Code, m.Type})
		}
		page = append(page, o)
	}
	before, after := offset > 0 && n > 0, offset+limit < n
	older, newer := after, before
	if order == "asc" {
		older, newer = before, after
	}
	return map[string]any{"comments": page, "older": older, "newer": newer}, nil
}

// POST record/comment.json
func postComment(c *call) (any, *kintone.Error) {
	a, r, err := c.commentTarget()
	if err != nil {
		return nil, err
	}
	ve := &verrs{lang: c.lang}
	cm, ok := c.p.object("comment")
	if !ok {
		if c.p["comment"] != nil {
			return nil, errJSON(c.lang)
		}
		ve.add("comment", kintone.MsgRequiredParam)
		return nil, ve.err
	}
	text, ok := scalarText(cm["text"])
	if !ok {
		return nil, errJSON(c.lang)
	}
	if strings.TrimSpace(text) == "" {
		ve.add("comment.text", kintone.MsgRequiredParam)
	} else if utf8.RuneCountInString(text) > maxCommentText {
		ve.add("comment.text", kintone.MsgMaxLength, maxCommentText+1)
	}
	var mentions []SeedMention
	if raw, present := cm["mentions"]; present && raw != nil {
		list, ok := raw.([]any)
		if !ok {
			return nil, errJSON(c.lang)
		}
		if len(list) > maxCommentMentions {
			ve.add("comment.mentions", kintone.MsgMaxItems, maxCommentMentions)
		}
		for i, x := range list {
			m, ok := x.(map[string]any)
			if !ok {
				return nil, errJSON(c.lang)
			}
			code, _ := scalarText(m["code"])
			typ, _ := scalarText(m["type"])
			key := "comment.mentions[" + strconv.Itoa(i) + "]"
			switch {
			case code == "":
				ve.add(key+".code", kintone.MsgRequiredParam)
			case typ != "USER" && typ != "GROUP" && typ != "ORGANIZATION":
				ve.add(key+".type", kintone.MsgEnum, "USER, GROUP, ORGANIZATION")
			}
			mentions = append(mentions, SeedMention{Code: code, Type: typ})
		}
	}
	if ve.failed() {
		return nil, ve.err
	}
	full, kerr := c.mentionText(text, mentions)
	if kerr != nil {
		return nil, kerr
	}
	id := c.st.addComment(a, r.id, &comment{text: full, createdAt: c.now, creator: c.entity(), mentions: mentions})
	return map[string]string{"id": strconv.FormatInt(id, 10)}, nil
}

// mentionText prepends the mentioned names to the text, as kintone stores
// mentions: "name1 name2 \ntext" (format as in kintone's samples).
func (c *call) mentionText(text string, mentions []SeedMention) (string, *kintone.Error) {
	if len(mentions) == 0 {
		return text, nil
	}
	names := make([]string, 0, len(mentions))
	for _, m := range mentions {
		typ := map[string]string{"USER": "USER_SELECT", "GROUP": "GROUP_SELECT", "ORGANIZATION": "ORGANIZATION_SELECT"}[m.Type]
		name, ok := c.st.entityName(typ, m.Code)
		if !ok {
			return "", kintone.NewError("GAIA_IL26", c.lang, m.Code)
		}
		names = append(names, name)
	}
	return strings.Join(names, " ") + " \n" + text, nil
}

// DELETE record/comment.json
func deleteComment(c *call) (any, *kintone.Error) {
	a, r, err := c.commentTarget()
	if err != nil {
		return nil, err
	}
	ve := &verrs{lang: c.lang}
	id, ok := c.p.required("comment", ve)
	if !ok {
		return nil, ve.err
	}
	t := c.st.data[a.id].comments[r.id]
	var found *comment
	if t != nil {
		for _, cm := range t.list {
			if cm.id == id {
				found = cm
			}
		}
	}
	if found == nil {
		return nil, kintone.NewError("GAIA_RE02", c.lang)
	}
	if found.creator.code != c.entity().code {
		return nil, kintone.NewError("GAIA_RE03", c.lang)
	}
	c.st.removeComment(a, r.id, id)
	return map[string]any{}, nil
}

// addComment stores a comment with the record's next comment id.
func (s *state) addComment(a *app, rec int64, cm *comment) int64 {
	d := s.data[a.id]
	t := d.comments[rec]
	if t == nil {
		t = &thread{next: 1}
		d.comments[rec] = t
	}
	if cm.id == 0 {
		cm.id = t.next
	}
	if cm.id >= t.next {
		t.next = cm.id + 1
	}
	t.list = append(t.list, cm)
	s.logUndo(func() { t.list = t.list[:len(t.list)-1] })
	s.noteComment(a, rec, cm)
	return cm.id
}

func (s *state) removeComment(a *app, rec, id int64) {
	t := s.data[a.id].comments[rec]
	old := t.list
	list := make([]*comment, 0, len(old))
	for _, cm := range old {
		if cm.id != id {
			list = append(list, cm)
		}
	}
	t.list = list
	s.logUndo(func() { t.list = old })
}

// dropThread forgets a deleted record's comments.
func (s *state) dropThread(a *app, rec int64) {
	d := s.data[a.id]
	if t, ok := d.comments[rec]; ok {
		delete(d.comments, rec)
		s.logUndo(func() { d.comments[rec] = t })
	}
}
