package api_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"

	"github.com/kgate/kgate/internal/api"
)

// hangUp is a member's connection that closes as the answer is written,
// as kgate's paced writer reports it: the request's context ends and the
// write fails with its error.
type hangUp struct {
	*httptest.ResponseRecorder
	cancel context.CancelFunc
}

func (h hangUp) Write([]byte) (int, error) {
	h.cancel()
	return 0, context.Canceled
}

// A caller that hangs up before the answer is not kgate failing: no error
// is logged for it.
func TestACallerThatWentAwayIsNotLoggedAsAFailure(t *testing.T) {
	core, logs := observer.New(zapcore.InfoLevel)
	e := newAPIEnv(t, func(h *api.Handler) { h.Logger = zap.New(core) })
	ctx, cancel := context.WithCancel(context.Background())
	r := httptest.NewRequest(http.MethodGet, "/k/v1/records.json?app=20", nil).WithContext(ctx)
	e.h.Serve(hangUp{httptest.NewRecorder(), cancel}, r, alice)
	if n := logs.FilterMessage("API call failed").Len(); n != 0 {
		t.Errorf("%d errors logged for a caller that went away", n)
	}
}
