package main

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/spf13/cobra"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"github.com/kgate/kgate/internal/audit"
	"github.com/kgate/kgate/internal/testenv"
)

// auditNow is "now" for the fixture: the events lie in the two weeks
// before it.
var auditNow = time.Date(2026, 12, 4, 12, 0, 0, 0, time.UTC)

type fixedClock struct{ t time.Time }

func (c fixedClock) Now() time.Time                       { return c.t }
func (c fixedClock) NewTicker(time.Duration) *time.Ticker { return time.NewTicker(time.Hour) }

// auditDir writes an audit log as Caddyfile.example would: the events
// before 28 November in a rolled, gzipped file, the rest in audit.log.
func auditDir(t *testing.T) string {
	t.Helper()
	day := func(d, h int) time.Time { return time.Date(2026, 11, d, h, 0, 0, 0, time.UTC) }
	evs := []struct {
		at time.Time
		e  audit.Event
	}{
		{day(24, 9), audit.Event{Kind: "login", Email: "alice@acme.example", Org: "acme", Level: "gold", Outcome: "ok"}},
		{day(24, 10), audit.Event{Kind: "read", Email: "alice@acme.example", App: "budget", Action: "read", Allowed: true, Records: 20, RequestID: "r1"}},
		{day(24, 23), audit.Event{Kind: "logout", Via: "backchannel", Outcome: "denied", Error: "bad token"}}, // no member: jq must cope
		{day(25, 8), audit.Event{Kind: "write", Email: "bob@bluebird.example", App: "budget", Action: "update", RecordIDs: []string{"3"}, Outcome: "denied"}},
		{day(28, 9), audit.Event{Kind: "login", Email: "bob@bluebird.example", Outcome: "ok"}},
		{day(28, 11), audit.Event{Kind: "read", Email: "Alice@Acme.example", App: "orders", Action: "comment.read", Allowed: true, RecordIDs: []string{"12"}}},
		{day(29, 14), audit.Event{Kind: "read", Email: "alice@acme.example", App: "budget", Action: "read", Allowed: true, RecordIDs: []string{"7"}, RemoteIP: "203.0.113.9", Outcome: "ok"}},
		{day(30, 16), audit.Event{Kind: "write", Email: "alice@acme.example", App: "orders", Action: "create", Allowed: true, Records: 1, RecordIDs: []string{"41"}}},
		{day(30, 17), audit.Event{Kind: "write", Email: "bob@bluebird.example", App: "orders", Action: "delete", RecordIDs: []string{"41"}, Outcome: "denied"}},
		{time.Date(2026, 12, 2, 9, 0, 0, 0, time.UTC), audit.Event{Kind: "read", Email: "alice@acme.example", App: "budget", Action: "read", Reasons: []string{"level"}, Outcome: "denied"}},
	}
	dir := t.TempDir()
	var old, cur bytes.Buffer
	cfg := zap.NewProductionEncoderConfig()
	cfg.EncodeTime = zapcore.RFC3339NanoTimeEncoder // time_format rfc3339_nano
	for _, ev := range evs {
		w := &cur
		if ev.at.Before(day(28, 0)) {
			w = &old
		}
		core := zapcore.NewCore(zapcore.NewJSONEncoder(cfg), zapcore.AddSync(w), zap.InfoLevel)
		audit.New(zap.New(core, zap.WithClock(fixedClock{ev.at})).Named("http.handlers.kgate.audit")).Log(ev.e)
	}
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write(old.Bytes())
	zw.Close()
	os.WriteFile(filepath.Join(dir, "audit-2026-11-28T00-00-00.000.log.gz"), gz.Bytes(), 0o600)
	os.WriteFile(filepath.Join(dir, "audit.log"), cur.Bytes(), 0o600)
	return dir
}

// runAudit runs `kgate audit ARGS` in dir, expanding file globs as a shell would.
func runAudit(t *testing.T, dir string, args ...string) (string, error) {
	t.Helper()
	var o auditOptions
	c := &cobra.Command{}
	auditFlags(c, &o)
	if err := c.ParseFlags(args); err != nil {
		return "", err
	}
	for _, a := range c.Flags().Args() {
		m, _ := filepath.Glob(filepath.Join(dir, a))
		if len(m) == 0 {
			m = []string{filepath.Join(dir, a)}
		}
		o.files = append(o.files, m...)
	}
	var out, errw bytes.Buffer
	err := auditRead(&out, &errw, o, auditNow)
	return out.String(), err
}

