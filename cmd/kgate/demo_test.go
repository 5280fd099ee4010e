package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/http"
	"net/url"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/kgate/kgate/internal/auth"
	"github.com/kgate/kgate/internal/devidp"
	"github.com/kgate/kgate/internal/kintone"
	"github.com/kgate/kgate/internal/testbrowser"
)

// The demo is what a new user runs first (`go run ./cmd/kgate demo`); this
// test does what they would, with an HTTP client for a browser: read the
// printed URL and users, log in on the demo provider's page, look around,
// log out, use the printed token recipe, and press Ctrl-C.
//
// startDemo loads Caddy with caddy.Load, which is process-wide: no other
// test of this package may run Caddy in-process at the same time.

func TestDemoWorksAsTheREADMESays(t *testing.T) {
	addr := freeLoopbackAddr(t)
	var out bytes.Buffer
	d, err := startDemo(demoOptions{Listen: addr}, &out)
	if err != nil {
		t.Fatal(err)
	}
	stopped := false
	t.Cleanup(func() {
		if !stopped {
			d.Stop()
		}
	})
	printed := out.String()
	if d.URL != "http://"+addr || !strings.Contains(printed, "open "+d.URL) {
		t.Fatalf("the demo should print its URL %s:\n%s", d.URL, printed)
	}
	for _, u := range devidp.DemoUsers() {
		if !strings.Contains(printed, u.Email) {
			t.Errorf("the demo users printed lack %s", u.Email)
		}
	}

	t.Run("home page lists the apps", func(t *testing.T) {
		b := newDemoBrowser(t)
		p := b.login(d, "u-alice")
		for _, app := range []string{"budget", "documents", "survey", "schedule"} {
			if !strings.Contains(p.Body, `href="/apps/`+app+`"`) {
				t.Errorf("alice's home page does not list %s", app)
			}
		}
		if strings.Contains(p.Body, `href="/apps/members"`) {
			t.Error("a partner's home page lists the members app")
		}
	})

	t.Run("bob sees only acme budget requests, approved amounts masked", func(t *testing.T) {
		b := newDemoBrowser(t)
		b.login(d, "u-bob")
		want := demoBudget(t, d)
		recs := b.records(d.URL + "/k/v1/records.json?app=2")
		if len(recs) != len(want["acme"]) || len(recs) == 0 {
			t.Fatalf("bob got %d budget requests, acme has %d", len(recs), len(want["acme"]))
		}
		for _, r := range recs {
			if got := demoField(r, "org"); got != "acme" {
				t.Errorf("bob sees a budget request of %q", got)
			}
			if got := demoField(r, "approved_amount"); got != "" {
				t.Errorf("approved_amount %q reaches bob unmasked", got)
			}
			if _, ok := r["internal_note"]; ok {
				t.Error("the internal note reaches bob")
			}
		}
		page := b.Get(d.URL + "/apps/budget")
		listed := map[string]bool{}
		for _, m := range regexp.MustCompile(`href="/apps/budget/records/(\d+)`).FindAllStringSubmatch(page.Body, -1) {
			listed[m[1]] = true
		}
		if page.Status != 200 || len(listed) != len(want["acme"]) {
			t.Fatalf("the budget list page: %d with records %v, want acme's %v", page.Status, listed, want["acme"])
		}
		for _, id := range want["acme"] {
			if !listed[id] {
				t.Errorf("the list page lacks acme's budget request %s", id)
			}
		}
	})

	for user, reason := range map[string]string{"u-erin": "会員資格が無効", "u-frank": "このメールアドレスでは申請できません"} {
		t.Run(user+" is refused with the 403 page", func(t *testing.T) {
			b := newDemoBrowser(t)
			p := b.login(d, user)
			if p.Status != http.StatusForbidden || !strings.Contains(p.Body, reason) {
				t.Fatalf("after login: %d at %s: %.300s", p.Status, p.URL, p.Body)
			}
			if b.Cookie(d.URL, auth.SessionCookie) != "" {
				t.Fatal("a refused member holds a session")
			}
		})
	}

	t.Run("henry signs up and the printed command approves him", func(t *testing.T) {
		b := newDemoBrowser(t)
		p := b.login(d, "u-henry")
		token := regexp.MustCompile(`name="_token" value="([^"]+)"`).FindStringSubmatch(p.Body)
		if p.Status != 200 || p.URL.Path != "/signup" || token == nil {
			t.Fatalf("henry after login: %d at %s, want the sign-up form", p.Status, p.URL)
		}
		form := url.Values{"_token": {token[1]}, "name": {"小野ヘンリー"}, "org_name": {"アクメ商事"}, "reason": {"販売代理店です。"}}
		if p := b.post(d.URL+"/signup", "application/x-www-form-urlencoded", form.Encode(), "Origin", d.URL); p.Status != 200 || !strings.Contains(p.Body, "承認待ち") {
			t.Fatalf("the application: %d %.300s", p.Status, p.Body)
		}
		if p := newDemoBrowser(t).login(d, "u-henry"); p.Status != http.StatusForbidden || !strings.Contains(p.Body, "承認待ち") {
			t.Fatalf("henry's next login, pending: %d at %s", p.Status, p.URL)
		}
		runPrinted(t, printed, "henry@acme.example")
		for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(500 * time.Millisecond) {
			p := newDemoBrowser(t).login(d, "u-henry")
			if p.Status == 200 && strings.Contains(p.Body, `href="/apps/budget"`) {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("henry, approved, still gets %d %.300s", p.Status, p.Body)
			}
		}
	})

	t.Run("grace's invitation mail lets her in once", func(t *testing.T) {
		runPrinted(t, printed, "grace@cosmo.example")
		var link string
		for n := 1; link == ""; n++ {
			mails, err := d.Mail.Wait(n, 30*time.Second)
			if err != nil {
				t.Fatalf("no invitation for grace: %v", err)
			}
			if m := mails[n-1]; m.To[0] == "grace@cosmo.example" {
				link = regexp.MustCompile(`http://\S+/kgate/login\?invite=\S+`).FindString(m.Text)
			}
		}
		b := newDemoBrowser(t)
		p := b.Get(link)
		m := demoLoginAction.FindStringSubmatch(p.Body)
		if m == nil {
			t.Fatalf("the link should lead to the provider's sign-in page: %d at %s", p.Status, p.URL)
		}
		p = b.post(m[1], "application/x-www-form-urlencoded", url.Values{"authRequestID": {m[2]}, "user": {"u-grace"}}.Encode())
		if p.Status != 200 || !strings.Contains(p.Body, `href="/apps/budget"`) {
			t.Fatalf("grace through her link: %d at %s", p.Status, p.URL)
		}
		again := newDemoBrowser(t)
		p = again.Get(link)
		if m = demoLoginAction.FindStringSubmatch(p.Body); m == nil {
			t.Fatalf("the used link, before login: %d at %s", p.Status, p.URL)
		}
		p = again.post(m[1], "application/x-www-form-urlencoded", url.Values{"authRequestID": {m[2]}, "user": {"u-grace"}}.Encode())
		if p.Status != http.StatusForbidden || !strings.Contains(p.Body, "この招待リンクは使用済みです") {
			t.Fatalf("the used link: %d at %s", p.Status, p.URL)
		}
	})

	t.Run("logout", func(t *testing.T) {
		b := newDemoBrowser(t)
		p := b.login(d, "u-carol")
		m := regexp.MustCompile(`<form method="post" action="([^"]+)" class="logout">`).FindStringSubmatch(p.Body)
		if m == nil {
			t.Fatalf("no logout button on the home page: %.300s", p.Body)
		}
		old := b.Cookie(d.URL, auth.SessionCookie)
		p = b.post(d.URL+m[1], "application/x-www-form-urlencoded", "", "Origin", d.URL)
		if p.Status != 200 || !strings.HasPrefix(p.URL.String(), d.Issuer) {
			t.Fatalf("logout ended at %d %s", p.Status, p.URL)
		}
		if b.Cookie(d.URL, auth.SessionCookie) != "" {
			t.Fatal("logout left the session cookie")
		}
		b.SetCookie(d.URL, auth.SessionCookie, old)
		if p := b.Get(d.URL + "/k/v1/records.json?app=2"); p.Status != http.StatusUnauthorized {
			t.Fatalf("the cookie from before logout: %d", p.Status)
		}
	})

	t.Run("a bearer token from the demo provider reads the API", func(t *testing.T) {
		if !strings.Contains(printed, "-u "+demoMachineID+":"+demoMachineSecret) || !strings.Contains(printed, d.Issuer+"oauth/token") {
			t.Fatalf("the printed token recipe does not name the machine client and the token endpoint:\n%s", printed)
		}
		form := url.Values{"grant_type": {"client_credentials"}, "scope": {"openid user:u-alice"}}
		req, _ := http.NewRequest("POST", d.Issuer+"oauth/token", strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.SetBasicAuth(demoMachineID, demoMachineSecret)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var tok struct {
			AccessToken string `json:"access_token"`
		}
		json.NewDecoder(resp.Body).Decode(&tok)
		resp.Body.Close()
		if tok.AccessToken == "" {
			t.Fatalf("client_credentials: %d", resp.StatusCode)
		}
		b := newDemoBrowser(t)
		recs := b.records(d.URL+"/k/v1/records.json?app=2", "Authorization", "Bearer "+tok.AccessToken)
		if want := demoBudget(t, d)["acme"]; len(recs) != len(want) {
			t.Fatalf("alice's token lists %d budget requests, acme has %d", len(recs), len(want))
		}
		approved := 0
		for _, r := range recs {
			if demoField(r, "org") != "acme" {
				t.Fatalf("alice (gold, acme) got %s", r)
			}
			if demoField(r, "approved_amount") != "" {
				approved++
			}
		}
		if approved == 0 {
			t.Error("alice (gold) sees no approved amount: is it masked for her?")
		}
	})

	// Ctrl-C: the demo stops and gives its ports back, so it can start again.
	ports := []string{addr, hostPort(t, d.Issuer), hostPort(t, d.Kintone)}
	d.Stop()
	stopped = true
	policyDir := regexp.MustCompile(`Policies: (\S+)`).FindStringSubmatch(printed)
	if policyDir == nil {
		t.Fatalf("the demo does not say where its policies are:\n%s", printed)
	}
	if _, err := os.Stat(policyDir[1]); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("the embedded policies' copy %s outlived the demo: %v", policyDir[1], err)
	}
	for _, a := range ports {
		l, err := net.Listen("tcp", strings.Replace(a, "localhost", "127.0.0.1", 1))
		if err != nil {
			t.Fatalf("%s is still taken after Stop: %v", a, err)
		}
		l.Close()
	}
	again, err := startDemo(demoOptions{Listen: addr}, io.Discard)
	if err != nil {
		t.Fatalf("a second demo on the same port: %v", err)
	}
	defer again.Stop()
	if p := newDemoBrowser(t).login(again, "u-dave"); p.Status != 200 || !strings.Contains(p.Body, `href="/apps/budget"`) {
		t.Fatalf("the second demo: %d %.200s", p.Status, p.Body)
	}
}

