package portal

import (
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"reflect"
	"sort"
	"strings"
	"sync"
	"testing"
)

// inputNames are the names of the form's controls that carry a field.
func inputNames(f *pageForm) []string {
	var out []string
	for k := range f.values {
		if !strings.HasPrefix(k, "_") && k != "revision" && !strings.HasPrefix(k, "t.items.") && !strings.HasPrefix(k, "n.") && !strings.HasPrefix(k, "z.") {
			out = append(out, k)
		}
	}
	sort.Strings(out)
	return out
}

func TestFormsOfferOnlyTheFieldsTheMemberMayWrite(t *testing.T) {
	w := newWorld(t)
	b := w.browser("alice", "en")
	tests := []struct {
		name, page, action string
		inputs             []string
		shown, absent      []string
	}{
		{"create: writable fields, no presets", "/apps/budget/new", "/apps/budget/new",
			[]string{"f.amount", "f.category", "f.purpose", "f.title", "l.attachment", "t.items"},
			nil, []string{"Organization", "Requested by", "Approved amount", "Internal note", "internal_note"}},
		{"edit: writable fields; the other readable ones as they are", "/apps/budget/records/1/edit", "/apps/budget/records/1/edit",
			[]string{"f.amount", "f.category", "f.purpose", "f.title", "k.attachment", "l.attachment", "t.items"},
			[]string{`<span class="label">Organization</span>`, `<span class="label">Requested by</span>`, "alice@acme.example",
				`<span class="label">Approved amount</span>`},
			[]string{"Internal note", "internal_note", `name="f.org"`, `name="f.requested_by"`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := b.get(t, tt.page)
			if r.Code != http.StatusOK {
				t.Fatalf("status %d:\n%s", r.Code, r.body)
			}
			f := formOf(t, r.body, tt.action)
			if got := inputNames(f); !reflect.DeepEqual(got, tt.inputs) {
				t.Errorf("inputs %v, want %v", got, tt.inputs)
			}
			if f.enctype != "multipart/form-data" {
				t.Errorf("enctype %q: the form has a file input", f.enctype)
			}
			mustContain(t, r.body, tt.shown...)
			mustNotContain(t, r.body, tt.absent...)
		})
	}
}

func TestInputsFollowTheFieldsProperties(t *testing.T) {
	w := newWorld(t)
	r := w.browser("alice", "en").get(t, "/apps/budget/records/1/edit")
	mustContain(t, r.body,
		// required marks, hints, units
		`<label for="f-title">Title<span class="req" aria-hidden="true">*</span></label>`,
		`<p class="hint" id="f-title-hint">Up to 100 characters.</p><input type="text" id="f-title" name="f.title" value="Spring campaign flyers / 春のキャンペーンチラシ" aria-describedby="f-title-hint" aria-required="true">`,
		`<label for="f-amount">Amount<span class="visually-hidden"> (¥)</span><span class="req" aria-hidden="true">*</span></label>`,
		`<span class="unit" aria-hidden="true">¥</span><input type="text" inputmode="decimal" id="f-amount" name="f.amount" value="200000"`,
		// options from the form, the current one selected
		`<option value="marketing" selected>marketing</option><option value="event">event</option>`,
		// a text area keeps its first line break
		"<textarea id=\"f-purpose\" name=\"f.purpose\" rows=\"5\">\nIncrease awareness",
		// files kept unless unchecked, with a way to add more
		`<input type="checkbox" id="f-attachment-keep-0" name="k.attachment" value="`,
		`<label for="f-attachment">Attach files</label><input type="file" id="f-attachment" name="f.attachment" multiple>`,
		// table rows keep their ids; each cell is named by its column and row
		`<input type="text" id="t-items-0-item" name="t.items.0.item" value="Design / デザイン" aria-labelledby="t-items-h-item t-items-0-n">`,
		`<input type="checkbox" id="t-items-0-del" name="t.items.0.$del" value="1" aria-labelledby="t-items-rm t-items-0-n">`,
		// blank rows for more, without script
		`name="t.items.3.item"`,
		`<button type="button" class="add-row" hidden>Add a row</button>`,
		`<input type="hidden" name="revision" value="1">`)
	f := formOf(t, r.body, "/apps/budget/records/1/edit")
	if ids := f.values["t.items.0.$id"]; len(ids) != 1 || ids[0] == "" {
		t.Errorf("row ids %v", ids)
	}
}