func TestAuditAnswersTheAuditorsQuestions(t *testing.T) {
	dir := auditDir(t)
	files := []string{"audit-*.log.gz", "audit.log"}
	tests := []struct {
		name string
		args []string
		want []string // "day:action:member" of each event, oldest first
	}{
		{"what alice read last week", []string{"--member", "alice@acme.example", "--action", "read", "--since", "7d"},
			[]string{"28:comment.read:Alice@Acme.example", "29:read:alice@acme.example", "02:read:alice@acme.example"}},
		{"what alice read, allowed only", []string{"--member", "ALICE@acme.example", "--action", "read", "--decision", "allow"},
			[]string{"24:read:alice@acme.example", "28:comment.read:Alice@Acme.example", "29:read:alice@acme.example"}},
		{"every denial across the rolled and the current file", []string{"--decision", "deny"},
			[]string{"25:update:bob@bluebird.example", "30:delete:bob@bluebird.example", "02:read:alice@acme.example"}},
		{"logins in a date window", []string{"--action", "login", "--since", "2026-11-24", "--until", "2026-11-29"},
			[]string{"24:login:alice@acme.example", "28:login:bob@bluebird.example"}},
		{"one app's writes", []string{"--app", "orders", "--action", "write"},
			[]string{"30:create:alice@acme.example", "30:delete:bob@bluebird.example"}},
		{"until a time is exclusive", []string{"--until", "2026-11-24T10:00:00Z"}, []string{"24:login:alice@acme.example"}},
		{"nothing matches", []string{"--member", "carol@example.com"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, err := runAudit(t, dir, append(append(tt.args, "--json"), files...)...)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			sc := bufio.NewScanner(strings.NewReader(out))
			for sc.Scan() {
				var e struct{ TS, Msg, Action, Email string }
				if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
					t.Fatalf("--json printed %q: %v", sc.Text(), err)
				}
				act := e.Action
				if act == "" {
					act = e.Msg
				}
				got = append(got, e.TS[8:10]+":"+act+":"+e.Email)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got  %v\nwant %v", got, tt.want)
			}
		})
	}
}

func TestAuditTableIsOneRowPerEvent(t *testing.T) {
	dir := auditDir(t)
	out, err := runAudit(t, dir, "--member", "alice@acme.example", "--app", "budget", "--since", "2026-11-29", "audit.log")
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 3 || !strings.HasPrefix(lines[0], "TIME (UTC)") {
		t.Fatalf("table\n%s\nwant a header and two rows", out)
	}
	for i, want := range [][]string{
		{"2026-11-29 14:00:00", "alice@acme.example", "budget", "read", "allow", "7", "ok", "203.0.113.9"},
		{"2026-12-02 09:00:00", "alice@acme.example", "budget", "read", "deny", "denied"},
	} {
		for _, w := range want {
			if !strings.Contains(lines[i+1], w) {
				t.Errorf("row %d %q lacks %q", i+1, lines[i+1], w)
			}
		}
	}
}

func TestAuditRefusesWhatItCannotRead(t *testing.T) {
	dir := auditDir(t)
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"a decision that is neither", []string{"--decision", "maybe", "audit.log"}, "allow or deny"},
		{"a since that is no time", []string{"--since", "last week", "audit.log"}, "--since"},
		{"an until without unit", []string{"--until", "7", "audit.log"}, "give a unit"},
		{"a missing file", []string{"nope.log"}, "nope.log"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := runAudit(t, dir, tt.args...)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err %v, want one naming %q", err, tt.want)
			}
		})
	}
}

// Each jq recipe of README "Audit" picks the same events as the kgate audit
// line above it.
func TestAuditREADMEjqRecipesMatchTheCommand(t *testing.T) {
	testenv.LookPath(t, "jq")
	testenv.LookPath(t, "zcat")
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	s := string(readme)
	start, end := strings.Index(s, "<!-- audit-recipes -->"), strings.Index(s, "<!-- /audit-recipes -->")
	if start < 0 || end < start {
		t.Fatal("README has no audit-recipes block")
	}
	var kg, jq []string
	for _, l := range strings.Split(s[start:end], "\n") {
		switch {
		case strings.HasPrefix(l, "kgate audit "):
			kg = append(kg, strings.TrimPrefix(l, "kgate audit "))
		case strings.HasPrefix(l, "zcat "):
			jq = append(jq, l)
		}
	}
	if len(kg) == 0 || len(kg) != len(jq) {
		t.Fatalf("%d kgate lines and %d jq lines, want pairs", len(kg), len(jq))
	}
	dir := auditDir(t)
	for i := range kg {
		t.Run(kg[i], func(t *testing.T) {
			want, err := runAudit(t, dir, append([]string{"--json"}, strings.Fields(kg[i])...)...)
			if err != nil {
				t.Fatal(err)
			}
			cmd := exec.Command("sh", "-c", jq[i])
			cmd.Dir = dir
			got, err := cmd.Output()
			if err != nil {
				t.Fatalf("%s: %v", jq[i], err)
			}
			if g, w := normalJSONLines(t, string(got)), normalJSONLines(t, want); !reflect.DeepEqual(g, w) {
				t.Errorf("jq gave\n%s\nkgate audit gave\n%s", strings.Join(g, "\n"), strings.Join(w, "\n"))
			}
			if strings.TrimSpace(want) == "" {
				t.Error("the recipe matches nothing in the fixture, so it proves nothing")
			}
		})
	}
}

func normalJSONLines(t *testing.T, s string) []string {
	t.Helper()
	var out []string
	for _, l := range strings.Split(strings.TrimSpace(s), "\n") {
		if l == "" {
			continue
		}
		var v any
		if err := json.Unmarshal([]byte(l), &v); err != nil {
			t.Fatalf("%q: %v", l, err)
		}
		b, _ := json.Marshal(v)
		out = append(out, string(b))
	}
	return out
}