func freeLoopbackAddr(t *testing.T) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return fmt.Sprintf("localhost:%d", l.Addr().(*net.TCPAddr).Port)
}

func hostPort(t *testing.T, u string) string {
	p, err := url.Parse(u)
	if err != nil {
		t.Fatal(err)
	}
	return p.Host
}

// demoBudget reads the ids of the budget requests by organization from
// the simulated kintone itself, with the operator's token.
func demoBudget(t *testing.T, d *demo) map[string][]string {
	t.Helper()
	req, _ := http.NewRequest("GET", d.Kintone+"/k/v1/records.json?app=2&query="+url.QueryEscape("limit 500"), nil)
	req.Header.Set("X-Cybozu-API-Token", "demo-token-budget")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out struct{ Records []kintone.Record }
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil || resp.StatusCode != 200 {
		t.Fatalf("the simulator's budget requests: %d %v", resp.StatusCode, err)
	}
	byOrg := map[string][]string{}
	for _, r := range out.Records {
		byOrg[demoField(r, "org")] = append(byOrg[demoField(r, "org")], demoField(r, "$id"))
	}
	return byOrg
}

func demoField(r kintone.Record, field string) string {
	var s string
	json.Unmarshal(r[field].Value, &s)
	return s
}

// demoBrowser is a person's browser: it keeps cookies and follows
// redirects.
// runPrinted runs, as an HTTP request, the curl line the demo printed for
// email's record of the members app.
func runPrinted(t *testing.T, printed, email string) {
	t.Helper()
	for _, cmd := range regexp.MustCompile(`curl -s -X PUT -H '([^']+)' -H '([^']+)' -d '([^']+)' (\S+)`).FindAllStringSubmatch(printed, -1) {
		if !strings.Contains(cmd[3], email) {
			continue
		}
		req, _ := http.NewRequest("PUT", cmd[4], strings.NewReader(cmd[3]))
		for _, h := range cmd[1:3] {
			k, v, _ := strings.Cut(h, ": ")
			req.Header.Set(k, v)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil || resp.StatusCode != 200 {
			t.Fatalf("the printed command for %s: %v %v", email, resp, err)
		}
		resp.Body.Close()
		return
	}
	t.Fatalf("the demo prints no command for %s:\n%s", email, printed)
}

type demoBrowser struct {
	*testbrowser.Browser
	t *testing.T
}

func newDemoBrowser(t *testing.T) *demoBrowser {
	return &demoBrowser{Browser: testbrowser.Following(t), t: t}
}

type demoPage = testbrowser.Page

func (b *demoBrowser) post(u, contentType, body string, header ...string) demoPage {
	b.t.Helper()
	return b.Send("POST", u, contentType, body, header...)
}

var (
	demoLoginAction = regexp.MustCompile(`<form method="post" action="([^"]+)">\s*<input type="hidden" name="authRequestID" value="([^"]+)">`)
)

// login opens the portal, is sent to the demo provider's sign-in page,
// and picks the button of the user sub there. It returns the page the
// portal shows afterwards.
func (b *demoBrowser) login(d *demo, sub string) demoPage {
	b.t.Helper()
	p := b.Get(d.URL + "/")
	m := demoLoginAction.FindStringSubmatch(p.Body)
	if p.Status != 200 || !strings.HasPrefix(p.URL.String(), d.Issuer) || m == nil {
		b.t.Fatalf("opening the portal should show the demo sign-in page, got %d at %s: %.300s", p.Status, p.URL, p.Body)
	}
	if !strings.Contains(p.Body, `name="user" value="`+sub+`"`) {
		b.t.Fatalf("the sign-in page offers no button for %s", sub)
	}
	p = b.post(m[1], "application/x-www-form-urlencoded", url.Values{"authRequestID": {m[2]}, "user": {sub}}.Encode())
	if !strings.HasPrefix(p.URL.String(), d.URL+"/") {
		b.t.Fatalf("signing in as %s ended at %d %s", sub, p.Status, p.URL)
	}
	return p
}

// records lists records through kgate and fails the test unless it
// answers 200.
func (b *demoBrowser) records(u string, header ...string) []kintone.Record {
	b.t.Helper()
	p := b.Get(u, append([]string{"X-Requested-With", "XMLHttpRequest"}, header...)...)
	var out struct{ Records []kintone.Record }
	if err := json.Unmarshal([]byte(p.Body), &out); err != nil || p.Status != 200 {
		b.t.Fatalf("%s: %d %.300s", u, p.Status, p.Body)
	}
	return out.Records
}

// A second demo on a port the first still serves is refused at once:
// Caddy's listeners share ports (SO_REUSEPORT), and the two would take
// turns answering the same browser.
func TestASecondDemoOnAPortInUseIsRefused(t *testing.T) {
	addr := freeLoopbackAddr(t)
	first, err := startDemo(demoOptions{Listen: addr}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	defer first.Stop()
	second, err := startDemo(demoOptions{Listen: addr}, io.Discard)
	if err == nil {
		second.Stop()
		t.Fatal("a second demo started on a port the first serves")
	}
	if !strings.Contains(err.Error(), "in use") || !strings.Contains(err.Error(), "--listen") {
		t.Errorf("the refusal does not say what to do: %v", err)
	}
}