func TestAGoldMemberCreatesABudgetRequest(t *testing.T) {
	w := newWorld(t)
	b := w.browser("alice", "en")
	before := w.count(t, budgetApp, "")
	f := formOf(t, b.get(t, "/apps/budget/new").body, "/apps/budget/new")
	f.values.Set("f.title", "Autumn fair")
	f.values.Set("f.amount", "１２０,０００")
	f.values.Set("f.category", "event")
	f.values.Set("f.purpose", "Meet customers.\r\nShow the new line.")
	f.values.Set("t.items.0.item", "Booth")
	f.values.Set("t.items.0.cost", "100000")
	f.values.Set("t.items.1.item", "Flyers")
	f.values.Set("t.items.1.cost", "20000")
	r := b.postMultipart(t, "/apps/budget/new", f.values)
	id := createdID(t, r)
	if !strings.HasSuffix(r.Header().Get("Location"), "?notice=created") {
		t.Errorf("Location %q", r.Header().Get("Location"))
	}
	if n := w.count(t, budgetApp, ""); n != before+1 {
		t.Fatalf("%d records, want %d", n, before+1)
	}
	got := w.stored(t, budgetApp, id)
	for code, want := range map[string]string{"title": "Autumn fair", "amount": "120000", "category": "event",
		"purpose": "Meet customers.\nShow the new line.", "org": "acme", "requested_by": "alice@acme.example", "Status": "Draft"} {
		if v := textValue(got, code); v != want {
			t.Errorf("%s = %q, want %q", code, v, want)
		}
	}
	var items []struct {
		Value map[string]struct{ Value string }
	}
	json.Unmarshal(got["items"].Value, &items)
	if len(items) != 2 || items[1].Value["item"].Value != "Flyers" || items[0].Value["cost"].Value != "100000" {
		t.Errorf("items %+v", items)
	}
	page := b.follow(t, r)
	mustContain(t, page.body, "<h1>Autumn fair</h1>", `<p class="notice" role="status">The record was created.</p>`)
	list := b.get(t, "/apps/budget?sort=title")
	mustContain(t, list.body, `href="/apps/budget/records/`+id+`"`, "Autumn fair", `<a class="button" href="/apps/budget/new">New record</a>`)
}

func TestASilverMemberGetsNoCreateButtonAndAForgedCreateIsRefused(t *testing.T) {
	w := newWorld(t)
	bob := w.browser("bob", "en")
	list := bob.get(t, "/apps/budget")
	mustNotContain(t, list.body, "/apps/budget/new")
	if r := bob.get(t, "/apps/budget/new"); r.Code != http.StatusForbidden {
		t.Errorf("create form: status %d", r.Code)
	}
	// A form bob never got, posted with his own valid token.
	token := formOf(t, bob.get(t, "/apps/budget/records/1").body, "/apps/budget/records/1/comments").values.Get(tokenField)
	before := w.count(t, budgetApp, "")
	r := bob.post(t, "/apps/budget/new", url.Values{tokenField: {token}, idemField: {newKey()},
		"f.title": {"forged"}, "f.amount": {"1"}})
	if r.Code != http.StatusForbidden {
		t.Fatalf("status %d:\n%s", r.Code, r.body)
	}
	mustContain(t, r.body, "your member level may not create in app")
	if n := w.count(t, budgetApp, ""); n != before {
		t.Errorf("%d records, want %d", n, before)
	}
}

func TestPresetsAreNotInputsAndCannotBeOverridden(t *testing.T) {
	w := newWorld(t)
	b := w.browser("alice", "en")
	f := formOf(t, b.get(t, "/apps/budget/new").body, "/apps/budget/new")
	f.values.Set("f.title", "Preset check")
	f.values.Set("f.amount", "10")
	f.values.Set("f.org", "bluebird")
	f.values.Set("f.requested_by", "mallory@evil.example")
	r := b.postMultipart(t, "/apps/budget/new", f.values)
	got := w.stored(t, budgetApp, createdID(t, r))
	if textValue(got, "org") != "acme" || textValue(got, "requested_by") != "alice@acme.example" {
		t.Errorf("org %q, requested_by %q: the presets must win", textValue(got, "org"), textValue(got, "requested_by"))
	}
}

func TestAFieldOutsideWritableIsRefusedAtTheFieldAndNothingIsWritten(t *testing.T) {
	w := newWorld(t)
	b := w.browser("alice", "en")
	f := formOf(t, b.get(t, "/apps/budget/new").body, "/apps/budget/new")
	f.values.Set("f.title", "Greedy")
	f.values.Set("f.amount", "10")
	f.values.Set("f.approved_amount", "999999")
	before := w.count(t, budgetApp, "")
	r := b.postMultipart(t, "/apps/budget/new", f.values)
	if r.Code != http.StatusForbidden {
		t.Fatalf("status %d", r.Code)
	}
	mustContain(t, r.body, `<div class="error-summary"`, "Approved amount: You may not change this field.")
	if n := w.count(t, budgetApp, ""); n != before {
		t.Errorf("%d records, want %d", n, before)
	}
}

