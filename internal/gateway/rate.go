package gateway

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"github.com/kgate/kgate/identity"
	"github.com/kgate/kgate/internal/kintone"
	"github.com/kgate/kgate/internal/policy"
	"github.com/kgate/kgate/internal/readrate"
)

// kintoneDefaultLimit is the page kintone returns for a query without a
// limit: what such a read may return, so what it is charged.
const kintoneDefaultLimit = 100

// takeRead charges a read of up to n records to the member's bucket for
// the app, at the policy's rate, before kintone is asked; the read then
// returns what it did not use. A read refused for its rate is KGATE_RT01.
func (g *Gateway) takeRead(ctx context.Context, id *identity.Identity, a *app, dec *policy.Decision, n int) (readrate.Grant, error) {
	grant, err := g.rate.Take(ctx, ownerKey(id), a.ID, dec.Rate, n)
	var re *readrate.RefusedError
	if errors.As(err, &re) {
		return grant, rateError(id.Lang, dec.Rate, re.RetrySeconds())
	}
	return grant, err
}

// rateError is KGATE_RT01: 429 in kintone's error shape, with the seconds
// until the read may come back as its Retry-After.
func rateError(lang string, rate, retry int) *kintone.Error {
	e := ownError(http.StatusTooManyRequests, "KGATE_RT01", lang,
		fmt.Sprintf("このアプリのレコードを読む速さが、メンバーレベルの上限（毎分 %d 件）を超えました。%d 秒後に再試行してください。", rate, retry),
		fmt.Sprintf("You are reading records of this app faster than your member level allows (%d records per minute). Try again in %d seconds.", rate, retry))
	e.RetryAfter = retry
	return e
}

// returnUnread gives back the part of a read's charge that page did not
// use (all of it when the read failed without a page).
func returnUnread(grant readrate.Grant, page *Page) {
	if page == nil {
		grant.Return(0)
		return
	}
	grant.Return(len(page.Records))
}
