package portal

import (
	"encoding/json"
	"html/template"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/kgate/kgate/internal/gateway"
	"github.com/kgate/kgate/internal/kintone"
)

// commentsPerPage is kintone's maximum per request.
const commentsPerPage = 10

// recordBody is the detail page.
type recordBody struct {
	App    appHeader
	Title  string
	Status string
	// StatusClass colours the status badge ("" for the default).
	StatusClass string
	Summary     *errorSummary // a refused comment
	Notice      *notice
	Actions     *recordActions // nil when the member may do nothing to the record
	Sections    []section
	Comments    *commentsView // nil when the member may not read comments
}

// notice is the message a write leaves on the page it leads to.
type notice struct {
	Text  string
	Alert bool // something the member must act on
}

// recordActions are the writes the policy allows on the record.
type recordActions struct {
	Edit, Delete string // links, "" when not allowed
	Process      *processForm
}

// processForm runs the process actions the member may run, pinned to the
// revision the page shows.
type processForm struct {
	Action, Token, Idem, Revision string
	Buttons                       []optionView
}

// commentForm posts a comment.
type commentForm struct {
	Action, Token, Idem string
	Text                string
	Errors              []string
}

// commentDraft is a comment the gateway refused, shown again.
type commentDraft struct {
	Text    string
	Errors  []string
	Idem    string
	Unknown bool
}

// recordNotices are the notices a redirect may ask for; the member's
// language has them, the URL only names them.
var recordNotices = map[string]bool{"created": false, "saved": false, "status": false, "commented": false, "stale": true}

// section is a group of the form (or the form's top level).
type section struct {
	ID      string
	Heading string
	Items   []item
}

// item is one entry of a section: a field, a label of the form, or a rule.
type item struct {
	Label string
	Value value
	Note  template.HTML // a LABEL element's sanitized HTML
	Rule  bool
	Wide  bool
}

type commentsView struct {
	Items        []commentView
	Unavailable  bool
	Older, Newer string
	Form         *commentForm // nil when the member may not comment
}

type commentView struct {
	Author, When, ISO, Text string
}

// record renders one record with its comments.
func (c *call) record(alias, recordID string) {
	c.recordPage(alias, recordID, nil, http.StatusOK)
}

// recordPage renders a record with its comments, the writes the member
// may make, and draft: a comment the gateway refused, shown again.
func (c *call) recordPage(alias, recordID string, draft *commentDraft, status int) {
	av, err := c.loadApp(alias)
	if err != nil {
		c.fail(err)
		return
	}
	offset := 0
	if s := c.r.URL.Query().Get("comments"); s != "" {
		if offset, err = strconv.Atoi(s); err != nil || offset < 0 || offset > 1<<20 {
			c.badRequest(c.loc.T("record.bad.comments", s))
			return
		}
	}
	// The page stands without its comments: they go first when the app's
	// daily budget runs short.
	page, err := c.h.gw.RecordPage(c.ctx, c.id, gateway.RecordPageRequest{App: av.ref, Record: recordID,
		Comments: &gateway.CommentsPage{Order: "desc", Offset: offset, Limit: commentsPerPage, Priority: kintone.PriorityLow}})
	if err != nil {
		c.fail(err)
		return
	}
	var rec kintone.Record
	if err := json.Unmarshal(page.Record, &rec); err != nil {
		c.fail(err)
		return
	}
	ab := &page.Abilities
	name, desc := c.appName(av)
	body := &recordBody{App: c.appHeader(av, name, desc, "")}
	r := c.renderer(av)
	if !ab.Download {
		r.files = nil // the files are named, not offered
	}
	body.Title = c.recordTitle(av, r, rec)
	body.Sections = c.sections(av, r, rec)
	for code, p := range av.props {
		if p.Type == "STATUS" {
			body.Status = stringValue(rec[code])
			body.StatusClass = c.h.statusClass(alias, body.Status)
		}
	}
	if key := c.r.URL.Query().Get("notice"); draft == nil {
		if alert, ok := recordNotices[key]; ok {
			body.Notice = &notice{Text: c.loc.T("notice." + key), Alert: alert}
		}
	}
	body.Actions = c.recordActions(alias, recordID, stringValue(rec["$revision"]), ab)
	if ab.ReadComments {
		body.Comments = c.commentsView(alias, recordID, offset, page.Comments, page.CommentsErr)
	}
	if body.Comments != nil && ab.Comment {
		f := &commentForm{Action: recordPath(alias, recordID) + "/comments", Token: c.formToken(), Idem: newKey()}
		if draft != nil {
			f.Text, f.Errors = draft.Text, draft.Errors
			if !draft.Unknown {
				f.Idem = draft.Idem
			}
		}
		body.Comments.Form = f
	}
	title := body.Title
	if draft != nil && len(draft.Errors) > 0 {
		title = c.loc.T("form.error.title", title)
		var items []formError
		for _, m := range draft.Errors {
			items = append(items, formError{Href: "#comment-text", Text: c.loc.T("form.error.line", c.loc.T("comments.new"), m)})
		}
		body.Summary = c.errorSummary(items)
	}
	c.render(status, "record", c.newPage(title, body,
		crumb{Label: name, Href: appPath(alias)}, crumb{Label: body.Title}))
}