func TestKintonesValidationErrorsAreShownAtTheFieldsInTheMembersLanguage(t *testing.T) {
	for _, tt := range []struct {
		lang, required, min, title, summary string
	}{
		{"en", "Required.", "The value must be 0 or more.", "<title>Error: New record | Partner Portal</title>", "There is a problem"},
		{"ja", "必須です。", "0以上である必要があります。", "<title>エラー：レコードの新規作成 | パートナーポータル</title>", "入力内容に問題があります"},
	} {
		t.Run(tt.lang, func(t *testing.T) {
			w := newWorld(t)
			b := w.browser("alice", tt.lang)
			f := formOf(t, b.get(t, "/apps/budget/new").body, "/apps/budget/new")
			f.values.Set("f.title", "")
			f.values.Set("f.amount", "-5")
			f.values.Set("f.purpose", "kept as typed")
			before := w.count(t, budgetApp, "")
			r := b.postMultipart(t, "/apps/budget/new", f.values)
			if r.Code != http.StatusBadRequest {
				t.Fatalf("status %d:\n%s", r.Code, r.body)
			}
			if n := w.count(t, budgetApp, ""); n != before {
				t.Errorf("%d records, want %d", n, before)
			}
			mustContain(t, r.body, tt.title, tt.summary,
				`<a href="#f-title">`, `<a href="#f-amount">`,
				`<p class="field-error" id="f-title-error">`, tt.required,
				`aria-describedby="f-title-hint f-title-error" aria-invalid="true"`,
				`<p class="field-error" id="f-amount-error">`, tt.min,
				`name="f.amount" value="-5"`, "kept as typed")
			// Corrected and sent again, the same form creates the record.
			f = formOf(t, r.body, "/apps/budget/new")
			f.values.Set("f.title", "Fixed")
			f.values.Set("f.amount", "5")
			createdID(t, b.postMultipart(t, "/apps/budget/new", f.values))
		})
	}
}

func TestAnEditKeepsTheFieldsTheMemberLeftAlone(t *testing.T) {
	w := newWorld(t)
	b := w.browser("alice", "en")
	before := w.stored(t, budgetApp, "1")
	f := formOf(t, b.get(t, "/apps/budget/records/1/edit").body, "/apps/budget/records/1/edit")
	f.values.Set("f.title", "Spring flyers, revised")
	// A browser sends text-area line breaks as CRLF.
	f.values.Set("f.purpose", strings.ReplaceAll(f.values.Get("f.purpose"), "\n", "\r\n"))
	r := b.postMultipart(t, "/apps/budget/records/1/edit", f.values)
	if r.Code != http.StatusSeeOther || r.Header().Get("Location") != "/apps/budget/records/1?notice=saved" {
		t.Fatalf("status %d, Location %q:\n%s", r.Code, r.Header().Get("Location"), r.body)
	}
	after := w.stored(t, budgetApp, "1")
	if textValue(after, "title") != "Spring flyers, revised" {
		t.Errorf("title %q", textValue(after, "title"))
	}
	for _, code := range []string{"amount", "category", "purpose", "org", "requested_by", "attachment", "items", "approved_amount"} {
		if !reflect.DeepEqual(before[code].Value, after[code].Value) {
			t.Errorf("%s changed: %s → %s", code, before[code].Value, after[code].Value)
		}
	}
	if textValue(after, "$revision") != "2" {
		t.Errorf("revision %s, want 2", textValue(after, "$revision"))
	}
	mustContain(t, b.follow(t, r).body, "Your changes were saved.")
}

