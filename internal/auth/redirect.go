package auth

import (
	"errors"
	"net/http"
	"net/url"
	"strings"
	"unicode"
	"unicode/utf8"
)

// MaxReturnLen bounds a return path: it travels in the login-state cookie,
// which must stay well under a browser's 4 KiB per cookie.
const MaxReturnLen = 2048

var errBadReturn = errors.New("auth: return path is not a safe relative path or an allowed host")

// CheckReturn validates where the browser may be sent after login (or after
// any flow that takes a "return to" target). It accepts a path on this site
// ("/apps/2?x=1") or an https URL whose host is in allowedHosts: an exact
// name ("portal.example.com", or "host:port"), or a leading dot for that
// domain's subdomains (".example.com" matches "a.example.com", never
// "evilexample.com" nor "example.com" itself). The input is taken as it will
// appear in a Location header and is decoded by nobody before that; so
// anything a browser might read as another host — "//", "/\", backslashes,
// whitespace or control characters anywhere, encoded slashes, backslashes,
// dots, percent signs or controls, dot segments, user-info — is refused
// rather than cleaned. It returns the target unchanged when it is safe.
func CheckReturn(target string, allowedHosts []string) (string, error) {
	if target == "" || len(target) > MaxReturnLen || !utf8.ValidString(target) {
		return "", errBadReturn
	}
	for _, r := range target {
		if r == '\\' || unicode.IsControl(r) || unicode.IsSpace(r) || r == unicode.ReplacementChar ||
			unicode.Is(unicode.Cf, r) {
			return "", errBadReturn
		}
	}
	if hasEncodedTrick(target) || hasEmptyOrDotSegment(target) {
		return "", errBadReturn
	}
	if target[0] == '/' {
		u, err := url.Parse(target)
		if err != nil || u.Scheme != "" || u.Host != "" || u.User != nil || u.Opaque != "" ||
			!strings.HasPrefix(u.Path, "/") {
			return "", errBadReturn
		}
		return target, nil
	}
	u, err := url.Parse(target)
	if err != nil || u.Scheme != "https" || u.Opaque != "" || u.User != nil || u.Host == "" ||
		!strings.HasPrefix(target, "https://"+u.Host) || !hostAllowed(u.Host, allowedHosts) {
		return "", errBadReturn
	}
	if u.Path != "" && !strings.HasPrefix(u.Path, "/") {
		return "", errBadReturn
	}
	return target, nil
}

// hasEncodedTrick finds percent-escapes that decode to a separator, a dot,
// another escape or a control character: harmless paths never need them, and
// each has been used to smuggle a host past a validator.
func hasEncodedTrick(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] != '%' {
			continue
		}
		if i+2 >= len(s) {
			return true // a dangling escape
		}
		b, ok := unhex2(s[i+1], s[i+2])
		if !ok {
			return true
		}
		if b == '/' || b == '\\' || b == '.' || b == '%' || b < 0x20 || b == 0x7f {
			return true
		}
	}
	return false
}

func unhex2(a, b byte) (byte, bool) {
	h, ok1 := unhex(a)
	l, ok2 := unhex(b)
	return h<<4 | l, ok1 && ok2
}

func unhex(c byte) (byte, bool) {
	switch {
	case '0' <= c && c <= '9':
		return c - '0', true
	case 'a' <= c && c <= 'f':
		return c - 'a' + 10, true
	case 'A' <= c && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}

// hasEmptyOrDotSegment refuses "//" anywhere after the authority (the query
// included, so "?next=http://evil" is refused too) and "/./", "/../" style
// segments that browsers and servers normalise differently.
func hasEmptyOrDotSegment(s string) bool {
	rest := s
	if strings.HasPrefix(s, "https://") {
		rest = s[len("https://"):]
	}
	if strings.Contains(rest, "//") {
		return true
	}
	for seg := range strings.SplitSeq(rest, "/") {
		if seg == "." || seg == ".." || strings.HasPrefix(seg, ".?") || strings.HasPrefix(seg, "..?") ||
			strings.HasPrefix(seg, ".#") || strings.HasPrefix(seg, "..#") {
			return true
		}
	}
	return false
}

// hostAllowed matches host (with its port, if any) against the allowlist on
// exact names or dot boundaries. A trailing dot, an IP literal trick or a
// different port never matches an entry that does not name it.
func hostAllowed(host string, allowed []string) bool {
	host = strings.ToLower(host)
	if strings.HasSuffix(host, ".") || strings.ContainsAny(host, "[]") {
		return false
	}
	name, port := host, ""
	if i := strings.LastIndexByte(host, ':'); i >= 0 {
		name, port = host[:i], host[i:]
	}
	for _, a := range allowed {
		a = strings.ToLower(a)
		if a == "" {
			continue
		}
		if a == host {
			return true
		}
		if a[0] == '.' && len(a) > 1 {
			aname, aport := a, ""
			if i := strings.LastIndexByte(a, ':'); i >= 0 {
				aname, aport = a[:i], a[i:]
			}
			if aport == port && strings.HasSuffix(name, aname) && len(name) > len(aname) {
				return true
			}
		}
	}
	return false
}

// SameOrigin reports whether a state-changing browser request comes from
// origin (scheme://host[:port], as configured, never as the request claims
// to be). A request must carry at least one of Origin and Sec-Fetch-Site,
// and every one it carries must say same-origin: SameSite=Lax alone lets a
// same-site page POST, and older browsers omit Sec-Fetch-Site.
func SameOrigin(r *http.Request, origin string) bool {
	o := r.Header.Values("Origin")
	sfs := r.Header.Values("Sec-Fetch-Site")
	if len(o) == 0 && len(sfs) == 0 {
		return false
	}
	if len(o) > 1 || len(sfs) > 1 {
		return false
	}
	if len(o) == 1 && (origin == "" || !strings.EqualFold(o[0], origin)) {
		return false
	}
	if len(sfs) == 1 && sfs[0] != "same-origin" {
		return false
	}
	return true
}

// RequireSameOrigin wraps next so that requests with an unsafe method
// (anything but GET, HEAD, OPTIONS) from another origin get 403 and never
// reach it.
func RequireSameOrigin(origin string, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.Method {
		case http.MethodGet, http.MethodHead, http.MethodOptions:
		default:
			if !SameOrigin(r, origin) {
				http.Error(w, "cross-origin request refused", http.StatusForbidden)
				return
			}
		}
		next.ServeHTTP(w, r)
	})
}

// originOf returns scheme://host[:port] of an absolute URL.
func originOf(raw string) (string, error) {
	u, err := url.Parse(raw)
	if err != nil || u.Scheme == "" || u.Host == "" {
		return "", errors.New("auth: not an absolute URL: " + raw)
	}
	return u.Scheme + "://" + u.Host, nil
}
