package portal

import (
	"bytes"
	"encoding/json"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/net/html"

	"github.com/kgate/kgate/identity"
	"github.com/kgate/kgate/internal/kintone"
)

// browser is one member's browser session on the portal: it keeps the
// form cookie the portal sets, sends the page language, and submits forms
// as a browser does — the controls of the form, with their values as the
// page holds them — from this site.
type browser struct {
	w      *world
	who    *identity.Identity
	lang   string
	cookie string // the form cookie's value, once set
}

func (w *world) browser(name, lang string) *browser {
	return &browser{w: w, who: demoMember(name), lang: lang}
}

func (b *browser) headers(r *http.Request) {
	cookies := []string{langCookie + "=" + b.lang}
	if b.cookie != "" {
		cookies = append(cookies, formCookie+"="+b.cookie)
	}
	r.Header.Set("Cookie", strings.Join(cookies, "; "))
}

func (b *browser) do(t testing.TB, r *http.Request) *response {
	t.Helper()
	b.headers(r)
	resp := b.w.do(t, b.who, r)
	for _, c := range resp.Result().Cookies() {
		if c.Name == formCookie {
			b.cookie = c.Value
		}
	}
	return resp
}

func (b *browser) get(t testing.TB, target string) *response {
	t.Helper()
	return b.do(t, httptest.NewRequest(http.MethodGet, target, nil))
}

// post sends form to target from this site.
func (b *browser) post(t testing.TB, target string, form url.Values) *response {
	t.Helper()
	r := httptest.NewRequest(http.MethodPost, target, strings.NewReader(form.Encode()))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	r.Header.Set("Sec-Fetch-Site", "same-origin")
	return b.do(t, r)
}

// upload is a file a multipart post attaches.
type upload struct{ field, name, content string }

// postMultipart sends form with files to target from this site.
func (b *browser) postMultipart(t testing.TB, target string, form url.Values, files ...upload) *response {
	t.Helper()
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	for k, vs := range form {
		for _, v := range vs {
			mw.WriteField(k, v)
		}
	}
	for _, f := range files {
		fw, err := mw.CreateFormFile(f.field, f.name)
		if err != nil {
			t.Fatal(err)
		}
		fw.Write([]byte(f.content))
	}
	mw.Close()
	r := httptest.NewRequest(http.MethodPost, target, &buf)
	r.Header.Set("Content-Type", mw.FormDataContentType())
	r.Header.Set("Sec-Fetch-Site", "same-origin")
	return b.do(t, r)
}

// follow gets where a redirect leads.
func (b *browser) follow(t testing.TB, r *response) *response {
	t.Helper()
	if r.Code != http.StatusSeeOther {
		t.Fatalf("status %d, want 303; page:\n%s", r.Code, r.body)
	}
	loc, _, _ := strings.Cut(r.Header().Get("Location"), "#") // browsers keep the fragment to themselves
	return b.get(t, loc)
}

// pageForm is a form of a page.
type pageForm struct {
	action, method, enctype string
	values                  url.Values
	buttons                 map[string][]string // submit buttons by name
}

// formOf returns the controls of the page's form that posts to action,
// as a browser would send them without a click: hidden and text inputs,
// checked boxes and radios, selected options, textareas.
func formOf(t testing.TB, page, action string) *pageForm {
	t.Helper()
	doc, err := html.Parse(strings.NewReader(page))
	if err != nil {
		t.Fatal(err)
	}
	var found *pageForm
	var walk func(n *html.Node, f *pageForm)
	walk = func(n *html.Node, f *pageForm) {
		if n.Type == html.ElementNode {
			a := attrs(n)
			switch n.Data {
			case "form":
				if a["action"] == action && found == nil {
					f = &pageForm{action: action, method: a["method"], enctype: a["enctype"], values: url.Values{}, buttons: map[string][]string{}}
					found = f
				} else {
					f = nil
				}
			case "input":
				if f != nil && a["name"] != "" {
					switch a["type"] {
					case "checkbox", "radio":
						if _, on := a["checked"]; on {
							f.values.Add(a["name"], valueOr(a, "on"))
						}
					case "file", "submit", "button":
					default:
						f.values.Add(a["name"], a["value"])
					}
				}
			case "textarea":
				if f != nil && a["name"] != "" {
					f.values.Add(a["name"], text(n))
				}
			case "select":
				if f != nil && a["name"] != "" {
					var first *string
					picked := false
					for o := n.FirstChild; o != nil; o = o.NextSibling {
						if o.Type != html.ElementNode || o.Data != "option" {
							continue
						}
						oa := attrs(o)
						v := valueOr(oa, text(o))
						if first == nil {
							first = &v
						}
						if _, sel := oa["selected"]; sel {
							f.values.Add(a["name"], v)
							picked = true
						}
					}
					if !picked && first != nil {
						f.values.Add(a["name"], *first)
					}
				}
			case "button":
				if f != nil && a["name"] != "" {
					f.buttons[a["name"]] = append(f.buttons[a["name"]], a["value"])
				}
			}
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c, f)
		}
	}
	walk(doc, nil)
	if found == nil {
		t.Fatalf("the page has no form to %s:\n%s", action, page)
	}
	return found
}

func attrs(n *html.Node) map[string]string {
	out := map[string]string{}
	for _, a := range n.Attr {
		out[a.Key] = a.Val
	}
	return out
}

func valueOr(a map[string]string, def string) string {
	if v, ok := a["value"]; ok {
		return v
	}
	return def
}

func text(n *html.Node) string {
	var b strings.Builder
	for c := n.FirstChild; c != nil; c = c.NextSibling {
		if c.Type == html.TextNode {
			b.WriteString(c.Data)
		}
	}
	return b.String()
}

// stored reads a record straight from the simulator, past kgate; nil when
// there is none.
func (w *world) stored(t testing.TB, app int64, id string) kintone.Record {
	t.Helper()
	recs, err := w.sim.Select(app, "", "$id = "+id)
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) == 0 {
		return nil
	}
	return recs[0]
}

// count is how many records of app match query, past kgate.
func (w *world) count(t testing.TB, app int64, query string) int {
	t.Helper()
	recs, err := w.sim.Select(app, "", query)
	if err != nil {
		t.Fatal(err)
	}
	return len(recs)
}

func textValue(r kintone.Record, code string) string {
	var s string
	json.Unmarshal(r[code].Value, &s)
	return s
}

const budgetApp = 2

// createdID reads the id of the record a create redirected to.
func createdID(t testing.TB, r *response) string {
	t.Helper()
	loc := r.Header().Get("Location")
	rest, ok := strings.CutPrefix(loc, "/apps/budget/records/")
	id, _, _ := strings.Cut(rest, "?")
	if _, err := strconv.Atoi(id); !ok || err != nil {
		t.Fatalf("redirected to %q, want a budget record", loc)
	}
	return id
}
