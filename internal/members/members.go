// Package members reads the operator's members app in kintone: who may use
// kgate, at which level and for which organization. Operators manage
// thousands of partners there in bulk, with kintone's own tools; kgate only
// looks members up, and adds an unknown person as pending when configured to.
package members

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strings"

	"github.com/kgate/kgate/internal/auth"
	"github.com/kgate/kgate/internal/kintone"
	"github.com/kgate/kgate/internal/kql"
	"github.com/kgate/kgate/membersconfig"
)

// Fields names the members app's fields (see membersconfig).
type Fields = membersconfig.Fields

// withDefaults fills the empty codes of f with the defaults.
func withDefaults(f *Fields) {
	def := func(p *string, v string) {
		if *p == "" {
			*p = v
		}
	}
	def(&f.Email, "email")
	def(&f.Subject, "sub")
	def(&f.Name, "name")
	def(&f.Org, "org")
	def(&f.Level, "level")
	def(&f.State, "state")
}

// Directory is a members app, read with the operator's API token through
// kgate's one upstream client (so lookups count against the same
// concurrency cap and daily budget as everything else; lookups use the
// cap's member share).
type Directory struct {
	client *kintone.Client
	app    string
	space  string
	tokens []string
	fields Fields
}

// New returns the directory of the members app app (kintone app id) in
// guest space space ("" for none).
func New(client *kintone.Client, app, space string, tokens []string, fields Fields) *Directory {
	withDefaults(&fields)
	return &Directory{client: client, app: app, space: space, tokens: tokens, fields: fields}
}

var _ auth.MemberDirectory = (*Directory)(nil)

// Lookup finds the member whose e-mail or subject equals value. Two
// members with the same key is an operator's mistake kgate will not guess
// around.
func (d *Directory) Lookup(ctx context.Context, by, value string) (*auth.Member, error) {
	field := d.fields.Email
	if by == auth.BySubject {
		field = d.fields.Subject
	}
	two := 2
	q := &kql.Query{Where: &kql.Cond{Field: field, Op: kql.Eq, Values: []kql.Value{{Kind: kql.String, Text: value}}}, Limit: &two}
	// A lookup decides whether a member gets in at all: it has its own
	// share of the cap rather than waiting behind everyone's reads.
	recs, err := d.records(ctx, q, kintone.Request{Priority: kintone.PriorityMember})
	if err != nil {
		return nil, err
	}
	switch len(recs) {
	case 0:
		return nil, nil
	case 1:
		return d.member(recs[0]), nil
	}
	return nil, fmt.Errorf("members app: more than one member has %s %q", field, value)
}

// records reads the members app's records q selects; req brings the
// read's priority and freshness, the rest is filled in here.
func (d *Directory) records(ctx context.Context, q *kql.Query, req kintone.Request) ([]kintone.Record, error) {
	req.Method, req.API, req.GuestSpace, req.App, req.Tokens = "GET", "records.json", d.space, d.app, d.tokens
	req.Params = url.Values{"app": {d.app}, "query": {q.String()}}
	resp, err := d.client.Do(ctx, req)
	if err != nil {
		return nil, fmt.Errorf("members app: %w", err)
	}
	var page struct {
		Records []kintone.Record `json:"records"`
	}
	if err := json.Unmarshal(resp.Body, &page); err != nil {
		return nil, fmt.Errorf("members app: %w", err)
	}
	return page.Records, nil
}

func (d *Directory) member(r kintone.Record) *auth.Member {
	m := &auth.Member{
		Email: text(r[d.fields.Email]), Subject: text(r[d.fields.Subject]), Name: text(r[d.fields.Name]),
		Org: text(r[d.fields.Org]), Level: text(r[d.fields.Level]), State: text(r[d.fields.State]),
	}
	if d.fields.Groups != "" {
		json.Unmarshal(r[d.fields.Groups].Value, &m.Groups)
	}
	return m
}

// text reads a text or single-choice value; an unset choice is "".
func text(fv kintone.FieldValue) string {
	var s string
	json.Unmarshal(fv.Value, &s)
	return s
}

// Subscriber is an active member as notifications need them: the member
// and their e-mail preferences.
type Subscriber struct {
	auth.Member
	Lang      string // "ja", "en" or "" (the portal's default)
	NotifyOff bool   // opted out of notifications
	Digest    bool   // one e-mail per digest period instead of one per change
}

// listPage is how many members one request of Active reads: kintone's
// most.
const listPage = 500

// Active returns every active member of the app, in record order, a page
// of 500 a request.
func (d *Directory) Active(ctx context.Context) ([]Subscriber, error) {
	var out []Subscriber
	last := "0"
	for {
		limit := listPage
		q := &kql.Query{
			Where: &kql.And{Terms: []kql.Expr{
				&kql.Cond{Field: d.fields.State, Op: kql.In, Values: []kql.Value{{Kind: kql.String, Text: auth.MemberActive}}},
				&kql.Cond{Field: "$id", Op: kql.Gt, Values: []kql.Value{{Kind: kql.Number, Text: last}}},
			}},
			OrderBy: []kql.SortKey{{Field: "$id", Dir: kql.Asc}},
			Limit:   &limit,
		}
		recs, err := d.records(ctx, q, kintone.Request{})
		if err != nil {
			return nil, err
		}
		for _, r := range recs {
			out = append(out, d.subscriber(r))
		}
		if len(recs) < listPage {
			return out, nil
		}
		last = text(recs[len(recs)-1]["$id"])
	}
}

func (d *Directory) subscriber(r kintone.Record) Subscriber {
	s := Subscriber{Member: *d.member(r)}
	if d.fields.Lang != "" {
		if l := text(r[d.fields.Lang]); l == "ja" || l == "en" {
			s.Lang = l
		}
	}
	s.NotifyOff = d.fields.NotifyOff != "" && yes(r[d.fields.NotifyOff])
	s.Digest = d.fields.Digest != "" && yes(r[d.fields.Digest])
	return s
}

// yes reads a switch: a check box with any option checked, or a choice or
// text saying yes.
func yes(fv kintone.FieldValue) bool {
	var list []string
	if json.Unmarshal(fv.Value, &list) == nil {
		return len(list) > 0
	}
	switch strings.ToLower(strings.TrimSpace(text(fv))) {
	case "yes", "on", "true", "1":
		return true
	}
	return false
}

// AddPending adds m as a pending member for an operator to approve.
func (d *Directory) AddPending(ctx context.Context, m auth.Member) error {
	if m.Email == "" && m.Subject == "" {
		return errors.New("members app: a pending member needs an e-mail address or a subject")
	}
	record := map[string]any{
		d.fields.Email:   map[string]any{"value": m.Email},
		d.fields.Subject: map[string]any{"value": m.Subject},
		d.fields.Name:    map[string]any{"value": m.Name},
		d.fields.State:   map[string]any{"value": auth.MemberPending},
	}
	_, err := d.client.Do(ctx, kintone.Request{Method: "POST", API: "record.json", GuestSpace: d.space, App: d.app,
		Tokens: d.tokens, Body: map[string]any{"app": d.app, "record": record}})
	if err != nil {
		return fmt.Errorf("members app: adding %s as pending: %w", m.Email, err)
	}
	return nil
}
