package main

import (
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
)

// writeScenario is issue 7's browser scenario: a gold partner creates a
// budget request with an attachment through the portal's form, gets a
// validation error at the field, fixes it, submits the request through the
// process action and comments on it; a partner of another organization
// never sees it, neither in the list nor by its URL.
func (s *browserSuite) writeScenario(t *testing.T) {
	title := "Autumn fair booth / 秋のフェア出展"
	quote := []byte("Venue quote / 会場見積\nBooth 300,000 JPY\n")
	file := filepath.Join(t.TempDir(), "venue-quote.txt")
	if err := os.WriteFile(file, quote, 0o644); err != nil {
		t.Fatal(err)
	}

	alice := s.as(t, "u-alice")
	alice.setLang("en")
	alice.navigate(s.demo.URL + "/apps/budget")
	alice.click(`.page-actions a[href="/apps/budget/new"]`)
	alice.do(
		chromedp.SendKeys(chromedp.CSS("#f-title"), title),
		chromedp.SendKeys(chromedp.CSS("#f-amount"), "-300000"),
		chromedp.SetValue(chromedp.CSS("#f-category"), "event"),
		chromedp.SendKeys(chromedp.CSS("#f-purpose"), "Meet new customers at the autumn fair."),
		chromedp.SetUploadFiles(chromedp.CSS("#f-attachment"), []string{file}),
	)
	status := alice.clickStatus(`form.record-form button[type="submit"]`)

	// The form comes back with the error at the amount, and what was typed.
	if status == http.StatusOK && !alice.exists(".field.invalid #f-amount") {
		t.Fatalf("a negative amount was accepted: now at %s", alice.location())
	}
	if msg := alice.text(".field.invalid .field-error"); msg == "" || alice.attr("#f-amount", "aria-invalid") != "true" {
		t.Fatalf("no error shown at the amount (status %d): %q", status, msg)
	}
	if got := run(alice, chromedp.Value(chromedp.CSS("#f-title"))); got != title {
		t.Errorf("the form lost the title: %q", got)
	}
	if before := s.records(t, 2, `title = "`+title+`"`); len(before) != 0 {
		t.Fatalf("the refused form wrote a record: %v", before)
	}
	alice.screenshot("alice-form-error-en")

	// The file uploaded with the refused form is kept for the next try.
	if kept := alice.texts(".files-field .kept li"); len(kept) != 1 || !strings.Contains(kept[0], "venue-quote.txt") ||
		!alice.exists(".files-field .kept input[type=checkbox]:checked") {
		t.Fatalf("the attachment did not survive the error: %q", kept)
	}
	alice.do(chromedp.SetValue(chromedp.CSS("#f-amount"), "300000"))
	alice.click(`form.record-form button[type="submit"]`)
	loc := alice.location()
	if !strings.Contains(loc, "/apps/budget/records/") {
		t.Fatalf("after a valid form the browser is at %s", loc)
	}
	id := loc[strings.LastIndex(loc, "/")+1:]
	if i := strings.IndexAny(id, "?#"); i >= 0 {
		id = id[:i]
	}
	rec := alice.fields()
	if rec["Title"] != title || rec["Organization"] != "Acme Trading" || rec["Requested by"] != "alice@acme.example" {
		t.Errorf("the new record shows %v", rec)
	}
	if got, _ := alice.download(`.files a[download]`); string(got) != string(quote) {
		t.Errorf("the attachment downloads as %q", got)
	}

	// Submit, through the process action.
	alice.click(`form.process button[value="Submit"]`)
	if got := alice.text(".record-head .badge"); got != "Submitted" {
		t.Errorf("after Submit the status is %q", got)
	}
	if alice.exists(`form.process button[value="Submit"]`) {
		t.Errorf("Submit is still offered on a submitted request")
	}

	// Comment.
	comment := "The venue quote is attached. / 会場の見積書を添付しました。"
	alice.do(chromedp.SendKeys(chromedp.CSS("#comment-text"), comment))
	alice.click(`form.comment-form button[type="submit"]`)
	comments, authors := alice.texts(".comment-list .comment p"), alice.texts(".comment-list .comment .author")
	if len(comments) == 0 || !strings.Contains(comments[0], comment) || !strings.Contains(authors[0], "Alice Sato") {
		t.Errorf("the comment is not shown with alice's name: %q by %q", comments, authors)
	}
	alice.screenshot("alice-record-submitted-en")

	// kintone holds exactly that.
	stored := s.records(t, 2, "$id = "+id)
	if len(stored) != 1 || fieldString(t, stored[0], "Status") != "Submitted" || fieldString(t, stored[0], "org") != "acme" ||
		fieldString(t, stored[0], "requested_by") != "alice@acme.example" || fieldString(t, stored[0], "amount") != "300000" {
		t.Fatalf("kintone holds %v", stored)
	}

	// Carol, of Bluebird, never sees it.
	carol := s.as(t, "u-carol")
	carol.setLang("en")
	carol.navigate(s.demo.URL + "/apps/budget")
	number := fieldString(t, stored[0], "Record_number")
	if slices.Contains(carol.list().numbers(), number) || strings.Contains(carol.text("main"), title) {
		t.Errorf("carol's list shows alice's new request %s", number)
	}
	if status := carol.navigate(s.demo.URL + "/apps/budget/records/" + id); status != http.StatusNotFound || strings.Contains(carol.text("main"), title) {
		t.Errorf("carol opening %s: status %d, page %q", number, status, carol.text("main"))
	}
}