func TestAConcurrentEditGivesAConflictAndWritesNothing(t *testing.T) {
	w := newWorld(t)
	b := w.browser("alice", "en")
	f := formOf(t, b.get(t, "/apps/budget/records/1/edit").body, "/apps/budget/records/1/edit")
	// Someone changes the record in kintone while alice edits it.
	if _, err := w.sim.EditRecord(budgetApp, 1, "", map[string]any{"amount": map[string]any{"value": "250000"}}); err != nil {
		t.Fatal(err)
	}
	f.values.Set("f.title", "Alice's title")
	r := b.postMultipart(t, "/apps/budget/records/1/edit", f.values)
	if r.Code != http.StatusConflict {
		t.Fatalf("status %d:\n%s", r.Code, r.body)
	}
	mustContain(t, r.body, "Someone else changed this record after you opened this form",
		`<a href="/apps/budget/records/1">Open the current version of the record</a>`,
		`value="Alice&#39;s title"`, `<input type="hidden" name="revision" value="1">`)
	got := w.stored(t, budgetApp, "1")
	if textValue(got, "title") == "Alice's title" || textValue(got, "amount") != "250000" {
		t.Errorf("title %q amount %q: the other change must stand", textValue(got, "title"), textValue(got, "amount"))
	}
	// Sending the shown form again conflicts again: it never overwrites.
	f = formOf(t, r.body, "/apps/budget/records/1/edit")
	if r := b.postMultipart(t, "/apps/budget/records/1/edit", f.values); r.Code != http.StatusConflict {
		t.Errorf("second try: status %d", r.Code)
	}
}

func TestProcessActionButtonsAreThoseThePolicyAllows(t *testing.T) {
	w := newWorld(t)
	tests := []struct {
		who, record string
		buttons     []string
	}{
		{"alice", "1", []string{"Submit"}},   // a draft
		{"alice", "2", []string{"Withdraw"}}, // submitted
		{"alice", "3", nil},                  // approved: no action from there
		{"bob", "1", nil},                    // silver
		{"sam", "2", []string{"Approve", "Reject"}},
	}
	for _, tt := range tests {
		r := w.browser(tt.who, "en").get(t, "/apps/budget/records/"+tt.record)
		var got []string
		if strings.Contains(r.body, `action="/apps/budget/records/`+tt.record+`/status"`) {
			got = formOf(t, r.body, "/apps/budget/records/"+tt.record+"/status").buttons["action"]
		}
		if !reflect.DeepEqual(got, tt.buttons) {
			t.Errorf("%s on %s: buttons %v, want %v", tt.who, tt.record, got, tt.buttons)
		}
	}
}

func TestAProcessActionRunsAtTheRevisionTheMemberSaw(t *testing.T) {
	w := newWorld(t)
	b := w.browser("alice", "en")
	f := formOf(t, b.get(t, "/apps/budget/records/5").body, "/apps/budget/records/5/status")
	// A forged action the page does not offer is refused.
	forged := url.Values{tokenField: f.values[tokenField], idemField: {newKey()}, "revision": f.values["revision"], "action": {"Approve"}}
	if r := b.post(t, "/apps/budget/records/5/status", forged); r.Code != http.StatusForbidden {
		t.Errorf("Approve by a partner: status %d", r.Code)
	}
	f.values.Set("action", "Submit")
	r := b.post(t, "/apps/budget/records/5/status", f.values)
	if r.Header().Get("Location") != "/apps/budget/records/5?notice=status" {
		t.Fatalf("status %d, Location %q:\n%s", r.Code, r.Header().Get("Location"), r.body)
	}
	if s := textValue(w.stored(t, budgetApp, "5"), "Status"); s != "Submitted" {
		t.Errorf("status %q", s)
	}
	page := b.follow(t, r)
	mustContain(t, page.body, `<span class="badge">Submitted</span>`, "The record moved on to its next step.")
	// The page before the change offered Submit at revision 1: the record
	// has moved on, and the stale form changes nothing.
	stale := url.Values{tokenField: f.values[tokenField], idemField: {newKey()}, "revision": f.values["revision"], "action": {"Withdraw"}}
	r = b.post(t, "/apps/budget/records/5/status", stale)
	if r.Header().Get("Location") != "/apps/budget/records/5?notice=stale" {
		t.Fatalf("stale action: status %d, Location %q", r.Code, r.Header().Get("Location"))
	}
	mustContain(t, b.follow(t, r).body, `role="alert">This record was changed by someone else`)
	if s := textValue(w.stored(t, budgetApp, "5"), "Status"); s != "Submitted" {
		t.Errorf("status %q after a stale action", s)
	}
}

// deleteWorld is the demo world with deletion allowed to gold members.
func deleteWorld(t *testing.T) *world {
	return newWorldWith(t, worldOptions{policy: func(data map[string]any) {
		gold := data["apps"].(map[string]any)["budget"].(map[string]any)["levels"].(map[string]any)["gold"].(map[string]any)
		gold["actions"] = append(gold["actions"].([]any), "delete")
	}})
}

