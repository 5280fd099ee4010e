package gateway_test

import (
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/kgate/kgate/identity"
	"github.com/kgate/kgate/internal/gateway"
	"github.com/kgate/kgate/internal/kintone"
)

// While staff view the portal as a member, the identity is the member's
// with ViewedBy set: every write is refused before kintone is asked,
// whichever entry point it comes through, and its audit event names the
// member as the subject and the staff member as viewed_by. The member
// alone may make each of these writes (the control), so the refusal is the
// view-as rule and not the policy.
func TestViewingAsAMemberRefusesEveryWrite(t *testing.T) {
	viewed := *alice
	viewed.ViewedBy = sam.Email
	for _, tc := range []struct {
		name  string
		write func(e *wenv, who *identity.Identity) error
	}{
		{"create", func(e *wenv, who *identity.Identity) error {
			_, err := e.gw.AddRecord(e.ctx, who, gateway.AddRecordRequest{App: budget, Record: values(map[string]any{"title": "new"})})
			return err
		}},
		{"update", func(e *wenv, who *identity.Identity) error {
			_, err := e.gw.UpdateRecord(e.ctx, who, gateway.UpdateRecordRequest{App: budget, RecordUpdate: gateway.RecordUpdate{
				ID: "2", Record: values(map[string]any{"title": "changed"})}})
			return err
		}},
		{"delete", func(e *wenv, who *identity.Identity) error {
			return e.gw.DeleteRecords(e.ctx, who, gateway.DeleteRecordsRequest{App: budget, IDs: []string{"2"}})
		}},
		{"status", func(e *wenv, who *identity.Identity) error {
			_, err := e.gw.UpdateStatus(e.ctx, who, gateway.UpdateStatusRequest{App: budget, StatusUpdate: gateway.StatusUpdate{ID: "2", Action: "Submit"}})
			return err
		}},
		{"comment", func(e *wenv, who *identity.Identity) error {
			_, err := e.gw.AddComment(e.ctx, who, gateway.AddCommentRequest{App: budget, Record: "2", Text: "hello"})
			return err
		}},
		{"file upload", func(e *wenv, who *identity.Identity) error {
			_, err := e.gw.UploadFile(e.ctx, who, gateway.UploadRequest{App: budget, Name: "a.txt", ContentType: "text/plain", Body: strings.NewReader("x")})
			return err
		}},
		{"bulk", func(e *wenv, who *identity.Identity) error {
			_, err := e.gw.Bulk(e.ctx, who, "", []gateway.WriteOp{&gateway.UpdateRecordRequest{App: budget,
				RecordUpdate: gateway.RecordUpdate{ID: "2", Record: values(map[string]any{"title": "bulk"})}}})
			return err
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newWriteEnv(t)
			err := tc.write(e, &viewed)
			var ke *kintone.Error
			if !errors.As(err, &ke) || ke.Status != http.StatusForbidden || ke.Code != "KGATE_VA01" {
				t.Fatalf("viewing as alice: %v, want 403 KGATE_VA01", err)
			}
			if w := e.up.writes(); len(w) != 0 {
				t.Errorf("kintone was asked to write: %v", w)
			}
			ev := e.lastEvent(t)
			if ev["viewed_by"] != sam.Email || ev["email"] != alice.Email || ev["decision"] != "deny" || ev["outcome"] != "denied" {
				t.Errorf("audit event %v, want alice as the subject, viewed_by sam, deny", ev)
			}
			if err := tc.write(newWriteEnv(t), alice); err != nil {
				t.Errorf("alice herself: %v, want the write to pass", err)
			}
		})
	}
}

// A read while viewing as is the member's read, audited as theirs with the
// staff member beside it.
func TestViewingAsAMemberReadsAsTheMemberAndAuditsTheViewer(t *testing.T) {
	e := newWriteEnv(t)
	viewed := *bob
	viewed.ViewedBy = sam.Email
	if _, err := e.gw.GetRecord(e.ctx, &viewed, budget, "1"); err != nil {
		t.Fatal(err)
	}
	ev := e.lastEvent(t)
	if ev["viewed_by"] != sam.Email || ev["email"] != bob.Email || ev["member_level"] != "silver" || ev["decision"] != "allow" {
		t.Errorf("audit event %v, want bob's read with viewed_by sam", ev)
	}
}
