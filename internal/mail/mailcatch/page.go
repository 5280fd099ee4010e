package mailcatch

import (
	"html/template"
	"net/http"
	"net/mail"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
)

// The page that shows caught mail, in Japanese or English: a list, newest
// first, and each mail's text, where links are links (an invitation in
// the demo is followed from here).

// messages are the page's words; a test keeps the two languages' keys
// the same.
var messages = map[string]map[string]string{
	"ja": {
		"demo":       "kgate デモ",
		"title":      "届いたメール",
		"intro":      "デモの kgate が送るメールは外へは配信されず、ここに届きます。",
		"caption":    "{n} 通（新しい順）",
		"to":         "宛先",
		"subject":    "件名",
		"received":   "受信日時",
		"from":       "差出人",
		"text":       "本文",
		"empty":      "まだメールはありません。登録・招待・通知のメールは、送られるとここに表示されます。",
		"refresh":    "最新の状態を表示",
		"back":       "一覧に戻る",
		"no_subject": "（件名なし）",
		"languages":  "表示言語",
		"not_found":  "そのメールはありません。",
		"unreadable": "このメールは読み取れませんでした：",
		"time":       "2006/01/02 15:04:05",
	},
	"en": {
		"demo":       "kgate demo",
		"title":      "Caught mail",
		"intro":      "E-mail that the demo's kgate sends is not delivered anywhere: it arrives here.",
		"caption":    "{n} mails, newest first",
		"to":         "To",
		"subject":    "Subject",
		"received":   "Received",
		"from":       "From",
		"text":       "Text",
		"empty":      "No mail yet. Sign-up, invitation and notification mail appears here once it is sent.",
		"refresh":    "Show the latest",
		"back":       "Back to the list",
		"no_subject": "(no subject)",
		"languages":  "Language",
		"not_found":  "There is no such mail.",
		"unreadable": "This mail could not be read: ",
		"time":       "2 Jan 2006 15:04:05",
	},
}

var pageLangs = []string{"ja", "en"}

// Handler serves the caught mail at prefix (the list) and prefix/N (the
// Nth mail caught, from 1).
func (c *Catcher) Handler(prefix string) http.Handler {
	return &page{c: c, prefix: strings.TrimSuffix(prefix, "/")}
}

type page struct {
	c      *Catcher
	prefix string
}

// view is what the template gets.
type view struct {
	Lang, Prefix string
	Langs        []string
	t            map[string]string
	Mails        []listed
	Mail         *listed
	NotFound     bool
}

// listed is a mail as the page shows it.
type listed struct {
	N                    int
	From, Subject, To    string
	At                   time.Time
	Text                 []segment
	TextLang, Unreadable string
}

// segment is a run of text, or a link when URL is set.
type segment struct{ Text, URL string }

func (v *view) T(key string) string { return v.t[key] }

func (v *view) Caption() string {
	return strings.ReplaceAll(v.t["caption"], "{n}", strconv.Itoa(len(v.Mails)))
}

func (v *view) Time(t time.Time) string { return t.Format(v.t["time"]) }

func (p *page) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	lang := pickLang(r)
	v := &view{Lang: lang, Prefix: p.prefix, Langs: pageLangs, t: messages[lang]}
	mails := p.c.Mails()
	status := http.StatusOK
	switch rest := strings.TrimPrefix(r.URL.Path, p.prefix); rest {
	case "", "/":
		for i := len(mails) - 1; i >= 0; i-- {
			v.Mails = append(v.Mails, show(i+1, mails[i]))
		}
	default:
		n, err := strconv.Atoi(strings.TrimPrefix(rest, "/"))
		if err != nil || n < 1 || n > len(mails) || !strings.HasPrefix(r.URL.Path, p.prefix+"/") {
			status, v.NotFound = http.StatusNotFound, true
			break
		}
		m := show(n, mails[n-1])
		v.Mail = &m
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; form-action 'none'; frame-ancestors 'none'; base-uri 'none'")
	h.Set("Referrer-Policy", "no-referrer")
	w.WriteHeader(status)
	pageTemplate.Execute(w, v)
}

// pickLang is ?lang=, else the first of the page's languages the browser
// asks for, else Japanese.
func pickLang(r *http.Request) string {
	if l := r.URL.Query().Get("lang"); slices.Contains(pageLangs, l) {
		return l
	}
	for _, part := range strings.Split(r.Header.Get("Accept-Language"), ",") {
		tag, _, _ := strings.Cut(strings.TrimSpace(part), ";")
		base, _, _ := strings.Cut(strings.ToLower(tag), "-")
		if slices.Contains(pageLangs, base) {
			return base
		}
	}
	return pageLangs[0]
}

func show(n int, m Mail) listed {
	from := m.Header.Get("From")
	if a, err := mail.ParseAddress(from); err == nil && a.Name != "" {
		from = a.Name + " <" + a.Address + ">"
	} else if err == nil {
		from = a.Address
	}
	l := listed{N: n, From: from, Subject: m.Subject, To: strings.Join(m.To, ", "), At: m.At,
		Text: links(m.Text), TextLang: m.Header.Get("Content-Language"), Unreadable: m.Err}
	if l.From == "" {
		l.From = m.From
	}
	return l
}

