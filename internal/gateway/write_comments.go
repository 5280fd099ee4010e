package gateway

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"go.uber.org/zap"

	"github.com/kgate/kgate/identity"
	"github.com/kgate/kgate/internal/audit"
	"github.com/kgate/kgate/internal/kintone"
)

// Comments. kintone sees every comment kgate posts as the API token's
// (kintone shows "Administrator"), so kgate writes who posted it into the
// text, on a line of its own no member can forge: CommentPrefix. Mentions are limited by the policy's mentions rule.
// A member may delete only comments they posted through kgate: kgate
// remembers who posted which comment (CommentAuthors: in Redis, shared by
// every instance and kept across restarts, or in this process); for any
// other comment — someone else's, or one kgate does not know — the answer
// is kintone's GAIA_RE03 for a comment posted by another user.

// Mention is one mention of a comment: a kintone user, group or
// organization code and its type (USER, GROUP or ORGANIZATION).
type Mention struct {
	Code string `json:"code"`
	Type string `json:"type"`
}

// AddCommentRequest is POST record/comment.json.
type AddCommentRequest struct {
	App      AppRef
	Record   string
	Text     string
	Mentions []Mention
}

// DeleteCommentRequest is DELETE record/comment.json.
type DeleteCommentRequest struct {
	App     AppRef
	Record  string
	Comment string
}

// Comment limits, as kintone's.
const (
	maxCommentText     = 65535
	maxCommentMentions = 10
)

// CommentPrefix is the line kgate writes first in a comment a member
// posts, naming who posted it: "【Name / Organization】". The name falls
// back to the e-mail address, then the subject; the organization is the
// member's attrs.org_name when it is a string, else the org code, and is
// left out (with its slash) when the member has none.
//
// The lenticular brackets are kgate's alone: in a name, an organization
// and in the member's own text (commentText) they become 〔 〕, and control
// characters become spaces, so no line a member writes can pass for kgate's
// attribution of someone else — in the portal or in kintone's own view,
// where every comment kgate posts shows the API token's user.
func CommentPrefix(id *identity.Identity) string {
	name := firstNonEmpty(id.Name, id.Email, id.Subject)
	org := id.Org
	if s, ok := id.Attrs["org_name"].(string); ok && s != "" {
		org = s
	}
	name, org = prefixPart(name), prefixPart(org)
	if org == "" {
		return "【" + name + "】\n"
	}
	return "【" + name + " / " + org + "】\n"
}

// commentText is what kgate posts for a member: the attribution line,
// then the member's text with kgate's brackets defused.
func commentText(id *identity.Identity, text string) string {
	return CommentPrefix(id) + defuse.Replace(text)
}

var defuse = strings.NewReplacer("【", "〔", "】", "〕")

// CommentAuthor reads the attribution kgate wrote into a comment: the
// member who posted it, and the text without the attribution line. A
// comment kgate did not write has none (ok is false). Only comments
// posted as the API token's user can be kgate's; the caller checks that.
func CommentAuthor(text string) (author, rest string, ok bool) {
	start := strings.Index(text, "【")
	if start < 0 || (start > 0 && text[start-1] != '\n') {
		return "", text, false
	}
	end := strings.Index(text[start:], "】\n")
	if end < 0 {
		return "", text, false
	}
	author = text[start+len("【") : start+end]
	rest = text[:start] + text[start+end+len("】\n"):]
	return author, rest, true
}

func firstNonEmpty(s ...string) string {
	for _, x := range s {
		if strings.TrimSpace(x) != "" {
			return x
		}
	}
	return ""
}

func prefixPart(s string) string {
	s = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) || r == '\u2028' || r == '\u2029' {
			return ' '
		}
		return r
	}, defuse.Replace(s))
	s = strings.Join(strings.Fields(s), " ")
	if utf8.RuneCountInString(s) > 100 {
		s = string([]rune(s)[:100])
	}
	return s
}