func TestDeletingARecordTakesAConfirmationStep(t *testing.T) {
	w := deleteWorld(t)
	b := w.browser("alice", "en")
	page := b.get(t, "/apps/budget/records/5")
	mustContain(t, page.body, `<a class="button danger" href="/apps/budget/records/5/delete">Delete…</a>`)
	// A POST without the confirmation shows the question instead.
	token := formOf(t, page.body, "/apps/budget/records/5/comments").values.Get(tokenField)
	r := b.post(t, "/apps/budget/records/5/delete", url.Values{tokenField: {token}, idemField: {newKey()}, "revision": {"1"}})
	if r.Code != http.StatusOK || w.stored(t, budgetApp, "5") == nil {
		t.Fatalf("unconfirmed delete: status %d, record there: %v", r.Code, w.stored(t, budgetApp, "5") != nil)
	}
	mustContain(t, r.body, "<h1>Delete this record?</h1>", "“Partner meetup / パートナー交流会”", `<a href="/apps/budget/records/5">Keep it</a>`)
	confirm := b.get(t, "/apps/budget/records/5/delete")
	f := formOf(t, confirm.body, "/apps/budget/records/5/delete")
	if f.values.Get("confirm") != "yes" || f.values.Get("revision") != "1" {
		t.Fatalf("confirmation form %v", f.values)
	}
	r = b.post(t, "/apps/budget/records/5/delete", f.values)
	if r.Header().Get("Location") != "/apps/budget?notice=deleted" {
		t.Fatalf("status %d, Location %q:\n%s", r.Code, r.Header().Get("Location"), r.body)
	}
	if w.stored(t, budgetApp, "5") != nil {
		t.Error("the record is still there")
	}
	mustContain(t, b.follow(t, r).body, `<p class="notice" role="status">The record was deleted.</p>`)
	// Members the policy does not let delete get neither link nor page.
	bob := w.browser("bob", "en")
	mustNotContain(t, bob.get(t, "/apps/budget/records/1").body, "/delete")
	if r := bob.get(t, "/apps/budget/records/1/delete"); r.Code != http.StatusForbidden {
		t.Errorf("bob's confirmation page: status %d", r.Code)
	}
}

func TestACommentIsPostedWithTheMembersNameBeforeIt(t *testing.T) {
	w := newWorld(t)
	b := w.browser("bob", "en")
	f := formOf(t, b.get(t, "/apps/budget/records/1").body, "/apps/budget/records/1/comments")
	f.values.Set("text", "Looks good.\r\nThanks!")
	r := b.post(t, "/apps/budget/records/1/comments", f.values)
	if r.Header().Get("Location") != "/apps/budget/records/1?notice=commented#comments" {
		t.Fatalf("status %d, Location %q:\n%s", r.Code, r.Header().Get("Location"), r.body)
	}
	page := b.follow(t, r)
	mustContain(t, page.body, "Your comment was posted.", `<span class="author">Bob Suzuki / acme</span>`, `<p class="multiline">Looks good.
Thanks!</p>`)
	// An empty comment is refused at the field, in the page's language.
	f = formOf(t, page.body, "/apps/budget/records/1/comments")
	f.values.Set("text", "  ")
	r = b.post(t, "/apps/budget/records/1/comments", f.values)
	if r.Code != http.StatusBadRequest {
		t.Fatalf("empty comment: status %d", r.Code)
	}
	mustContain(t, r.body, `<a href="#comment-text">Add a comment: Required field.</a>`,
		`<textarea id="comment-text" name="text" rows="3" aria-invalid="true" aria-describedby="comment-text-error">`)
}

func TestAFileIsUploadedAttachedAndDownloaded(t *testing.T) {
	w := newWorld(t)
	b := w.browser("alice", "en")
	f := formOf(t, b.get(t, "/apps/budget/new").body, "/apps/budget/new")
	f.values.Set("f.title", "With a quote")
	f.values.Set("f.amount", "5000")
	r := b.postMultipart(t, "/apps/budget/new", f.values, upload{"f.attachment", "quote.txt", "Quote: 5,000 JPY"})
	page := b.follow(t, r)
	i := strings.Index(page.body, `<a href="/files/`)
	if i < 0 {
		t.Fatalf("no download link:\n%s", page.body)
	}
	href := page.body[i+len(`<a href="`):]
	href = strings.ReplaceAll(href[:strings.IndexByte(href, '"')], "&amp;", "&")
	mustContain(t, href, "name=quote.txt")
	dl := b.get(t, href)
	if dl.Code != http.StatusOK || dl.body != "Quote: 5,000 JPY" {
		t.Fatalf("download: %d %q", dl.Code, dl.body)
	}
	// On edit the file is listed and kept; unchecking it removes it.
	id := createdID(t, r)
	edit := formOf(t, b.get(t, "/apps/budget/records/"+id+"/edit").body, "/apps/budget/records/"+id+"/edit")
	if len(edit.values["k.attachment"]) != 1 {
		t.Fatalf("kept files %v", edit.values["k.attachment"])
	}
	edit.values.Del("k.attachment")
	if r := b.postMultipart(t, "/apps/budget/records/"+id+"/edit", edit.values); r.Code != http.StatusSeeOther {
		t.Fatalf("edit: status %d:\n%s", r.Code, r.body)
	}
	if v := string(w.stored(t, budgetApp, id)["attachment"].Value); v != "[]" {
		t.Errorf("attachment %s after unchecking it", v)
	}
}