var urlPattern = regexp.MustCompile(`https?://[^\s<>"]+`)

// links splits text into runs of text and the http(s) links in it.
func links(text string) []segment {
	var out []segment
	for text != "" {
		loc := urlPattern.FindStringIndex(text)
		if loc == nil {
			out = append(out, segment{Text: text})
			break
		}
		u := strings.TrimRight(text[loc[0]:loc[1]], ".,;:)」。、")
		if loc[0] > 0 {
			out = append(out, segment{Text: text[:loc[0]]})
		}
		out = append(out, segment{Text: u, URL: u})
		text = text[loc[0]+len(u):]
	}
	return out
}

var pageTemplate = template.Must(template.New("mail").Parse(`<!doctype html>
<html lang="{{.Lang}}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{if .Mail}}{{or .Mail.Subject (.T "no_subject")}} — {{end}}{{.T "title"}} — {{.T "demo"}}</title>
<style>
body{font-family:system-ui,sans-serif;line-height:1.5;color:#1a1a1a;background:#fff;margin:0}
header{display:flex;flex-wrap:wrap;justify-content:space-between;gap:.5rem;padding:.75rem 1rem;background:#1f3a5f;color:#fff}
header p{margin:0;font-weight:600}
header ul{list-style:none;display:flex;gap:1rem;margin:0;padding:0}
header a{color:#fff}
main{max-width:60rem;margin:0 auto;padding:1rem}
h1{font-size:1.5rem;margin:.5rem 0 1rem;overflow-wrap:anywhere}
table{border-collapse:collapse;width:100%}
caption{text-align:left;font-weight:600;padding:.25rem 0}
th,td{text-align:left;vertical-align:top;padding:.5rem;border-bottom:1px solid #ccc;overflow-wrap:anywhere}
th{background:#f0f0f0}
a{color:#0b4f9c}
a:focus-visible{outline:3px solid #f0a500;outline-offset:2px}
dl{display:grid;grid-template-columns:max-content 1fr;gap:.25rem 1rem;margin:0 0 1rem}
dt{font-weight:600}
dd{margin:0;overflow-wrap:anywhere}
pre{white-space:pre-wrap;overflow-wrap:anywhere;font-family:inherit;background:#f7f7f7;border:1px solid #ccc;padding:1rem;margin:0}
.note{color:#444}
@media (max-width:40rem){th,td{padding:.4rem .25rem;font-size:.9rem}}
</style>
</head>
<body>
<header>
<p>{{.T "demo"}}</p>
<nav aria-label="{{.T "languages"}}"><ul>
{{- range .Langs}}<li><a href="?lang={{.}}" lang="{{.}}" hreflang="{{.}}"{{if eq . $.Lang}} aria-current="true"{{end}}>{{if eq . "ja"}}日本語{{else}}English{{end}}</a></li>{{end -}}
</ul></nav>
</header>
<main>
{{- if .NotFound}}
<h1>{{.T "title"}}</h1>
<p>{{.T "not_found"}}</p>
<p><a href="{{.Prefix}}?lang={{.Lang}}">{{.T "back"}}</a></p>
{{- else if .Mail}}{{with .Mail}}
<p><a href="{{$.Prefix}}?lang={{$.Lang}}">{{$.T "back"}}</a></p>
<h1>{{or .Subject ($.T "no_subject")}}</h1>
<dl>
<dt>{{$.T "from"}}</dt><dd>{{.From}}</dd>
<dt>{{$.T "to"}}</dt><dd>{{.To}}</dd>
<dt>{{$.T "received"}}</dt><dd><time datetime="{{.At.Format "2006-01-02T15:04:05Z07:00"}}">{{$.Time .At}}</time></dd>
</dl>
{{if .Unreadable}}<p>{{$.T "unreadable"}}{{.Unreadable}}</p>{{end}}
<h2>{{$.T "text"}}</h2>
<pre{{if .TextLang}} lang="{{.TextLang}}"{{end}}>{{range .Text}}{{if .URL}}<a href="{{.URL}}">{{.Text}}</a>{{else}}{{.Text}}{{end}}{{end}}</pre>
{{end}}{{- else}}
<h1>{{.T "title"}}</h1>
<p class="note">{{.T "intro"}}</p>
{{if .Mails}}
<table>
<caption>{{.Caption}}</caption>
<thead><tr><th scope="col">{{.T "to"}}</th><th scope="col">{{.T "subject"}}</th><th scope="col">{{.T "received"}}</th></tr></thead>
<tbody>
{{- range .Mails}}
<tr><td>{{.To}}</td><td><a href="{{$.Prefix}}/{{.N}}?lang={{$.Lang}}">{{or .Subject ($.T "no_subject")}}</a></td><td><time datetime="{{.At.Format "2006-01-02T15:04:05Z07:00"}}">{{$.Time .At}}</time></td></tr>
{{- end}}
</tbody>
</table>
{{else}}
<p>{{.T "empty"}}</p>
{{end}}
<p><a href="{{.Prefix}}?lang={{.Lang}}">{{.T "refresh"}}</a></p>
{{- end}}
</main>
</body>
</html>
`))