// AddComment posts a comment on a record the member may see (include, with
// action "comment.write"), prefixed with CommentPrefix, when the policy
// allows comment.write and every mention is in its mentions rule. It
// returns the comment's id.
func (g *Gateway) AddComment(ctx context.Context, id *identity.Identity, req AddCommentRequest) (string, error) {
	w := g.newWriter(ctx, id)
	ev := w.event("comment.write")
	cid, status, err := w.addComment(ctx, ev, req)
	w.finish(err, status)
	return cid, err
}

func (w *writer) addComment(ctx context.Context, ev *audit.Event, req AddCommentRequest) (string, int, error) {
	lang := w.id.Lang
	wa, err := w.app(ctx, req.App)
	if err != nil {
		return "", 0, err
	}
	ev.App, ev.RecordIDs = wa.Alias, []string{req.Record}
	if err := w.checkComment(req); err != nil {
		return "", 0, err
	}
	dec, err := w.allowed(ctx, ev, wa, "comment.write", "")
	if err != nil {
		return "", 0, err
	}
	var refused *kintone.Error
	for i, m := range req.Mentions {
		if !dec.Mentions.Has(m.Code) {
			if refused == nil {
				refused = denied(lang, nil)
			}
			refused.With("comment.mentions["+strconv.Itoa(i)+"].code", mentionMessage(lang))
		}
	}
	if refused != nil {
		ev.Outcome = "denied"
		return "", 0, refused
	}
	if err := w.commentTarget(ctx, ev, wa, req.Record); err != nil {
		return "", 0, err
	}
	mentions := req.Mentions
	if mentions == nil {
		mentions = []Mention{}
	}
	body := map[string]any{"app": wa.ID, "record": req.Record,
		"comment": map[string]any{"text": commentText(w.id, req.Text), "mentions": mentions}}
	resp, err := w.g.client.Do(ctx, kintone.Request{Method: http.MethodPost, API: "record/comment.json", GuestSpace: wa.GuestSpace,
		App: wa.ID, Tokens: wa.Tokens, Body: body, Lang: lang})
	if err != nil {
		return "", statusOf(err), w.commentError(ctx, err)
	}
	var out struct {
		ID string `json:"id"`
	}
	if json.Unmarshal(resp.Body, &out) != nil || out.ID == "" {
		return "", resp.Status, w.unknown(errMalformed)
	}
	if err := w.g.writes.comments.Remember(ctx, commentKey(wa.ID, req.Record, out.ID), author(w.id)); err != nil {
		// The comment stands; only its deletion through kgate is lost.
		w.g.log.Warn("who posted a comment could not be stored; the member cannot delete it through kgate",
			zap.String("app", wa.Alias), zap.String("record", req.Record), zap.String("comment", out.ID), zap.Error(err))
	}
	ev.Records = 1
	return out.ID, resp.Status, nil
}

func mentionMessage(lang string) string {
	if lang == "ja" {
		return "このユーザー、組織、またはグループをメンションすることはできません。"
	}
	return "You may not mention this user, organization or group."
}

// checkComment applies kintone's parameter rules to a new comment.
func (w *writer) checkComment(req AddCommentRequest) error {
	lang := w.id.Lang
	v := kintone.Invalid(lang)
	bad := false
	add := func(key, msg string) {
		v.With(key, msg)
		bad = true
	}
	if !validID(req.Record) {
		add("record", invalidIDMessage(lang))
	}
	switch {
	case strings.TrimSpace(req.Text) == "":
		add("comment.text", kintone.Message(kintone.MsgRequiredParam, lang))
	case utf8.RuneCountInString(commentText(w.id, req.Text)) > maxCommentText:
		add("comment.text", kintone.Message(kintone.MsgMaxLength, lang, maxCommentText+1-utf8.RuneCountInString(CommentPrefix(w.id))))
	}
	if len(req.Mentions) > maxCommentMentions {
		add("comment.mentions", kintone.Message(kintone.MsgMaxItems, lang, maxCommentMentions))
	}
	for i, m := range req.Mentions {
		key := "comment.mentions[" + strconv.Itoa(i) + "]"
		switch {
		case m.Code == "":
			add(key+".code", kintone.Message(kintone.MsgRequiredParam, lang))
		case m.Type != "USER" && m.Type != "GROUP" && m.Type != "ORGANIZATION":
			add(key+".type", kintone.Message(kintone.MsgEnum, lang, "USER, GROUP, ORGANIZATION"))
		}
	}
	if bad {
		return v
	}
	return nil
}

