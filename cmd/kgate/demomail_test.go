package main

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kgate/kgate/internal/mail"
)

// The demo points kgate's mail at its catcher (kgate made the queue at
// Provision), says where caught mail is shown, and shows it there on the
// demo's own address.
func TestTheDemoShowsCaughtMailAtDemoMail(t *testing.T) {
	var out bytes.Buffer
	d, err := startDemo(demoOptions{Listen: freeLoopbackAddr(t)}, &out)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Stop()
	if !strings.Contains(out.String(), d.URL+demoMailPath) {
		t.Errorf("the demo does not say where mail is shown:\n%s", out.String())
	}
	if _, err := os.Stat(filepath.Join(d.mailBlock["queue_dir"].(string), "queue")); err != nil {
		t.Fatalf("the demo's kgate has no mail queue: %v", err)
	}
	page := func() (int, string) {
		t.Helper()
		resp, err := http.Get(d.URL + demoMailPath + "?lang=en")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if status, body := page(); status != 200 || !strings.Contains(body, "No mail yet.") {
		t.Fatalf("before any mail: %d %s", status, body)
	}
	// A message as kgate sends it: STARTTLS, AUTH, the catcher's CA.
	o, err := mail.NewDir(t.TempDir(), mail.Config{From: "kgate demo <portal@kgate-demo.example>", SMTP: mail.SMTP{
		Addr: d.Mail.Addr, Username: "kgate-demo", Password: d.mailBlock["password"].(string), RootCAs: d.Mail.Roots}})
	if err != nil {
		t.Fatal(err)
	}
	defer o.Stop()
	o.Start()
	if err := o.Enqueue(context.Background(), mail.Message{To: "carol@bluebird.example", Lang: "ja", Subject: "招待状", Text: "ようこそ\n"}); err != nil {
		t.Fatal(err)
	}
	if _, err := d.Mail.Wait(1, 30*time.Second); err != nil {
		t.Fatal(err)
	}
	if status, body := page(); status != 200 || !strings.Contains(body, "carol@bluebird.example") || !strings.Contains(body, "招待状") {
		t.Fatalf("after a mail: %d %s", status, body)
	}
}
