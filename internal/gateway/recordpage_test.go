package gateway_test

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"

	"github.com/kgate/kgate/identity"
	"github.com/kgate/kgate/internal/gateway"
	"github.com/kgate/kgate/internal/testworld"
)

// since returns the upstream calls made after the first n.
func (u *upstream) since(n int) []string {
	u.mu.Lock()
	defer u.mu.Unlock()
	return append([]string(nil), u.calls[n:]...)
}

func (u *upstream) made() int {
	u.mu.Lock()
	defer u.mu.Unlock()
	return len(u.calls)
}

// withoutFileKeys decodes a record with its file tokens blanked: tokens
// are sealed afresh on every read.
func withoutFileKeys(t *testing.T, raw json.RawMessage) any {
	t.Helper()
	var v any
	if err := json.Unmarshal(raw, &v); err != nil {
		t.Fatal(err)
	}
	var blank func(any)
	blank = func(v any) {
		switch x := v.(type) {
		case map[string]any:
			for k, inner := range x {
				if k == "fileKey" {
					x[k] = ""
					continue
				}
				blank(inner)
			}
		case []any:
			for _, inner := range x {
				blank(inner)
			}
		}
	}
	blank(v)
	return v
}

func TestRecordPageIsGetRecordAndListCommentsFromOneRead(t *testing.T) {
	e := newWriteEnv(t)
	tests := []struct {
		name   string
		who    *identity.Identity
		app    gateway.AppRef
		record string
	}{
		{"gold partner, a draft with a comment and a file", alice, budget, "1"},
		{"silver partner, the same draft", bob, budget, "1"},
		{"staff, a submitted request", sam, budget, "5"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cp := gateway.CommentsPage{Order: "desc", Limit: 10}
			n, events := e.up.made(), len(e.events())
			page, err := e.gw.RecordPage(e.ctx, tt.who, gateway.RecordPageRequest{App: tt.app, Record: tt.record, Comments: &cp})
			if err != nil {
				t.Fatal(err)
			}
			reads, comments := 0, 0
			for _, c := range e.up.since(n) {
				switch {
				case strings.HasSuffix(c, "/records.json"):
					reads++
				case strings.HasSuffix(c, "/record/comments.json"):
					comments++
				}
			}
			if reads != 1 || comments != 1 {
				t.Errorf("%d record reads and %d comment reads, want one of each", reads, comments)
			}
			if !page.Abilities.ReadComments || !page.Abilities.Download {
				t.Errorf("ReadComments %v, Download %v; want both", page.Abilities.ReadComments, page.Abilities.Download)
			}
			audit := e.events()[events:]
			if len(audit) != 2 || audit[0]["action"] != "read" || audit[1]["action"] != "comment.read" ||
				audit[0]["policy_version"] != audit[1]["policy_version"] || audit[0]["outcome"] != "ok" || audit[1]["outcome"] != "ok" {
				t.Errorf("audit events %v, want a read and a comment.read under one policy version", audit)
			}
			rec, err := e.gw.GetRecord(e.ctx, tt.who, tt.app, tt.record)
			if err != nil {
				t.Fatal(err)
			}
			if got, want := withoutFileKeys(t, page.Record), withoutFileKeys(t, rec); !reflect.DeepEqual(got, want) {
				t.Errorf("record\n%s\nwant what GetRecord answers\n%s", page.Record, rec)
			}
			list, err := e.gw.ListComments(e.ctx, tt.who, gateway.CommentsRequest{App: tt.app, Record: tt.record, CommentsPage: cp})
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(page.Comments, list) {
				t.Errorf("comments %+v, want what ListComments answers: %+v", page.Comments, list)
			}
		})
	}
}

func TestRecordPageAsksForNoCommentsUnlessTheyAreWanted(t *testing.T) {
	e := newWriteEnv(t)
	n := e.up.made()
	page, err := e.gw.RecordPage(e.ctx, alice, gateway.RecordPageRequest{App: budget, Record: "1"})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range e.up.since(n) {
		if strings.HasSuffix(c, "/record/comments.json") {
			t.Errorf("comments were read: %v", e.up.since(n))
		}
	}
	if page.Comments != nil || page.CommentsErr != nil || !page.Abilities.ReadComments {
		t.Errorf("comments %v (%v), ReadComments %v", page.Comments, page.CommentsErr, page.Abilities.ReadComments)
	}
}

// Under a policy whose rules differ by action, the page offers comments
// and files exactly where ListComments and DownloadFile answer.
func TestRecordPageJudgesCommentsAndFilesByTheirOwnRules(t *testing.T) {
	e := exactEnv(t, perActionPolicy, nil)
	alice, bob := testworld.Identities["alice"], testworld.Identities["bob"]
	// The world seeds comments on records 1, 4, 7, … and a file on 1 and 51.
	e.setFields(t, "1", map[string]any{"org": "acme", "priority": "low", "shared": "no"})
	e.setFields(t, "4", map[string]any{"org": "acme", "priority": "high", "shared": "no"})
	e.setFields(t, "51", map[string]any{"org": "acme", "priority": "low", "shared": "yes"})
	tests := []struct {
		name               string
		who                *identity.Identity
		record             string
		files              int
		comments, download bool
	}{
		{"comment.read and file.read exclude the record", alice, "1", 1, false, false},
		{"comment.read includes it", alice, "4", 0, true, false},
		{"file.read includes it", alice, "51", 1, false, true},
		{"neither is allowed at all", bob, "4", 0, false, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			page, err := e.gw.RecordPage(e.ctx, tt.who, gateway.RecordPageRequest{App: orders, Record: tt.record,
				Comments: &gateway.CommentsPage{}})
			if err != nil {
				t.Fatal(err)
			}
			ab := page.Abilities
			if ab.ReadComments != tt.comments || ab.Download != tt.download {
				t.Errorf("ReadComments %v, Download %v; want %v, %v", ab.ReadComments, ab.Download, tt.comments, tt.download)
			}
			list, err := e.gw.ListComments(e.ctx, tt.who, gateway.CommentsRequest{App: orders, Record: tt.record})
			if (err == nil) != ab.ReadComments || (page.Comments != nil) != ab.ReadComments {
				t.Errorf("ListComments answers %v, the page holds comments %v, ReadComments %v", err, page.Comments, ab.ReadComments)
			}
			if ab.ReadComments && !reflect.DeepEqual(page.Comments, list) {
				t.Errorf("comments %+v, want %+v", page.Comments, list)
			}
			var files []struct{ FileKey string }
			json.Unmarshal(decode(t, page.Record)["attachment"].Value, &files)
			if len(files) != tt.files {
				t.Fatalf("%d files, want %d", len(files), tt.files)
			}
			for _, f := range files {
				if _, err := download(e, tt.who, f.FileKey); (err == nil) != ab.Download {
					t.Errorf("the download answers %v, Download %v", err, ab.Download)
				}
			}
		})
	}
}
