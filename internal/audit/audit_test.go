package audit

import (
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"
)

func TestEventIsOneStructuredEntryWithoutEmptyFields(t *testing.T) {
	core, logs := observer.New(zap.InfoLevel)
	New(zap.New(core)).Log(Event{
		Kind: "read", Subject: "u-alice", App: "budget", Action: "read", Allowed: true,
		Records: 3, PolicyVersion: "abc123", UpstreamStatus: 200, Outcome: "ok", Duration: time.Millisecond,
	})
	entries := logs.All()
	if len(entries) != 1 {
		t.Fatalf("got %d entries, want 1", len(entries))
	}
	got := entries[0].ContextMap()
	want := map[string]any{
		"subject": "u-alice", "app": "budget", "action": "read", "allowed": true, "records": int64(3),
		"policy_version": "abc123", "upstream_status": int64(200), "outcome": "ok", "duration": time.Millisecond,
	}
	if entries[0].Message != "read" {
		t.Errorf("message = %q, want the event kind", entries[0].Message)
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s = %v, want %v", k, got[k], v)
		}
	}
	for _, absent := range []string{"email", "reasons", "record_ids", "fields", "error"} {
		if _, ok := got[absent]; ok {
			t.Errorf("empty field %q was written", absent)
		}
	}
}

func TestNilLoggerDiscards(t *testing.T) {
	var l *Logger
	l.Log(Event{Kind: "read"}) // must not panic
	(&Logger{}).Log(Event{Kind: "read"})
}
