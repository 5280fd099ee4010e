package gateway_test

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/kgate/kgate/identity"
	"github.com/kgate/kgate/internal/gateway"
	"github.com/kgate/kgate/internal/kintone"
	"github.com/kgate/kgate/internal/testworld"
)

func (e *wenv) upload(t testing.TB, id *identity.Identity, app gateway.AppRef, name, content string) string {
	t.Helper()
	tok, err := e.gw.UploadFile(e.ctx, id, gateway.UploadRequest{App: app, Name: name, ContentType: "text/plain", Body: strings.NewReader(content)})
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

func fileValue(tokens ...string) []map[string]string {
	out := []map[string]string{}
	for _, t := range tokens {
		out = append(out, map[string]string{"fileKey": t})
	}
	return out
}

// filesOf returns the files of a FILE field as the member read them.
func filesOf(t testing.TB, raw json.RawMessage, code string) []struct{ FileKey, Name string } {
	t.Helper()
	var r kintone.Record
	json.Unmarshal(raw, &r)
	var files []struct{ FileKey, Name string }
	json.Unmarshal(r[code].Value, &files)
	return files
}

func TestUploadTokensWorkOnlyForTheirMemberAndApp(t *testing.T) {
	e := newWriteEnv(t)
	tok := e.upload(t, alice, budget, "plan.txt", "the plan")
	if strings.Contains(tok, "-") && len(tok) == 36 {
		t.Fatalf("token %q looks like kintone's own upload key", tok)
	}
	refused := func(id *identity.Identity, app gateway.AppRef, field, token string) {
		t.Helper()
		r := map[string]any{"title": "with a file", field: fileValue(token)}
		if app == tickets {
			r["scope"] = "shared"
		}
		_, err := e.gw.AddRecord(e.ctx, id, gateway.AddRecordRequest{App: app, Record: values(r)})
		ke := refusal(t, err, "CB_VA01", http.StatusBadRequest)
		if len(ke.Errors) != 1 || len(ke.Errors["record."+field+".value"].Messages) == 0 {
			t.Errorf("errors %v, want the file field named", ke.Errors)
		}
	}
	refused(carol, budget, "attachment", tok)                                    // another member
	refused(alice, tickets, "screenshot", tok)                                   // another app
	refused(alice, budget, "attachment", "c15b3870-0b1c-4a1e-9c35-6c1b0d7a4e21") // a kintone key
	if w := e.up.writes(); len(w) != 1 {
		t.Errorf("upstream writes %v, want only the upload", w)
	}
	w, err := e.gw.AddRecord(e.ctx, alice, gateway.AddRecordRequest{App: budget, Record: values(map[string]any{
		"title": "with a file", "attachment": fileValue(tok)})})
	if err != nil {
		t.Fatal(err)
	}
	raw, err := e.gw.GetRecord(e.ctx, alice, budget, w.ID)
	if err != nil {
		t.Fatal(err)
	}
	files := filesOf(t, raw, "attachment")
	if len(files) != 1 || files[0].Name != "plan.txt" {
		t.Fatalf("attachment %+v", files)
	}
	resp, err := e.gw.DownloadFile(e.ctx, alice, files[0].FileKey)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if string(body) != "the plan" {
		t.Errorf("downloaded %q", body)
	}
	// The upload token is spent: kintone refuses its key a second time.
	_, err = e.gw.AddRecord(e.ctx, alice, gateway.AddRecordRequest{App: budget, Record: values(map[string]any{
		"title": "same file again", "attachment": fileValue(tok)})})
	if err == nil {
		t.Error("an upload token attached twice")
	}
}

func TestFileTokensKeepOnlyTheFilesAlreadyInTheField(t *testing.T) {
	e := newWriteEnv(t)
	quote := filesOf(t, mustRawRecord(t, e, "1"), "attachment")[0].FileKey
	// A file token of record 1 cannot carry the file into record 2.
	_, err := e.gw.UpdateRecord(e.ctx, alice, gateway.UpdateRecordRequest{App: budget, RecordUpdate: gateway.RecordUpdate{
		ID: "2", Record: values(map[string]any{"attachment": fileValue(quote)})}})
	refusal(t, err, "CB_VA01", http.StatusBadRequest)
	// Nor can someone else's copy of the token keep it.
	tok := e.upload(t, alice, budget, "extra.txt", "extra")
	_, err = e.gw.UpdateRecord(e.ctx, carol, gateway.UpdateRecordRequest{App: budget, RecordUpdate: gateway.RecordUpdate{
		ID: "6", Record: values(map[string]any{"attachment": fileValue(quote)})}})
	refusal(t, err, "CB_VA01", http.StatusBadRequest)
	// Alice keeps the quote and adds a file.
	if _, err := e.gw.UpdateRecord(e.ctx, alice, gateway.UpdateRecordRequest{App: budget, RecordUpdate: gateway.RecordUpdate{
		ID: "1", Record: values(map[string]any{"attachment": fileValue(quote, tok)})}}); err != nil {
		t.Fatal(err)
	}
	var stored []struct{ FileKey, Name string }
	json.Unmarshal(e.stored(t, testworld.BudgetApp, "1")["attachment"].Value, &stored)
	if len(stored) != 2 || stored[0].FileKey != testworld.BudgetQuoteFile || stored[1].Name != "extra.txt" {
		t.Errorf("attachment %+v", stored)
	}
}

func TestUploadsFollowThePolicyAndTheConfiguredLimits(t *testing.T) {
	e := newWriteEnv(t, func(_ *kintone.Config, g *gateway.Config) {
		g.MaxUploadSize, g.MaxUploadsPerRecord = 8, 1
	})
	_, err := e.gw.UploadFile(e.ctx, bob, gateway.UploadRequest{App: budget, Name: "a.txt", Body: strings.NewReader("x")})
	refusal(t, err, "CB_NO02", http.StatusForbidden) // silver may not write files
	_, err = e.gw.UploadFile(e.ctx, alice, gateway.UploadRequest{App: budget, Name: "big.txt", Body: strings.NewReader("123456789")})
	refusal(t, err, "CB_IL02", http.StatusRequestEntityTooLarge)
	a, b := e.upload(t, alice, budget, "a.txt", "a"), e.upload(t, alice, budget, "b.txt", "b")
	_, err = e.gw.AddRecord(e.ctx, alice, gateway.AddRecordRequest{App: budget, Record: values(map[string]any{
		"title": "two files", "attachment": fileValue(a, b)})})
	refusal(t, err, "CB_VA01", http.StatusBadRequest)
	ev := e.events()
	if got := ev[0]; got["action"] != "file.write" || got["outcome"] != "denied" {
		t.Errorf("first audit event %v, want bob's upload denied", got)
	}
}

func TestAnUploadWithoutAnAppIsBoundToItsPath(t *testing.T) {
	e := newWriteEnv(t)
	normal := e.upload(t, alice, gateway.AppRef{}, "n.txt", "n") // as kintone's API: no app
	guest := e.upload(t, alice, gateway.AppRef{Space: testworld.NoticesSpace}, "g.txt", "g")
	add := func(app gateway.AppRef, field, tok string) error {
		r := map[string]any{"title": "t", field: fileValue(tok)}
		if app == tickets {
			r["scope"] = "shared"
		}
		_, err := e.gw.AddRecord(e.ctx, alice, gateway.AddRecordRequest{App: app, Record: values(r)})
		return err
	}
	refusal(t, add(tickets, "screenshot", normal), "CB_VA01", http.StatusBadRequest)
	refusal(t, add(budget, "attachment", guest), "CB_VA01", http.StatusBadRequest)
	if err := add(budget, "attachment", normal); err != nil {
		t.Error(err)
	}
	if err := add(tickets, "screenshot", guest); err != nil {
		t.Error(err)
	}
}

func mustRawRecord(t testing.TB, e *wenv, id string) json.RawMessage {
	t.Helper()
	raw, err := e.gw.GetRecord(e.ctx, alice, budget, id)
	if err != nil {
		t.Fatal(err)
	}
	return raw
}
