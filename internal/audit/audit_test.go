package audit

import (
	"context"
	"encoding/json"
	"os"
	"reflect"
	"strings"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
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
		"subject": "u-alice", "app": "budget", "action": "read", "decision": "allow", "records": int64(3),
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
	for _, absent := range []string{"email", "reasons", "record_ids", "fields", "error", "request_id", "member_level", "viewed_by"} {
		if _, ok := got[absent]; ok {
			t.Errorf("empty field %q was written", absent)
		}
	}
}

// The keys are what auditors' queries, the README table and the kintone
// sink's mapping rely on; each Event field is written under its one key.
func TestEveryFieldHasItsDocumentedKey(t *testing.T) {
	full := Event{
		Kind: "write", Subject: "u-alice", Email: "alice@acme.example", Org: "acme", Level: "gold", Via: "session", ViewedBy: "sam@operator.example",
		App: "budget", Action: "update", Allowed: false, Reasons: []string{"over budget"}, Records: 1,
		RecordIDs: []string{"7"}, Fields: []string{"amount"}, Change: "UPDATE_RECORD", PolicyVersion: "v1", UpstreamStatus: 409,
		Outcome: "denied", Error: "refused", RemoteIP: "192.0.2.1", RequestID: "req-1", Duration: time.Second,
	}
	var keys []string
	for _, f := range full.fields() {
		keys = append(keys, f.Key)
	}
	want := []string{"request_id", "subject", "email", "org", "member_level", "via", "viewed_by", "app", "action", "decision",
		"reasons", "records", "record_ids", "fields", "event", "policy_version", "upstream_status", "outcome", "error",
		"remote_ip", "duration"}
	if !reflect.DeepEqual(keys, want) {
		t.Errorf("keys\n got %v\nwant %v", keys, want)
	}
	if n := reflect.TypeOf(full).NumField(); n != len(want)+1 { // Kind is the message
		t.Errorf("Event has %d fields but %d keys are written: a new field needs a key and a README row", n, len(want))
	}
}

// Caddy's JSON encoder writes its own "level" (the log level), "ts",
// "logger" and "msg"; no event key may collide with them, or the file gets
// a JSON object with a key twice.
func TestNoKeyCollidesWithTheEncodersOwn(t *testing.T) {
	var buf strings.Builder
	enc := zapcore.NewJSONEncoder(zap.NewProductionEncoderConfig())
	core := zapcore.NewCore(enc, zapcore.AddSync(&buf), zap.InfoLevel)
	New(zap.New(core).Named("audit")).Log(Event{Kind: "login", Level: "gold", Email: "a@acme.example", Outcome: "ok"})
	seen := map[string]int{}
	dec := json.NewDecoder(strings.NewReader(buf.String()))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		t.Fatalf("not a JSON object: %q", buf.String())
	}
	for dec.More() {
		k, _ := dec.Token()
		seen[k.(string)]++
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			t.Fatal(err)
		}
	}
	for k, n := range seen {
		if n > 1 {
			t.Errorf("key %q written %d times in %s", k, n, buf.String())
		}
	}
	if seen["member_level"] != 1 {
		t.Errorf("member level missing from %s", buf.String())
	}
}

func TestDecisionIsWrittenOnlyForPolicyActions(t *testing.T) {
	tests := []struct {
		name string
		ev   Event
		want string
	}{
		{"an allowed read", Event{Kind: "read", Action: "read", Allowed: true}, "allow"},
		{"a refused write", Event{Kind: "write", Action: "create"}, "deny"},
		{"a login is no policy decision", Event{Kind: "login", Allowed: true}, ""},
		{"a logout", Event{Kind: "logout"}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			core, logs := observer.New(zap.InfoLevel)
			New(zap.New(core)).Log(tt.ev)
			got, ok := logs.All()[0].ContextMap()["decision"]
			if tt.want == "" && ok || tt.want != "" && got != tt.want {
				t.Errorf("decision = %v (written %v), want %q", got, ok, tt.want)
			}
		})
	}
}

func TestLogContextFillsTheRequestButKeepsWhatTheEventSays(t *testing.T) {
	ctx := WithRequest(context.Background(), Request{ID: "req-9", RemoteIP: "198.51.100.7"})
	tests := []struct {
		name           string
		ev             Event
		wantID, wantIP string
	}{
		{"filled from the request", Event{Kind: "read"}, "req-9", "198.51.100.7"},
		{"the event's own address wins", Event{Kind: "login", RemoteIP: "192.0.2.1"}, "req-9", "192.0.2.1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			core, logs := observer.New(zap.InfoLevel)
			New(zap.New(core)).LogContext(ctx, tt.ev)
			m := logs.All()[0].ContextMap()
			if m["request_id"] != tt.wantID || m["remote_ip"] != tt.wantIP {
				t.Errorf("request_id %v remote_ip %v, want %s %s", m["request_id"], m["remote_ip"], tt.wantID, tt.wantIP)
			}
		})
	}
}

type recordingSink struct{ got []Event }

func (s *recordingSink) Enqueue(_ time.Time, e Event) { s.got = append(s.got, e) }

func TestASinkGetsEveryEventToo(t *testing.T) {
	core, logs := observer.New(zap.InfoLevel)
	s := &recordingSink{}
	l := New(zap.New(core)).WithSink(s)
	l.Log(Event{Kind: "read", App: "budget"})
	l.Log(Event{Kind: "logout"})
	if len(s.got) != 2 || s.got[0].App != "budget" || logs.Len() != 2 {
		t.Errorf("sink got %v and the log %d entries, want both events in each", s.got, logs.Len())
	}
}

func TestNilLoggerDiscards(t *testing.T) {
	var l *Logger
	l.Log(Event{Kind: "read"}) // must not panic
	(&Logger{}).Log(Event{Kind: "read"})
	l.LogContext(context.Background(), Event{Kind: "read"})
}

// README "Audit" has a row for every key an event can carry.
func TestTheREADMEDocumentsEveryKey(t *testing.T) {
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	full := Event{Subject: "s", Email: "e", Org: "o", Level: "l", Via: "v", App: "a", Action: "read",
		Reasons: []string{"r"}, Records: 1, RecordIDs: []string{"1"}, Fields: []string{"f"}, Change: "c", PolicyVersion: "p",
		UpstreamStatus: 200, Outcome: "ok", Error: "x", RemoteIP: "i", RequestID: "q", Duration: 1}
	for _, f := range full.fields() {
		if !strings.Contains(string(readme), "\n| `"+f.Key+"` |") {
			t.Errorf("README has no row for %q", f.Key)
		}
	}
}
