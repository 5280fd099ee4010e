package devidp

import (
	"html/template"
	"net/http"
	"strings"
)

// The login page lists the demo users; picking one logs in as that user.
// The auth request id in the form is the only thing that ties the choice to
// a login in progress, and it is unguessable.
var loginPage = template.Must(template.New("login").Parse(`<!doctype html>
<html lang="ja"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>kgate demo sign-in / デモ用サインイン</title>
<style>
body{font-family:system-ui,sans-serif;max-width:40rem;margin:2rem auto;padding:0 1rem;color:#222}
h1{font-size:1.4rem}p.note{color:#555}
form{margin:.5rem 0}
button{width:100%;text-align:left;padding:.7rem 1rem;border:1px solid #bbb;border-radius:.4rem;background:#fafafa;cursor:pointer;font-size:1rem}
button:hover,button:focus{background:#eef4ff;border-color:#4a7bd0}
small{color:#555}
</style></head><body>
<h1>Demo sign-in / デモ用サインイン</h1>
<p class="note">This provider is for demonstrations only: choose a person, no password. /
デモ専用の認証プロバイダーです。パスワードは不要です。利用者を選んでください。</p>
{{range .Users}}
<form method="post" action="{{$.Action}}">
<input type="hidden" name="authRequestID" value="{{$.ID}}">
<input type="hidden" name="user" value="{{.Sub}}">
<button type="submit"><strong>{{.Name}}{{if .NameJA}} / {{.NameJA}}{{end}}</strong><br>
<small>{{.Email}} · org: {{if .Org}}{{.Org}}{{else}}—{{end}} · level: {{if .Level}}{{.Level}}{{else}}—{{end}}</small></button>
</form>
{{end}}
</body></html>
`))

func (p *Provider) serveLogin(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("X-Frame-Options", "DENY")
	switch r.Method {
	case http.MethodGet:
		id := r.URL.Query().Get("authRequestID")
		if _, err := p.store.AuthRequestByID(r.Context(), id); err != nil {
			http.Error(w, "no login in progress / ログイン要求が見つかりません", http.StatusBadRequest)
			return
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		loginPage.Execute(w, map[string]any{"ID": id, "Users": p.store.userList(), "Action": strings.TrimSuffix(p.issuer, "/") + "/login"})
	case http.MethodPost:
		id, sub := r.PostFormValue("authRequestID"), r.PostFormValue("user")
		if err := p.store.completeLogin(id, sub); err != nil {
			http.Error(w, "login failed / ログインに失敗しました", http.StatusBadRequest)
			return
		}
		http.Redirect(w, r, p.store.callbackURL(id), http.StatusFound)
	default:
		w.Header().Set("Allow", "GET, POST")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
	}
}