func TestAnUploadSurvivesAFormShownAgain(t *testing.T) {
	w := newWorld(t)
	b := w.browser("alice", "en")
	f := formOf(t, b.get(t, "/apps/budget/new").body, "/apps/budget/new")
	f.values.Set("f.amount", "1")
	r := b.postMultipart(t, "/apps/budget/new", f.values, upload{"f.attachment", "plan.txt", "the plan"})
	if r.Code != http.StatusBadRequest {
		t.Fatalf("status %d", r.Code)
	}
	mustContain(t, r.body, "plan.txt", `name="k.attachment"`)
	f = formOf(t, r.body, "/apps/budget/new")
	f.values.Set("f.title", "Now with a title")
	page := b.follow(t, b.postMultipart(t, "/apps/budget/new", f.values))
	mustContain(t, page.body, ">plan.txt</a>")
}

func TestFormsRefuseASubmissionWithoutThisSessionsToken(t *testing.T) {
	w := newWorld(t)
	alice := w.browser("alice", "en")
	f := formOf(t, alice.get(t, "/apps/budget/new").body, "/apps/budget/new")
	f.values.Set("f.title", "CSRF")
	f.values.Set("f.amount", "1")
	other := w.browser("alice", "en") // alice in another browser
	formOf(t, other.get(t, "/apps/budget/new").body, "/apps/budget/new")
	bob := w.browser("bob", "en")
	bobToken := formOf(t, bob.get(t, "/apps/budget/records/1").body, "/apps/budget/records/1/comments").values.Get(tokenField)
	tests := []struct {
		name  string
		b     *browser
		token []string
	}{
		{"no token", alice, nil},
		{"a forged token", alice, []string{"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"}},
		{"the token of another browser session", other, f.values[tokenField]},
		{"another member's token", &browser{w: w, who: demoMember("alice"), lang: "en", cookie: bob.cookie}, []string{bobToken}},
		{"a token without its cookie", &browser{w: w, who: demoMember("alice"), lang: "en"}, f.values[tokenField]},
	}
	before := w.count(t, budgetApp, "")
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := url.Values{}
			for k, vs := range f.values {
				v[k] = vs
			}
			v[tokenField] = tt.token
			v.Set(idemField, newKey())
			r := tt.b.postMultipart(t, "/apps/budget/new", v)
			if r.Code != http.StatusForbidden {
				t.Fatalf("status %d", r.Code)
			}
			mustContain(t, r.body, "This form has expired or did not come from this site.")
		})
	}
	t.Run("from another site", func(t *testing.T) {
		r := httptestPost(t, alice, "/apps/budget/new", f.values, "cross-site")
		if r.Code != http.StatusForbidden {
			t.Fatalf("status %d", r.Code)
		}
	})
	if n := w.count(t, budgetApp, ""); n != before {
		t.Errorf("%d records, want %d", n, before)
	}
	// The genuine form still works.
	createdID(t, alice.postMultipart(t, "/apps/budget/new", f.values))
}

// httptestPost posts form as b, with a Sec-Fetch-Site of site.
func httptestPost(t *testing.T, b *browser, target string, form url.Values, site string) *response {
	t.Helper()
	r, _ := http.NewRequest(http.MethodPost, target, strings.NewReader(form.Encode()))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	r.Header.Set("Sec-Fetch-Site", site)
	r.RequestURI = target
	return b.do(t, r)
}

