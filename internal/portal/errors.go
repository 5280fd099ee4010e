package portal

import (
	"errors"
	"net/http"
	"sort"
	"strconv"

	"go.uber.org/zap"

	"github.com/kgate/kgate/internal/kintone"
)

// retryAfter is the hint, in seconds, given when kintone is unavailable or
// over its limits.
const retryAfter = 30

// errorBody is the error page's content.
type errorBody struct {
	Status  int
	Heading string
	Message string
	Reasons []string // the policy's (or auth's) reasons for a refusal
	Details []string // what was wrong with the request
	Retry   string
	// SwitchAccount links a person refused at login to a login under
	// another account.
	SwitchAccount string
	// Explain is, for staff viewing as a member, why the policy refused
	// the member: `kgate policy explain`'s text.
	Explain string
}

// readOnlyCode is the gateway's refusal of a write made while staff view
// the portal as a member.
const readOnlyCode = "KGATE_VA01"

// pageStatuses have their own texts in the catalogues; others use the
// generic ones.
var pageStatuses = map[int]bool{400: true, 401: true, 403: true, 404: true, 405: true, 409: true, 413: true, 422: true, 500: true, 502: true, 503: true, 504: true}

// errorPage renders the error page for status.
func (c *call) errorPage(status int, reasons, details []string) {
	key := "error.generic"
	if pageStatuses[status] {
		key = "error." + strconv.Itoa(status)
	}
	body := &errorBody{Status: status, Heading: c.loc.T(key + ".title"), Message: c.loc.T(key+".text", status)}
	for _, r := range reasons {
		body.Reasons = append(body.Reasons, c.loc.Reason(r))
	}
	body.Details = details
	if status == http.StatusForbidden || status == http.StatusNotFound {
		body.Explain = c.explanation()
	}
	if c.switchAccount {
		body.SwitchAccount = c.h.cfg.SwitchAccountURL
	}
	if status == http.StatusServiceUnavailable || status == http.StatusBadGateway || status == http.StatusGatewayTimeout {
		c.w.Header().Set("Retry-After", strconv.Itoa(retryAfter))
		body.Retry = c.loc.T("error.retry", retryAfter)
	}
	c.render(status, "error", c.newPage(body.Heading, body))
}

// fail answers with the page for an error from the gateway. The gateway's
// errors are already what the member may see: its reasons, and details
// only about fields the member may read.
func (c *call) fail(err error) {
	var ke *kintone.Error
	if !errors.As(err, &ke) {
		c.h.log.Error("portal request failed", zap.String("path", c.r.URL.Path), zap.Error(err))
		c.errorPage(http.StatusInternalServerError, nil, nil)
		return
	}
	switch {
	case ke.Code == readOnlyCode:
		c.errorPage(http.StatusForbidden, nil, []string{ke.Message})
	case ke.Code == "KGATE_RT01":
		c.rateRefused(ke.RetryAfter, ke.Message)
	case ke.Code == "CB_NO02":
		c.errorPage(http.StatusForbidden, ke.Errors["policy"].Messages, nil)
	case ke.Status == http.StatusNotFound:
		c.errorPage(http.StatusNotFound, nil, nil)
	case ke.Status == http.StatusBadRequest:
		c.errorPage(http.StatusBadRequest, nil, errorDetails(ke))
	case ke.Status == http.StatusTooManyRequests:
		c.errorPage(http.StatusServiceUnavailable, nil, nil)
	case ke.Status == http.StatusBadGateway || ke.Status == http.StatusServiceUnavailable || ke.Status == http.StatusGatewayTimeout:
		c.errorPage(ke.Status, nil, nil)
	default:
		c.h.log.Error("portal request failed", zap.String("path", c.r.URL.Path), zap.String("code", ke.Code), zap.Int("status", ke.Status))
		c.errorPage(http.StatusInternalServerError, nil, nil)
	}
}

// rateRefused is the page for a read refused for the member's read rate
// (the policy's rate rule): 429, with when to come back.
// The gateway's message, in the member's language, names the rate.
func (c *call) rateRefused(retry int, detail string) {
	retry = max(retry, 1)
	c.w.Header().Set("Retry-After", strconv.Itoa(retry))
	body := &errorBody{Status: http.StatusTooManyRequests, Heading: c.loc.T("error.429.title"),
		Message: c.loc.T("error.429.text"), Details: []string{detail}, Retry: c.loc.T("error.retry", retry)}
	c.render(http.StatusTooManyRequests, "error", c.newPage(body.Heading, body))
}

// errorDetails lists a 400's message and its per-key messages.
func errorDetails(ke *kintone.Error) []string {
	out := []string{ke.Message}
	keys := make([]string, 0, len(ke.Errors))
	for k := range ke.Errors {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		out = append(out, ke.Errors[k].Messages...)
	}
	return out
}

// badRequest answers a request the portal itself refuses (a sort field
// that is not a column, a date that is not a date) with what was wrong.
func (c *call) badRequest(details ...string) {
	c.errorPage(http.StatusBadRequest, nil, details)
}
