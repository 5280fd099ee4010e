package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/kgate/kgate/internal/mail"
	"github.com/kgate/kgate/internal/testbrowser"
)

// The demo's caught mail in Chromium, in Japanese and English, on a wide
// and a phone-sized screen: the list names each mail's recipient, subject
// and time, a mail shows its text with its link, and axe finds nothing.
func TestTheDemosMailPageInChromium(t *testing.T) {
	s := startBrowserSuite(t)
	d := s.demo
	// kgate's own outbox in the demo made its queue at Provision.
	if _, err := os.Stat(filepath.Join(d.mailBlock["queue_dir"].(string), "queue")); err != nil {
		t.Fatalf("the demo's kgate has no mail queue: %v", err)
	}
	// Mail reaches the catcher as kgate's does: STARTTLS, AUTH, its CA.
	o, err := mail.NewDir(t.TempDir(), mail.Config{From: "kgate demo <portal@kgate-demo.example>", SMTP: mail.SMTP{
		Addr: d.Mail.Addr, Username: "kgate-demo", Password: d.mailBlock["password"].(string), RootCAs: d.Mail.Roots}})
	if err != nil {
		t.Fatal(err)
	}
	defer o.Stop()
	o.Start()
	sent := []mail.Message{
		{To: "alice@acme.example", Lang: "ja", Kind: "notification", Subject: "予算申請が承認されました",
			Text: "佐藤アリス様\n\n予算申請「展示会ブース」が承認されました。\n" + d.URL + "/apps/budget/records/1\n"},
		{To: "bob@acme.example", Lang: "en", Kind: "invite", Subject: "You are invited to the Partner Portal",
			Text: "Hello Bob,\n\nOpen this link to join: " + d.URL + "/\n"},
	}
	for _, m := range sent {
		if err := o.Enqueue(context.Background(), m); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := d.Mail.Wait(len(sent), 30*time.Second); err != nil {
		t.Fatal(err)
	}

	for _, tc := range []struct {
		lang, caption, to, back string
		width                   int64
	}{
		{"ja", "2 通（新しい順）", "宛先", "一覧に戻る", 1280},
		{"ja", "2 通（新しい順）", "宛先", "一覧に戻る", 360},
		{"en", "2 mails, newest first", "To", "Back to the list", 1280},
		{"en", "2 mails, newest first", "To", "Back to the list", 360},
	} {
		t.Run(fmt.Sprintf("%s at %d", tc.lang, tc.width), func(t *testing.T) {
			tb := s.newTab(t)
			tb.do(chromedp.EmulateViewport(tc.width, 800))
			query := ""
			if tc.lang == "ja" { // the browser asks for English
				query = "?lang=ja"
			}
			if status := tb.navigate(d.URL + demoMailPath + query); status != 200 {
				t.Fatalf("the mail page: %d", status)
			}
			if lang := tb.attr("html", "lang"); lang != tc.lang {
				t.Errorf("lang %q", lang)
			}
			if c, th := tb.text("caption"), tb.text("th"); c != tc.caption || th != tc.to {
				t.Errorf("caption %q, first heading %q", c, th)
			}
			rows := tb.texts("tbody tr")
			if len(rows) != 2 || !strings.Contains(rows[0], "bob@acme.example") || !strings.Contains(rows[0], sent[1].Subject) ||
				!strings.Contains(rows[1], "alice@acme.example") || !strings.Contains(rows[1], sent[0].Subject) {
				t.Errorf("rows %q", rows)
			}
			wantFits(t, tb)
			testbrowser.Axe(t, tb.ctx)
			tb.screenshot(fmt.Sprintf("mail-list-%s-%d", tc.lang, tc.width))

			tb.click(`tbody tr:last-child a`)
			if h1, text := tb.text("h1"), tb.text("pre"); h1 != sent[0].Subject || !strings.Contains(text, "予算申請「展示会ブース」が承認されました。") {
				t.Errorf("the mail shows %q: %q", h1, text)
			}
			if href := tb.attr("pre a", "href"); href != d.URL+"/apps/budget/records/1" {
				t.Errorf("the mail's link goes to %q", href)
			}
			if back := tb.text("main p a"); back != tc.back {
				t.Errorf("the way back says %q", back)
			}
			wantFits(t, tb)
			testbrowser.Axe(t, tb.ctx)
			tb.screenshot(fmt.Sprintf("mail-one-%s-%d", tc.lang, tc.width))
		})
	}
}

// wantFits fails when the page is wider than the window.
func wantFits(t *testing.T, tb *tab) {
	t.Helper()
	if over := run(tb, chromedp.Evaluate[bool](`document.documentElement.scrollWidth > window.innerWidth`)); over {
		t.Errorf("the page at %s scrolls sideways", tb.location())
	}
}