// recordActions offers the writes ab allows.
func (c *call) recordActions(alias, recordID, revision string, ab *gateway.Abilities) *recordActions {
	a := &recordActions{}
	base := recordPath(alias, recordID)
	if ab.Update {
		a.Edit = base + "/edit"
	}
	if ab.Delete {
		a.Delete = base + "/delete"
	}
	if len(ab.Actions) > 0 {
		f := &processForm{Action: base + "/status", Token: c.formToken(), Idem: newKey(), Revision: revision}
		for _, name := range ab.Actions {
			f.Buttons = append(f.Buttons, optionView{Value: name, Label: c.loc.Action(name)})
		}
		a.Process = f
	}
	if a.Edit == "" && a.Delete == "" && a.Process == nil {
		return nil
	}
	return a
}

// recordTitle is the title field's value, or "#id".
func (c *call) recordTitle(av *appView, r *renderer, rec kintone.Record) string {
	if av.title != "" {
		if t := textOf(r.render(rec[av.title], av.props[av.title], true)); t != "" {
			return t
		}
	}
	return c.loc.T("record.untitled", stringValue(rec["$id"]))
}

// sections lays the record out as its form does: top-level rows, then a
// section per group, then the fields the layout does not place (kintone's
// system fields) under their own heading, when they hold something.
func (c *call) sections(av *appView, r *renderer, rec kintone.Record) []section {
	top := section{ID: "s0"}
	var groups []section
	placed := map[string]bool{}
	var add func(s *section, items []layoutItem)
	add = func(s *section, items []layoutItem) {
		for _, it := range items {
			switch it.Type {
			case "ROW":
				add(s, it.Fields)
				continue
			case "GROUP":
				g := section{ID: "s" + strconv.Itoa(len(groups)+1), Heading: av.label(it.Code)}
				add(&g, it.Layout)
				if len(g.Items) > 0 {
					groups = append(groups, g)
				}
				continue
			case "LABEL":
				if note := c.h.rich.sanitize(it.Label); note != "" {
					s.Items = append(s.Items, item{Note: note, Wide: true})
				}
				continue
			case "HR":
				s.Items = append(s.Items, item{Rule: true, Wide: true})
				continue
			}
			p, ok := av.props[it.Code]
			if !ok || !shown(p.Type) || p.Type == "STATUS" || placed[it.Code] {
				continue
			}
			placed[it.Code] = true
			s.Items = append(s.Items, c.fieldItem(av, r, rec, it.Code))
		}
	}
	add(&top, av.layout)
	out := []section{}
	if len(top.Items) > 0 {
		out = append(out, top)
	}
	out = append(out, groups...)
	info := section{ID: "info", Heading: c.loc.T("record.info")}
	for _, code := range av.order {
		if !placed[code] && av.props[code].Type != "STATUS" {
			if it := c.fieldItem(av, r, rec, code); it.Value.Kind != "empty" {
				info.Items = append(info.Items, it)
			}
		}
	}
	if len(info.Items) > 0 {
		out = append(out, info)
	}
	return out
}

func (c *call) fieldItem(av *appView, r *renderer, rec kintone.Record, code string) item {
	p := av.props[code]
	v := r.render(rec[code], p, false)
	return item{Label: av.label(code), Value: v, Wide: v.Kind == "table" || v.Kind == "rich" || v.Kind == "multiline"}
}

// apiTokenUser is who kintone says acted through an API token: kgate's own
// comments, whose author kgate wrote into the text.
const apiTokenUser = "Administrator"

// commentsView shows the comments the member may read; a failure says
// they could not be loaded without failing the page.
func (c *call) commentsView(alias, recordID string, offset int, cs *gateway.Comments, err error) *commentsView {
	if err != nil {
		return &commentsView{Unavailable: true}
	}
	v := &commentsView{}
	for _, cm := range cs.Comments {
		var who entity
		_ = json.Unmarshal(cm.Creator, &who)
		cv := commentView{Author: who.display(), Text: cm.Text, ISO: cm.CreatedAt, When: c.loc.DateTime(cm.CreatedAt)}
		if who.Code == apiTokenUser {
			cv.Author = c.loc.T("record.via_portal") // never the token user's name
			if author, rest, ok := gateway.CommentAuthor(cm.Text); ok {
				cv.Author, cv.Text = author, strings.TrimRight(rest, "\n")
			}
		}
		if t, err := time.Parse(time.RFC3339, cm.CreatedAt); err == nil {
			cv.ISO = t.UTC().Format(time.RFC3339)
		}
		v.Items = append(v.Items, cv)
	}
	base := recordPath(alias, recordID)
	if cs.Older {
		v.Older = base + "?comments=" + strconv.Itoa(offset+commentsPerPage) + "#comments"
	}
	if offset > 0 {
		v.Newer = base + "#comments"
		if n := offset - commentsPerPage; n > 0 {
			v.Newer = base + "?comments=" + strconv.Itoa(n) + "#comments"
		}
	}
	return v
}
