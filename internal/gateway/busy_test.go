package gateway_test

import (
	"context"
	"errors"
	"net/http"
	"testing"

	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"

	"github.com/kgate/kgate/internal/gateway"
	"github.com/kgate/kgate/internal/kintone"
	"github.com/kgate/kgate/internal/kintonesim"
	"github.com/kgate/kgate/internal/policy"
	"github.com/kgate/kgate/internal/testworld"
)

// TestAReadKintoneKeepsRefusingForLoadIsKgatesBusy: a member never sees
// kintone's GAIA_TO04 for a read, but KGATE_UP03 (503), and the refusal
// leaves no log line of its own (the client counts them).
func TestAReadKintoneKeepsRefusingForLoadIsKgatesBusy(t *testing.T) {
	w := testworld.Start(t, 5)
	w.Sim.InjectFault(kintonesim.Fault{Path: "/k/v1/records.json", Times: -1, Status: http.StatusTooManyRequests,
		Body: `{"code":"GAIA_TO04","id":"x","message":"The number of concurrent API requests exceeds the limit."}`})
	eng, err := policy.Open(context.Background(), policy.Options{Dir: w.PolicyDir})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { eng.Close() })
	client, err := kintone.NewClient(kintone.Config{BaseURL: w.URL})
	if err != nil {
		t.Fatal(err)
	}
	core, logs := observer.New(zap.InfoLevel)
	gw, err := gateway.New(gateway.Config{Client: client, Policy: eng, Apps: testworld.Apps(), Logger: zap.New(core)})
	if err != nil {
		t.Fatal(err)
	}
	_, err = gw.ListRecords(context.Background(), testworld.Identities["alice"],
		gateway.ListRequest{App: gateway.AppRef{ID: testworld.OrdersApp}, Query: "limit 1"})
	var ke *kintone.Error
	if !errors.As(err, &ke) || ke.Code != "KGATE_UP03" || ke.Status != http.StatusServiceUnavailable {
		t.Fatalf("err = %v, want KGATE_UP03 503", err)
	}
	if n := logs.Len(); n != 0 {
		t.Errorf("%d log lines for one refusal for load, want none: %v", n, logs.All()[0].Message)
	}
}