// commentTarget checks that the member may comment on the record.
func (w *writer) commentTarget(ctx context.Context, ev *audit.Event, wa *writeApp, record string) error {
	if err := w.load(ctx, wa, []string{record}, nil); err != nil {
		return err
	}
	cur := w.records[recordKey{wa.ID, record}]
	if cur == nil || cur.rec == nil {
		return notFound(w.id.Lang, record)
	}
	if !w.includes(ctx, wa, "comment.write", "", cur.rec) {
		return w.hidden(ctx, ev, wa, cur.rec, notFound(w.id.Lang, record))
	}
	return nil
}

// commentError passes on kintone's refusal of a comment call; its keys are
// the request's own parameters.
func (w *writer) commentError(ctx context.Context, err error) error {
	var ke *kintone.Error
	switch {
	case mayBeApplied(err):
		return w.unknown(err)
	case errors.As(err, &ke):
		return w.memberError(ctx, ke, nil, 0)
	}
	return upstreamError(err, w.id.Lang, nil)
}

// DeleteComment deletes a comment the member posted through kgate on a
// record they may see.
func (g *Gateway) DeleteComment(ctx context.Context, id *identity.Identity, req DeleteCommentRequest) error {
	w := g.newWriter(ctx, id)
	ev := w.event("comment.write")
	status, err := w.deleteComment(ctx, ev, req)
	w.finish(err, status)
	return err
}

func (w *writer) deleteComment(ctx context.Context, ev *audit.Event, req DeleteCommentRequest) (int, error) {
	lang := w.id.Lang
	wa, err := w.app(ctx, req.App)
	if err != nil {
		return 0, err
	}
	ev.App, ev.RecordIDs = wa.Alias, []string{req.Record}
	switch {
	case !validID(req.Record):
		return 0, kintone.Invalid(lang).With("record", invalidIDMessage(lang))
	case !validID(req.Comment):
		return 0, kintone.Invalid(lang).With("comment", invalidIDMessage(lang))
	}
	if _, err := w.allowed(ctx, ev, wa, "comment.write", ""); err != nil {
		return 0, err
	}
	if err := w.commentTarget(ctx, ev, wa, req.Record); err != nil {
		return 0, err
	}
	key := commentKey(wa.ID, req.Record, req.Comment)
	who, err := w.g.writes.comments.Author(ctx, key)
	if err != nil {
		w.g.log.Warn("who posted a comment could not be read", zap.Error(err))
		return 0, storeUnavailable(lang)
	}
	if who != author(w.id) {
		ev.Outcome = "denied"
		return 0, kintone.NewError("GAIA_RE03", lang)
	}
	resp, err := w.g.client.Do(ctx, kintone.Request{Method: http.MethodDelete, API: "record/comment.json", GuestSpace: wa.GuestSpace,
		App: wa.ID, Tokens: wa.Tokens, Body: map[string]any{"app": wa.ID, "record": req.Record, "comment": req.Comment}, Lang: lang})
	if err != nil {
		return statusOf(err), w.commentError(ctx, err)
	}
	if err := w.g.writes.comments.Forget(ctx, key); err != nil {
		w.g.log.Warn("a deleted comment's author could not be forgotten", zap.Error(err))
	}
	return resp.Status, nil
}
