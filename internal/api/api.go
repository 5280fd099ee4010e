// Package api is kgate's face for machines: kintone's REST API shape under
// /k/v1/… and /k/guest/{space}/v1/…, so existing kintone clients work
// unchanged and meet the same policies as people in the portal. Every call
// goes to internal/gateway; this package only reads parameters as kintone
// reads them and writes answers and errors as kintone writes them.
package api

import (
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"strings"

	"go.uber.org/zap"

	"github.com/kgate/kgate/identity"
	"github.com/kgate/kgate/internal/admission"
	"github.com/kgate/kgate/internal/gateway"
	"github.com/kgate/kgate/internal/kintone"
)

// Handler serves the kintone-compatible API for identities established by
// the caller.
type Handler struct {
	GW     *gateway.Gateway
	Logger *zap.Logger
	// MaxBody caps a JSON request body (default 16 MiB: 100 records of
	// rich text fit easily).
	MaxBody int64
	// MaxUpload caps an uploaded file (default 100 MiB).
	MaxUpload int64
}

// Match reports whether path is one of kintone's REST API paths and, if
// so, returns the resource ("records.json") and the guest space ("" for
// the normal path).
func Match(path string) (resource, space string, ok bool) {
	switch {
	case strings.HasPrefix(path, "/k/v1/"):
		resource = path[len("/k/v1/"):]
	case strings.HasPrefix(path, "/k/guest/"):
		rest := path[len("/k/guest/"):]
		i := strings.Index(rest, "/v1/")
		if i <= 0 || !digits(rest[:i]) {
			return "", "", false
		}
		space, resource = rest[:i], rest[i+len("/v1/"):]
	default:
		return "", "", false
	}
	return resource, space, strings.HasSuffix(resource, ".json")
}

func digits(s string) bool {
	for _, c := range s {
		if c < '0' || c > '9' {
			return false
		}
	}
	return s != ""
}

// call is one API request being served.
type call struct {
	h      *Handler
	w      http.ResponseWriter
	r      *http.Request
	id     *identity.Identity
	space  string
	params kintone.Params
}

type endpoint func(c *call) error

// endpoints maps "METHOD resource" to its handler.
var endpoints = map[string]endpoint{
	"GET record.json":            getRecord,
	"GET records.json":           getRecords,
	"POST records/cursor.json":   createCursor,
	"GET records/cursor.json":    getCursor,
	"DELETE records/cursor.json": deleteCursor,
	"GET app.json":               getApp,
	"GET apps.json":              getApps,
	"GET app/form/fields.json":   getFormFields,
	"GET app/form/layout.json":   getFormLayout,
	"GET app/views.json":         getViews,
	"GET record/comments.json":   getComments,
	"GET file.json":              downloadFile,
}

// Serve answers one API request for id. The request must have matched.
func (h *Handler) Serve(w http.ResponseWriter, r *http.Request, id *identity.Identity) {
	r = r.WithContext(h.GW.Pin(r.Context())) // one policy version for the whole request, a bulkRequest's parts included
	resource, space, _ := Match(r.URL.Path)
	who := *id
	who.Lang = language(id, r)
	method := kintone.Method(r)
	w.Header().Set("Cache-Control", "no-store")
	ep := endpoints[method+" "+resource]
	if ep == nil {
		h.fail(w, &who, unknownAPI(&who, resource))
		return
	}
	c := &call{h: h, w: w, r: r, id: &who, space: space}
	if resource != "file.json" || method != http.MethodPost {
		p, err := kintone.ReadParams(r, h.maxBody(), who.Lang)
		if err != nil {
			h.fail(w, &who, err)
			return
		}
		c.params = p
	}
	if err := ep(c); err != nil {
		if r.Context().Err() != nil && errors.Is(err, r.Context().Err()) {
			// The member closed the connection first: nobody is left to
			// answer, and nothing went wrong in kgate.
			if h.Logger != nil {
				h.Logger.Debug("the caller went away before the answer", zap.Error(err))
			}
			return
		}
		h.fail(w, &who, err)
	}
}

func (h *Handler) maxBody() int64 {
	if h.MaxBody > 0 {
		return h.MaxBody
	}
	return 16 << 20
}

// language picks the language of kintone's messages: the member's own
// setting, else the request's Accept-Language, else English.
func language(id *identity.Identity, r *http.Request) string {
	if id.Lang != "" {
		return id.Lang
	}
	for _, part := range strings.Split(r.Header.Get("Accept-Language"), ",") {
		tag, _, _ := strings.Cut(strings.TrimSpace(part), ";")
		switch strings.ToLower(strings.SplitN(tag, "-", 2)[0]) {
		case "ja":
			return "ja"
		case "en":
			return "en"
		}
	}
	return "en"
}

func unknownAPI(id *identity.Identity, resource string) error {
	if strings.HasPrefix(resource, "preview/") || strings.HasPrefix(resource, "app/") || resource == "space.json" {
		return kintone.NewError("CB_NO02", id.Lang) // settings are the operator's, never a partner's
	}
	return kintone.NewError("CB_NO01", id.Lang)
}

// fail writes err in kintone's error shape. Anything that is not already a
// kintone error is kgate's fault and is logged, not shown.
func (h *Handler) fail(w http.ResponseWriter, id *identity.Identity, err error) {
	var ke *kintone.Error
	switch {
	case errors.As(err, &ke):
	case errors.Is(err, kintone.ErrBodyTooLarge):
		ke = kintone.NewError("CB_IL02", id.Lang)
		ke.Status = http.StatusRequestEntityTooLarge
	case errors.Is(err, admission.ErrBusy), errors.Is(err, admission.ErrTooMany):
		ke = kintone.NewError("KGATE_RS03", id.Lang)
		ke.Status, ke.Message = http.StatusServiceUnavailable, busyMessage(id.Lang)
	case errors.As(err, new(*kintone.BodyError)):
		ke = kintone.NewError("CB_IL02", id.Lang) // the body broke off: nothing was done
	default:
		if h.Logger != nil {
			h.Logger.Error("API call failed", zap.Error(err))
		}
		ke = kintone.NewError("CB_IL02", id.Lang)
		ke.Status = http.StatusInternalServerError
	}
	if ke.Status == http.StatusServiceUnavailable {
		w.Header().Set("Retry-After", "5")
	}
	ke.Respond(w)
}

func busyMessage(lang string) string {
	if lang == "ja" {
		return "現在混み合っています。しばらくしてから再試行してください。"
	}
	return "kgate is busy. Please try again in a moment."
}

// reply writes v as kintone's JSON answer.
func (c *call) reply(v any) error {
	body, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return c.replyJSON(body)
}

func (c *call) replyJSON(body []byte) error {
	c.w.Header().Set("Content-Type", "application/json; charset=utf-8")
	c.w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	_, err := c.w.Write(body)
	return err
}

func (c *call) app() gateway.AppRef {
	s, _ := c.params.Text("app")
	return gateway.AppRef{ID: strings.TrimSpace(s), Space: c.space}
}