func TestSubmittingTheSameFormTwiceCreatesOneRecord(t *testing.T) {
	w := newWorld(t)
	b := w.browser("alice", "en")
	f := formOf(t, b.get(t, "/apps/budget/new").body, "/apps/budget/new")
	f.values.Set("f.title", "Twice")
	f.values.Set("f.amount", "1")
	before := w.count(t, budgetApp, "")
	// A double click: both at once.
	var wg sync.WaitGroup
	locs := make([]string, 3)
	for i := range locs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			locs[i] = b.postMultipart(t, "/apps/budget/new", f.values).Header().Get("Location")
		}()
	}
	wg.Wait()
	// A reload of the POST, later.
	locs = append(locs, b.postMultipart(t, "/apps/budget/new", f.values).Header().Get("Location"))
	for _, l := range locs {
		if l != locs[0] || !strings.HasPrefix(l, "/apps/budget/records/") {
			t.Fatalf("redirects %v, want one record for all", locs)
		}
	}
	if n := w.count(t, budgetApp, ""); n != before+1 {
		t.Errorf("%d records, want %d", n, before+1)
	}
	if n := w.count(t, budgetApp, `title = "Twice"`); n != 1 {
		t.Errorf("%d records titled Twice", n)
	}
	// Comments too.
	c := formOf(t, b.get(t, "/apps/budget/records/1").body, "/apps/budget/records/1/comments")
	c.values.Set("text", "Only once")
	for range 2 {
		b.post(t, "/apps/budget/records/1/comments", c.values)
	}
	page := b.get(t, "/apps/budget/records/1")
	if n := strings.Count(page.body, "Only once"); n != 1 {
		t.Errorf("the comment shows %d times", n)
	}
}

func TestEverythingEchoedIntoAFormIsEscaped(t *testing.T) {
	w := newWorld(t)
	b := w.browser("alice", "en")
	f := formOf(t, b.get(t, "/apps/budget/new").body, "/apps/budget/new")
	f.values.Set("f.title", `"><script>alert(1)</script>`)
	f.values.Set("f.amount", `</textarea><script>alert(2)</script>`)
	f.values.Set("f.purpose", `</textarea><img src=x onerror=alert(3)>`)
	f.values.Set("t.items.0.item", `"><svg onload=alert(4)>`)
	r := b.postMultipart(t, "/apps/budget/new", f.values, upload{"f.attachment", `"><img src=x onerror=alert(5)>.txt`, "x"})
	if r.Code != http.StatusBadRequest {
		t.Fatalf("status %d", r.Code)
	}
	mustNotContain(t, r.body, "<script>alert", "<img src=x", "<svg onload")
	mustContain(t, r.body,
		`value="&#34;&gt;&lt;script&gt;alert(1)&lt;/script&gt;"`,
		"&lt;/textarea&gt;&lt;img src=x onerror=alert(3)&gt;</textarea>",
		`value="&#34;&gt;&lt;svg onload=alert(4)&gt;"`,
		`&#34;&gt;&lt;img src=x onerror=alert(5)&gt;.txt`)
	// The record a title came from is escaped in the edit form's heading.
	fix := formOf(t, r.body, "/apps/budget/new")
	fix.values.Set("f.amount", "3")
	id := createdID(t, b.postMultipart(t, "/apps/budget/new", fix.values))
	page := b.get(t, "/apps/budget/records/"+id+"/edit")
	mustNotContain(t, page.body, "<script>alert")
	mustContain(t, page.body, "<h1>Edit: &#34;&gt;&lt;script&gt;alert(1)&lt;/script&gt;</h1>")
}

func TestWriteRoutesAnswerOnlyTheirMethods(t *testing.T) {
	w := newWorld(t)
	b := w.browser("alice", "en")
	for _, tt := range []struct {
		method, target string
		status         int
		allow          string
	}{
		{http.MethodGet, "/apps/budget/records/1/status", http.StatusMethodNotAllowed, "POST"},
		{http.MethodGet, "/apps/budget/records/1/comments", http.StatusMethodNotAllowed, "POST"},
		{http.MethodPost, "/apps/budget", http.StatusMethodNotAllowed, "GET, HEAD"},
		{http.MethodPut, "/apps/budget/new", http.StatusMethodNotAllowed, "GET, HEAD, POST"},
		{"GE", "/apps/budget/new", http.StatusMethodNotAllowed, "GET, HEAD, POST"},
		{http.MethodGet, "/apps/budget/records/1/nothing", http.StatusNotFound, ""},
	} {
		r, _ := http.NewRequest(tt.method, tt.target, nil)
		r.RequestURI = tt.target
		got := b.do(t, r)
		if got.Code != tt.status || got.Header().Get("Allow") != tt.allow {
			t.Errorf("%s %s: %d, Allow %q", tt.method, tt.target, got.Code, got.Header().Get("Allow"))
		}
	}
}

