package gateway

import (
	"context"
	"errors"

	"github.com/kgate/kgate/internal/kintone"
	"github.com/kgate/kgate/internal/kql"
)

// kintone's like and not like on an attachment field match the files'
// names and their contents. A condition on file contents therefore reads
// the files, and needs the file.read rule as well as read's: the file.read
// rule is and-ed next to every such condition, so that the condition holds
// on no record whose files the member may not read, whatever those files
// hold — for like and for not like alike. A member whose policy refuses
// file.read outright cannot search files at all; one whose file.read rule
// includes no record finds nothing by a file search.

// fileSearch applies the file.read rule to the file searches of q.
func (g *Gateway) fileSearch(ctx context.Context, p *readPlan, q *kql.Query) error {
	if q.Where == nil || !searchesFiles(p.form, q.Where) {
		return nil
	}
	in := input(p.id, p.app, "file.read")
	if _, err := g.decide(ctx, p.view, p.id, p.app, in); isDenied(err) {
		return fileSearchRefused(p.id.Lang)
	} else if err != nil {
		return err
	}
	rr, err := g.rowRule(ctx, p, in)
	if err != nil {
		return err
	}
	switch {
	case rr.Never:
		q.Where = withFileRule(p.form, q.Where, noRecord)
	case rr.Cond != nil:
		q.Where = withFileRule(p.form, q.Where, rr.Cond)
	}
	return nil // no condition: the member may read the files of every record
}

// noRecord is a condition no record satisfies: kintone's record ids start
// at 1.
var noRecord = &kql.Cond{Field: "$id", Op: kql.Lt, Values: []kql.Value{{Kind: kql.Number, Text: "1"}}}

func isDenied(err error) bool {
	var ke *kintone.Error
	return errors.As(err, &ke) && ke.Code == "CB_NO02"
}

func fileSearchRefused(lang string) *kintone.Error {
	msg := "Attachments cannot be searched: you may not read this app's files."
	if lang == "ja" {
		msg = "このアプリの添付ファイルを閲覧する権限がないため、添付ファイルでは検索できません。"
	}
	return kintone.Invalid(lang).With("query", msg)
}

func isFileSearch(f *form, c *kql.Cond) bool {
	return (c.Op == kql.Like || c.Op == kql.NotLike) && f.types[c.Field] == "FILE"
}

func searchesFiles(f *form, e kql.Expr) bool {
	switch e := e.(type) {
	case *kql.Cond:
		return isFileSearch(f, e)
	case *kql.And:
		for _, t := range e.Terms {
			if searchesFiles(f, t) {
				return true
			}
		}
	case *kql.Or:
		for _, t := range e.Terms {
			if searchesFiles(f, t) {
				return true
			}
		}
	}
	return false
}

// withFileRule returns e with rule and-ed next to each file search. Inside
// an and the rule joins that and as one more term, so that conditions on
// one table stay together (kintone holds the conditions of an and on one
// table to the same row).
func withFileRule(f *form, e kql.Expr, rule kql.Expr) kql.Expr {
	switch e := e.(type) {
	case *kql.Cond:
		if isFileSearch(f, e) {
			return &kql.And{Terms: []kql.Expr{e, rule}}
		}
		return e
	case *kql.Or:
		terms := make([]kql.Expr, len(e.Terms))
		for i, t := range e.Terms {
			terms[i] = withFileRule(f, t, rule)
		}
		return &kql.Or{Terms: terms}
	case *kql.And:
		terms := make([]kql.Expr, 0, len(e.Terms)+1)
		found := false
		for _, t := range e.Terms {
			if c, ok := t.(*kql.Cond); ok && isFileSearch(f, c) {
				found = true
				terms = append(terms, c)
				continue
			}
			terms = append(terms, withFileRule(f, t, rule))
		}
		if found {
			terms = append(terms, rule)
		}
		return &kql.And{Terms: terms}
	}
	return e
}
