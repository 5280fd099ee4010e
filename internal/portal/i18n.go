package portal

import (
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/kgate/kgate/identity"
)

// langs are the portal's languages, in the order the switch shows them.
var langs = []string{"ja", "en"}

//go:embed messages
var messagesFS embed.FS

// catalog maps message keys to text. Placeholders {1}, {2}, … are replaced
// by the arguments; a key ending in ".one" or ".other" is a plural form.
type catalog map[string]string

// loadCatalogs reads the embedded catalogues and lays the operator's
// entries from dir (if any) over them.
func loadCatalogs(dir string) (map[string]catalog, error) {
	out := map[string]catalog{}
	for _, lang := range langs {
		cat, err := readCatalog(messagesFS, "messages/"+lang+".json")
		if err != nil {
			return nil, err
		}
		if dir != "" {
			extra, err := readCatalog(os.DirFS(dir), lang+".json")
			switch {
			case errors.Is(err, fs.ErrNotExist):
			case err != nil:
				return nil, fmt.Errorf("portal: messages %s: %w", filepath.Join(dir, lang+".json"), err)
			}
			for k, v := range extra {
				cat[k] = v
			}
		}
		out[lang] = cat
	}
	return out, nil
}

func readCatalog(fsys fs.FS, name string) (catalog, error) {
	b, err := fs.ReadFile(fsys, name)
	if err != nil {
		return nil, err
	}
	var cat catalog
	if err := json.Unmarshal(b, &cat); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return cat, nil
}

// locale is everything a page needs to speak to one member: the language,
// its catalogue and the member's time zone. Templates call its methods.
type locale struct {
	Lang   string
	TZName string
	cat    catalog
	tz     *time.Location
}

// T returns the message for key with its placeholders filled.
func (l *locale) T(key string, args ...any) string {
	s, ok := l.cat[key]
	if !ok {
		return key // a test keeps every used key in every catalogue
	}
	return fill(s, args)
}

// N returns the plural form of key for n ("key.one" or "key.other"), with
// n as {1} and args after it.
func (l *locale) N(key string, n int, args ...any) string {
	form := ".other"
	if n == 1 {
		if _, ok := l.cat[key+".one"]; ok {
			form = ".one"
		}
	}
	return l.T(key+form, append([]any{l.Int(int64(n))}, args...)...)
}

// Reason returns a denial reason in the member's language when the
// catalogue has a translation for it ("reason:<text>"), else as given.
func (l *locale) Reason(s string) string {
	if t, ok := l.cat["reason:"+s]; ok {
		return t
	}
	return s
}

// Action returns a process action's name in the member's language when
// the catalogue has one ("action:<name>"), else kintone's name.
func (l *locale) Action(name string) string {
	if t, ok := l.cat["action:"+name]; ok {
		return t
	}
	return name
}

// Int formats an integer with the language's digit grouping.
func (l *locale) Int(n int64) string {
	return group(strconv.FormatInt(n, 10), l.cat["num.group"])
}

func fill(s string, args []any) string {
	if len(args) == 0 || !strings.Contains(s, "{") {
		return s
	}
	var b strings.Builder
	b.Grow(len(s) + 16)
	for {
		i := strings.IndexByte(s, '{')
		if i < 0 {
			break
		}
		j := strings.IndexByte(s[i:], '}')
		if j < 0 {
			break
		}
		n, err := strconv.Atoi(s[i+1 : i+j])
		if err != nil || n < 1 || n > len(args) {
			b.WriteString(s[:i+j+1])
			s = s[i+j+1:]
			continue
		}
		b.WriteString(s[:i])
		fmt.Fprint(&b, args[n-1])
		s = s[i+j+1:]
	}
	b.WriteString(s)
	return b.String()
}

// langCookie holds the language the member picked with the switch.
const langCookie = "kgate_lang"

// chooseLang picks the page language: the member's explicit choice with
// the switch (cookie), then the identity's preference, then
// Accept-Language, then the configured default. The switch comes first
// because it is the only one the member sets on this site: were the
// provider's locale claim to win, the switch would do nothing for anyone
// whose provider sends one.
func chooseLang(r *http.Request, id *identity.Identity, def string) string {
	if c, err := r.Cookie(langCookie); err == nil {
		if l := supported(c.Value); l != "" {
			return l
		}
	}
	if id != nil {
		if l := supported(id.Lang); l != "" {
			return l
		}
	}
	if l := fromAcceptLanguage(r.Header.Get("Accept-Language")); l != "" {
		return l
	}
	return def
}

// supported maps a language tag to "ja" or "en", or "" for anything else.
func supported(tag string) string {
	primary, _, _ := strings.Cut(strings.ToLower(strings.TrimSpace(tag)), "-")
	primary, _, _ = strings.Cut(primary, "_")
	switch primary {
	case "ja", "en":
		return primary
	}
	return ""
}

// fromAcceptLanguage returns the supported language with the highest
// quality in an Accept-Language header (the first of equals), or "".
func fromAcceptLanguage(h string) string {
	type choice struct {
		lang string
		q    float64
		pos  int
	}
	var best []choice
	for i, part := range strings.Split(h, ",") {
		tag, params, _ := strings.Cut(part, ";")
		lang := supported(tag)
		if lang == "" {
			continue
		}
		q := 1.0
		if v, ok := strings.CutPrefix(strings.TrimSpace(params), "q="); ok {
			f, err := strconv.ParseFloat(v, 64)
			if err != nil || f < 0 || f > 1 {
				continue
			}
			q = f
		}
		if q > 0 {
			best = append(best, choice{lang, q, i})
		}
	}
	if len(best) == 0 {
		return ""
	}
	sort.SliceStable(best, func(i, j int) bool { return best[i].q > best[j].q })
	return best[0].lang
}
