package gateway_test

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"testing"

	"go.uber.org/zap"
	"go.uber.org/zap/zaptest"

	"github.com/kgate/kgate/internal/gateway"
	"github.com/kgate/kgate/internal/kintone"
	"github.com/kgate/kgate/internal/policy"
	"github.com/kgate/kgate/internal/testworld"
)

// A notification must tell a member exactly what their own read of the
// record would: for every member of the world and every record, the
// record NoticeFor judges from one snapshot equals GetRecord's (readable
// fields, masks; file tokens aside, which are sealed afresh each time),
// is absent exactly where GetRecord answers "not found", and offers the
// comments exactly where ListComments answers.
func TestNoticeForAgreesWithTheMembersOwnReads(t *testing.T) {
	w := testworld.Start(t, 60)
	gw := worldGateway(t, w)
	ctx := context.Background()
	ref := gateway.AppRef{ID: testworld.OrdersApp}
	readable, hidden := 0, 0
	for rec := 1; rec <= 60; rec++ {
		id := fmt.Sprint(rec)
		snap, err := gw.ReadSnapshot(ctx, testworld.OrdersApp, id)
		if err != nil {
			t.Fatal(err)
		}
		for name, who := range testworld.Identities {
			n, err := gw.NoticeFor(gw.Pin(ctx), who, snap)
			if err != nil {
				t.Fatalf("%s, record %s: %v", name, id, err)
			}
			got, err := gw.GetRecord(ctx, who, ref, id)
			var ke *kintone.Error
			if err != nil && !(errors.As(err, &ke) && (ke.Code == "GAIA_RE01" || ke.Code == "CB_NO02")) {
				t.Fatal(err)
			}
			if (n.Record != nil) != (err == nil) {
				t.Fatalf("%s, record %s: notice readable %v, GetRecord error %v", name, id, n.Record != nil, err)
			}
			if err != nil {
				hidden++
				continue
			}
			readable++
			if a, b := withoutFileKeys(t, n.Record), withoutFileKeys(t, got); !reflect.DeepEqual(a, b) {
				t.Fatalf("%s, record %s:\nnotice %s\nread   %s", name, id, n.Record, got)
			}
			_, cerr := gw.ListComments(ctx, who, gateway.CommentsRequest{App: ref, Record: id})
			if n.Comments != (cerr == nil) {
				t.Fatalf("%s, record %s: notice comments %v, ListComments error %v", name, id, n.Comments, cerr)
			}
		}
	}
	if readable == 0 || hidden == 0 {
		t.Fatalf("the world must have records members read and records they may not: %d readable, %d hidden", readable, hidden)
	}
}

// A snapshot of a record kintone lacks is ErrNoRecord; a comment id the
// record does not have is nil.
func TestSnapshotOfMissingRecordAndComment(t *testing.T) {
	w := testworld.Start(t, 5)
	gw := worldGateway(t, w)
	ctx := context.Background()
	if _, err := gw.ReadSnapshot(ctx, testworld.OrdersApp, "999"); !errors.Is(err, gateway.ErrNoRecord) {
		t.Fatalf("missing record: %v", err)
	}
	snap, err := gw.ReadSnapshot(ctx, testworld.OrdersApp, "1")
	if err != nil {
		t.Fatal(err)
	}
	c, err := gw.SnapshotComment(ctx, snap, "1")
	if err != nil || c == nil || c.Text != "comment on 1" {
		t.Fatalf("comment 1: %+v, %v", c, err)
	}
	if c, err := gw.SnapshotComment(ctx, snap, "77"); err != nil || c != nil {
		t.Fatalf("comment 77: %+v, %v", c, err)
	}
}

func worldGateway(t *testing.T, w *testworld.World) *gateway.Gateway {
	t.Helper()
	eng, err := policy.Open(context.Background(), policy.Options{Dir: w.PolicyDir})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { eng.Close() })
	client, err := kintone.NewClient(kintone.Config{BaseURL: w.URL})
	if err != nil {
		t.Fatal(err)
	}
	gw, err := gateway.New(gateway.Config{Client: client, Policy: eng, Apps: testworld.Apps(),
		Logger: zaptest.NewLogger(t, zaptest.Level(zap.WarnLevel))})
	if err != nil {
		t.Fatal(err)
	}
	return gw
}

// BenchmarkNoticeFor judges one record for one member from a snapshot, as
// a notification does for each member; BenchmarkNoticeReferenceGetRecord
// is the member's own read of the record (a kintone request each), the
// cost a notification would have without the snapshot.
func BenchmarkNoticeFor(b *testing.B) {
	gw, snap := benchNotice(b)
	ctx := gw.Pin(context.Background())
	who := testworld.Identities["bob"]
	b.ResetTimer()
	for b.Loop() {
		if n, err := gw.NoticeFor(ctx, who, snap); err != nil || n.Record == nil {
			b.Fatal(n, err)
		}
	}
}

func BenchmarkNoticeReferenceGetRecord(b *testing.B) {
	gw, snap := benchNotice(b)
	ctx := gw.Pin(context.Background())
	who := testworld.Identities["bob"]
	b.ResetTimer()
	for b.Loop() {
		if _, err := gw.GetRecord(ctx, who, gateway.AppRef{ID: testworld.OrdersApp}, snap.Record()); err != nil {
			b.Fatal(err)
		}
	}
}

func benchNotice(b *testing.B) (*gateway.Gateway, *gateway.Snapshot) {
	w := testworld.Start(b, 60)
	eng, err := policy.Open(context.Background(), policy.Options{Dir: w.PolicyDir})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { eng.Close() })
	client, err := kintone.NewClient(kintone.Config{BaseURL: w.URL})
	if err != nil {
		b.Fatal(err)
	}
	gw, err := gateway.New(gateway.Config{Client: client, Policy: eng, Apps: testworld.Apps()})
	if err != nil {
		b.Fatal(err)
	}
	// a record bob (acme, silver) may read
	for id := 1; id <= 60; id++ {
		snap, err := gw.ReadSnapshot(context.Background(), testworld.OrdersApp, fmt.Sprint(id))
		if err != nil {
			b.Fatal(err)
		}
		if n, err := gw.NoticeFor(context.Background(), testworld.Identities["bob"], snap); err == nil && n.Record != nil {
			return gw, snap
		}
	}
	b.Fatal("no record bob may read")
	return nil, nil
}
