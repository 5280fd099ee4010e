package main

import (
	"cmp"
	"encoding/json"
	"io"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"
)

// The demo turns notifications on where they can work — a kgate handler
// with the members app, kgate's login and a mail block — for every app
// but the members app, and leaves a notify block of the Caddyfile's own.
func TestTheDemoNotifiesWhereMembersLoginAndMailAre(t *testing.T) {
	const apps = `"apps":[{"id":"1","alias":"members"},{"id":"2","alias":"budget"},{"id":"5","alias":"schedule"}]`
	tests := []struct {
		name    string
		handler string
		want    []int64
		added   bool
	}{
		{"members, login and mail", `{"handler":"kgate",` + apps + `,"members":{"app":"members"},"oidc":{},"mail":{}}`, []int64{2, 5}, true},
		{"no mail block", `{"handler":"kgate",` + apps + `,"members":{"app":"members"},"oidc":{}}`, nil, false},
		{"no members app", `{"handler":"kgate",` + apps + `,"oidc":{},"mail":{}}`, nil, false},
		{"no login", `{"handler":"kgate",` + apps + `,"members":{"app":"members"},"mail":{}}`, nil, false},
		{"a notify block of its own", `{"handler":"kgate",` + apps + `,"members":{"app":"members"},"oidc":{},"mail":{},"notify":{"secret":"mine"}}`, nil, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var h map[string]any
			if err := json.Unmarshal([]byte(tt.handler), &h); err != nil {
				t.Fatal(err)
			}
			_, had := h["notify"]
			got := notifyHandler(h, "s3cret")
			if !slices.Equal(got, tt.want) {
				t.Errorf("apps %v, want %v", got, tt.want)
			}
			n, _ := h["notify"].(map[string]any)
			if added := !had && n != nil; added != tt.added || had && n["secret"] != "mine" || added && n["secret"] != "s3cret" {
				t.Errorf("notify block %v", h["notify"])
			}
		})
	}
}

// In the demo, staff editing a budget request in kintone (the simulator's
// own screen) mails, through the demo's SMTP catcher, every active member
// the shipped policies let read it — Acme's partners and the operator's
// staff, nobody else — each mail in its language, linking to the record in
// the portal, with the internal note for staff only.
func TestADemoRecordChangeMailsItsReaders(t *testing.T) {
	d, err := startDemo(demoOptions{Listen: freeLoopbackAddr(t)}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(d.Stop)
	want := demoReaders(t, d, func(org, level string) bool { return org == "acme" || level == "staff" })
	if want["alice@acme.example"].lang != "en" || want["bob@acme.example"].lang != "ja" {
		t.Fatalf("the demo world should have readers of both languages: %v", want)
	}
	before := len(d.Mail.Mails())
	if _, err := d.Sim.EditRecord(2, 3, "", map[string]any{"purpose": map[string]any{"value": "Demo edit / デモの編集"}}); err != nil {
		t.Fatal(err)
	}
	mails, err := d.Mail.Wait(before+len(want), time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, m := range mails[before:] {
		to := m.To[0]
		got = append(got, to)
		text := m.Subject + "\n" + m.Text
		lang := m.Header.Get("Content-Language")
		if lang != want[to].lang {
			t.Errorf("%s: a mail in %q, want %q", to, lang, want[to].lang)
		}
		if greeting := map[string]string{"ja": " 様", "en": "Hello "}[lang]; greeting == "" || !strings.Contains(text, greeting) {
			t.Errorf("%s: a mail in %q that does not read as one:\n%s", to, lang, text)
		}
		for _, s := range []string{d.URL + "/apps/budget/records/3", "Demo edit / デモの編集"} {
			if !strings.Contains(text, s) {
				t.Errorf("%s: the mail lacks %q:\n%s", to, s, text)
			}
		}
		if staff := want[to].staff; strings.Contains(text, "Approved within the quarterly budget") != staff {
			t.Errorf("%s: the internal note shown %v, want %v", to, !staff, staff)
		}
	}
	slices.Sort(got)
	wantTo := slices.Sorted(maps.Keys(want))
	if !slices.Equal(got, wantTo) {
		t.Fatalf("mailed %v, want %v", got, wantTo)
	}
}

// reader is a member a demo change should mail.
type reader struct {
	staff bool
	lang  string // the members app's, else the portal's default (ja)
}

// demoReaders lists the demo's active members that reads picks and that
// get mail at once, by address.
func demoReaders(t *testing.T, d *demo, reads func(org, level string) bool) map[string]reader {
	t.Helper()
	raw, err := d.Example.file("seed.json")
	if err != nil {
		t.Fatal(err)
	}
	var seed struct {
		Apps []struct {
			ID      int64                            `json:"id"`
			Records []map[string]struct{ Value any } `json:"records"`
		} `json:"apps"`
	}
	if err := json.Unmarshal(raw, &seed); err != nil {
		t.Fatal(err)
	}
	out := map[string]reader{}
	for _, a := range seed.Apps {
		if a.ID != 1 {
			continue
		}
		for _, r := range a.Records {
			str := func(k string) string { s, _ := r[k].Value.(string); return s }
			checked := func(k string) bool { l, _ := r[k].Value.([]any); return len(l) > 0 }
			// no_mail and digest: no mail now (README "Notifications").
			quiet := checked("no_mail") || checked("digest")
			if str("state") == "active" && !quiet && reads(str("org"), str("level")) {
				out[str("email")] = reader{staff: str("level") == "staff", lang: cmp.Or(str("lang"), "ja")}
			}
		}
	}
	return out
}
