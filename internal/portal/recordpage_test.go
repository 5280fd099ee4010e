package portal

import (
	"net/http"
	"strings"
	"testing"

	"github.com/kgate/kgate/internal/kintonesim"
)

// pageReads is what one page view asked kintone for: the reads of the
// record, the comments reads, and anything else (the app's form, layout
// and process settings are kept from the first view).
type pageReads struct {
	records, comments int
	other             []string
}

// view opens target as who once to warm the app's form, layout and process
// caches, then again, and returns what the second view asked kintone for.
func (w *world) view(t *testing.T, who string, target string) (*response, pageReads) {
	t.Helper()
	if r := w.get(t, demoMember(who), target, "Accept-Language", "en"); r.Code != http.StatusOK {
		t.Fatalf("%s: status %d", target, r.Code)
	}
	w.up.reset()
	r := w.get(t, demoMember(who), target, "Accept-Language", "en")
	var got pageReads
	for _, call := range w.up.taken() {
		switch call {
		case "GET records.json", "GET record.json":
			got.records++
		case "GET record/comments.json":
			got.comments++
		default:
			got.other = append(got.other, call)
		}
	}
	return r, got
}

func TestARecordPageReadsTheRecordOnce(t *testing.T) {
	w := newWorld(t)
	tests := []struct {
		name, who, target string
		comments          int
	}{
		{"gold partner: comments, files, edit, process actions", "alice", "/apps/budget/records/1", 1},
		{"gold partner, an older page of comments", "alice", "/apps/budget/records/1?comments=10", 1},
		{"silver partner: comments and files, no edit", "bob", "/apps/budget/records/2", 1},
		{"silver partner: no comment.read in the app", "bob", "/apps/documents/records/1", 0},
		{"gold partner: an app without comments or files", "alice", "/apps/schedule/records/1", 0},
		{"staff: everything of a record of any organization", "sam", "/apps/budget/records/9", 1},
		{"gold partner: the edit form", "alice", "/apps/budget/records/1/edit", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, got := w.view(t, tt.who, tt.target)
			if r.Code != http.StatusOK {
				t.Fatalf("status %d", r.Code)
			}
			if got.records != 1 || got.comments != tt.comments || len(got.other) > 0 {
				t.Errorf("%d record reads, %d comment reads, and %v; want 1 record read and %d comment reads",
					got.records, got.comments, got.other, tt.comments)
			}
		})
	}
}

// recordRules is a policy of the test's own over the demo's budget app:
// the member reads every record but not approved_amount or internal_note,
// may update only title, and actions and rules decide the rest.
func recordRules(actions, rules string) string {
	return `package kgate

allow if {
	input.app.alias == "budget"
	input.action in ` + actions + `
}

include if input.action == "read"

readable contains f if some f in {"title", "org", "purpose", "attachment", "Status", "Record_number"}

writable contains "title" if input.action == "update"
` + rules
}

// attachments are the files of the demo's budget requests, by record.
var attachments = map[string]string{"1": "quote-flyers.txt", "9": "booth-plan.pdf"}

func TestARecordPageJudgesEachActionOnTheRecordItRead(t *testing.T) {
	const amountComment = "A comment on an approved request"
	tests := []struct {
		name, policy, record      string
		comments, edit, downloads bool
	}{
		{"comment.read's rule holds on a field the member cannot read",
			recordRules(`{"read", "comment.read"}`, `include if {
	input.action == "comment.read"
	input.record.approved_amount >= 100000
}`), "3", true, false, false},
		{"comment.read's rule excludes the record",
			recordRules(`{"read", "comment.read"}`, `include if {
	input.action == "comment.read"
	input.record.approved_amount >= 100000
}`), "2", false, false, false},
		{"no comment.read at all", recordRules(`{"read"}`, ""), "2", false, false, false},
		{"update while a field the member cannot read has a value",
			recordRules(`{"read", "update"}`, `include if {
	input.action == "update"
	input.record.approved_amount != null
}`), "3", false, true, false},
		{"no update while that field is empty",
			recordRules(`{"read", "update"}`, `include if {
	input.action == "update"
	input.record.approved_amount != null
}`), "2", false, false, false},
		{"file.read refused", recordRules(`{"read"}`, ""), "1", false, false, false},
		{"file.read's rule excludes the record",
			recordRules(`{"read", "file.read"}`, `include if {
	input.action == "file.read"
	input.record.org == "bluebird"
}`), "1", false, false, false},
		{"file.read's rule includes the record",
			recordRules(`{"read", "file.read"}`, `include if {
	input.action == "file.read"
	input.record.org == "bluebird"
}`), "9", false, false, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := newWorldWith(t, worldOptions{rego: tt.policy, seed: func(s *kintonesim.Seed) {
				for i := range s.Apps {
					if s.Apps[i].Code == "budget" {
						s.Apps[i].Comments = append(s.Apps[i].Comments, kintonesim.SeedComment{Record: 3, Text: amountComment})
					}
				}
			}})
			r, got := w.view(t, "alice", "/apps/budget/records/"+tt.record)
			if got.records != 1 || len(got.other) > 0 {
				t.Errorf("%d record reads and %v, want one record read", got.records, got.other)
			}
			shown := strings.Contains(r.body, `id="comments"`)
			if shown != tt.comments || (got.comments == 1) != tt.comments || got.comments > 1 {
				t.Errorf("comments shown %v after %d comment reads, want shown %v", shown, got.comments, tt.comments)
			}
			for _, text := range []string{amountComment, "Received. We will review it this week."} {
				if !tt.comments && strings.Contains(r.body, text) {
					t.Errorf("the page shows the comment %q", text)
				}
			}
			if edit := strings.Contains(r.body, `href="/apps/budget/records/`+tt.record+`/edit"`); edit != tt.edit {
				t.Errorf("edit link %v, want %v", edit, tt.edit)
			}
			if links := fileLinkRE.MatchString(r.body); links != tt.downloads {
				t.Errorf("download links %v, want %v", links, tt.downloads)
			}
			if file := attachments[tt.record]; file != "" && !strings.Contains(r.body, ">"+file) {
				t.Errorf("the page does not name the file %s", file)
			}
			if edit := w.get(t, demoMember("alice"), "/apps/budget/records/"+tt.record+"/edit", "Accept-Language", "en"); (edit.Code == http.StatusOK) != tt.edit {
				t.Errorf("the edit form answers %d, while the page offers editing: %v", edit.Code, tt.edit)
			}
		})
	}
}
