package portal

import (
	"context"
	"encoding/json"
	"net"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/kgate/kgate/internal/testbrowser"
)

// The script's part of the forms, in a real Chromium: table rows added
// and removed from the keyboard, with focus where the member expects it,
// and the error summary focused when a form comes back with errors. The
// portal is served on localhost (a secure context, so its __Host- cookie
// sticks) for alice, without the module in front.
func TestTableRowsAreAddedAndRemovedFromTheKeyboardInChromium(t *testing.T) {
	if testing.Short() {
		t.Skip("starts Chromium; run without -short")
	}
	browser := testbrowser.Chromium(t, chromedp.Flag("lang", "en-US"))
	w := newWorld(t)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	_, port, _ := net.SplitHostPort(l.Addr().String())
	base := "http://localhost:" + port
	alice := demoMember("alice")
	srv := &httptest.Server{Listener: l, Config: &http.Server{Handler: http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		if w.h.IsPublic(r.URL.Path) {
			w.h.ServePublic(rw, r)
			return
		}
		w.h.Serve(rw, r, alice)
	})}}
	srv.Start()
	defer srv.Close()

	ctx, cancel := context.WithTimeout(browser, 60*time.Second)
	defer cancel()

	active := func() string {
		t.Helper()
		name, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.activeElement.name || document.activeElement.className`))
		if err != nil {
			t.Fatal(err)
		}
		return name
	}
	err = chromedp.Do(ctx,
		chromedp.Navigate(base+"/apps/budget/records/1/edit"),
		chromedp.WaitVisible(chromedp.CSS("button.add-row")),
		chromedp.Focus(chromedp.CSS("button.add-row")),
		chromedp.KeyEvent("\r"),
	)
	if err != nil {
		t.Fatal(err)
	}
	// Rows 0 and 1 hold the items, 2 and 3 are blank: the new one is 4.
	if got := active(); got != "t.items.4.item" {
		t.Fatalf("focus on %q after adding a row, want the new row's first input", got)
	}
	err = chromedp.Do(ctx,
		chromedp.SendKeys(chromedp.CSS(`input[name="t.items.4.item"]`), "Banner"),
		chromedp.SendKeys(chromedp.CSS(`input[name="t.items.4.cost"]`), "5000"),
		// The first row's remove button, from the keyboard.
		chromedp.Focus(chromedp.CSS(`tr[data-index="0"] button.remove-row`)),
		chromedp.KeyEvent(" "),
	)
	if err != nil {
		t.Fatal(err)
	}
	if got := active(); got != "t.items.1.item" {
		t.Fatalf("focus on %q after removing a row, want the next row's first input", got)
	}
	labels, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](
		`Array.from(document.querySelectorAll('table[data-rows] tbody th')).map(th => th.textContent)`))
	if err != nil || len(labels) != 4 || labels[0] != "1" || labels[3] != "4" {
		t.Fatalf("row numbers %v (%v)", labels, err)
	}
	err = chromedp.Do(ctx,
		chromedp.Click(chromedp.CSS(`.form-actions button[type=submit]`)),
		chromedp.WaitVisible(chromedp.CSS(`p.notice[role=status]`)),
	)
	if err != nil {
		t.Fatal(err)
	}
	var items []struct {
		Value map[string]struct{ Value string }
	}
	json.Unmarshal(w.stored(t, budgetApp, "1")["items"].Value, &items)
	if len(items) != 2 || items[0].Value["item"].Value != "Printing / 印刷" || items[1].Value["item"].Value != "Banner" ||
		items[1].Value["cost"].Value != "5000" {
		t.Errorf("items after the edit: %+v", items)
	}

	// A form that comes back with errors focuses its summary.
	err = chromedp.Do(ctx,
		chromedp.Navigate(base+"/apps/budget/new"),
		chromedp.WaitVisible(chromedp.CSS(`#f-title`)),
		chromedp.Click(chromedp.CSS(`.form-actions button[type=submit]`)),
		chromedp.WaitVisible(chromedp.CSS(`.error-summary`)),
	)
	if err != nil {
		t.Fatal(err)
	}
	if got := active(); got != "error-summary" {
		t.Errorf("focus on %q, want the error summary", got)
	}
}