func TestAFormTooLargeIsRefusedBeforeAnythingIsWritten(t *testing.T) {
	w := newWorld(t, func(c *Config) { c.MaxFormSize = 2048 })
	b := w.browser("alice", "en")
	f := formOf(t, b.get(t, "/apps/budget/new").body, "/apps/budget/new")
	f.values.Set("f.title", "Big")
	f.values.Set("f.amount", "1")
	before := w.count(t, budgetApp, "")
	r := b.postMultipart(t, "/apps/budget/new", f.values, upload{"f.attachment", "big.bin", strings.Repeat("x", 4096)})
	if r.Code != http.StatusRequestEntityTooLarge {
		t.Fatalf("status %d", r.Code)
	}
	io.Discard.Write([]byte(r.body))
	if n := w.count(t, budgetApp, ""); n != before {
		t.Errorf("%d records, want %d", n, before)
	}
}

func TestFormPagesAndTheirAnswersAreUncacheableAndLockedDown(t *testing.T) {
	w := newWorld(t)
	b := w.browser("alice", "en")
	for _, page := range []string{"/apps/budget/new", "/apps/budget/records/1/edit"} {
		r := b.get(t, page)
		if r.Code != http.StatusOK {
			t.Fatalf("%s: status %d", page, r.Code)
		}
		checkPageHeaders(t, r.Header(), true)
		var cookie *http.Cookie
		for _, c := range r.Result().Cookies() {
			if c.Name == formCookie {
				cookie = c
			}
		}
		if page == "/apps/budget/new" && (cookie == nil || !cookie.Secure || !cookie.HttpOnly || cookie.Path != "/" ||
			cookie.SameSite != http.SameSiteLaxMode || cookie.Domain != "" || cookie.MaxAge != 0) {
			t.Errorf("form cookie %+v", cookie)
		}
	}
	f := formOf(t, b.get(t, "/apps/budget/new").body, "/apps/budget/new")
	f.values.Set("f.title", "Headers")
	f.values.Set("f.amount", "1")
	checkPageHeaders(t, b.postMultipart(t, "/apps/budget/new", f.values).Header(), true)
	f.values.Set(tokenField, "forged")
	checkPageHeaders(t, b.postMultipart(t, "/apps/budget/new", f.values).Header(), true)
}

func TestEveryNoticeIsInEveryCatalogue(t *testing.T) {
	cats, err := loadCatalogs("")
	if err != nil {
		t.Fatal(err)
	}
	for _, lang := range langs {
		for key := range recordNotices {
			if _, ok := cats[lang]["notice."+key]; !ok {
				t.Errorf("%s: notice.%s is missing", lang, key)
			}
		}
		if _, ok := cats[lang]["notice.deleted"]; !ok {
			t.Errorf("%s: notice.deleted is missing", lang)
		}
	}
}

func TestASilverMemberAnswersASurveyButCannotEditABudgetRequest(t *testing.T) {
	w := newWorld(t)
	bob := w.browser("bob", "ja")
	list := bob.get(t, "/apps/survey")
	mustContain(t, list.body, `<a class="button" href="/apps/survey/new">新規作成</a>`)
	f := formOf(t, bob.get(t, "/apps/survey/new").body, "/apps/survey/new")
	if got := inputNames(f); !reflect.DeepEqual(got, []string{"f.comments", "f.rating", "f.seminar"}) {
		t.Errorf("survey inputs %v", got)
	}
	if v := f.values["f.rating"]; !reflect.DeepEqual(v, []string{"", "3"}) {
		t.Errorf("rating %q: the blank marker, then the form's default", v)
	}
	f.values.Set("f.seminar", "api-workshop")
	f.values.Set("f.comments", "とても良かったです。")
	page := bob.follow(t, bob.post(t, "/apps/survey/new", f.values))
	mustContain(t, page.body, "レコードを作成しました。", "とても良かったです。", "bob@acme.example")
	// Editing a budget request is not offered, and a forged edit changes nothing.
	record := bob.get(t, "/apps/budget/records/1")
	mustNotContain(t, record.body, "/apps/budget/records/1/edit")
	token := formOf(t, record.body, "/apps/budget/records/1/comments").values.Get(tokenField)
	r := bob.post(t, "/apps/budget/records/1/edit", url.Values{tokenField: {token}, idemField: {newKey()}, "revision": {"1"},
		"f.title": {"forged"}})
	if r.Code != http.StatusForbidden || textValue(w.stored(t, budgetApp, "1"), "title") == "forged" {
		t.Errorf("forged edit: status %d, title %q", r.Code, textValue(w.stored(t, budgetApp, "1"), "title"))
	}
}
