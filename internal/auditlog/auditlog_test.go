package auditlog

import (
	"bytes"
	"compress/gzip"
	"strings"
	"testing"
	"time"

	"github.com/klauspost/compress/zstd"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"github.com/kgate/kgate/internal/audit"
)

var base = time.Date(2026, 11, 20, 9, 0, 0, 0, time.UTC)

type stepClock struct{ at []time.Time }

func (c *stepClock) Now() time.Time {
	t := c.at[0]
	c.at = c.at[1:]
	return t
}
func (c *stepClock) NewTicker(time.Duration) *time.Ticker { return time.NewTicker(time.Hour) }

// fixture writes events through package audit with the encoder settings of
// Caddyfile.example (or Caddy's default Unix seconds), one day apart.
func fixture(t *testing.T, timeEnc zapcore.TimeEncoder, evs ...audit.Event) []byte {
	t.Helper()
	var buf bytes.Buffer
	cfg := zap.NewProductionEncoderConfig()
	cfg.EncodeTime = timeEnc
	clock := &stepClock{}
	for i := range evs {
		clock.at = append(clock.at, base.Add(time.Duration(i)*24*time.Hour))
	}
	core := zapcore.NewCore(zapcore.NewJSONEncoder(cfg), zapcore.AddSync(&buf), zap.InfoLevel)
	l := audit.New(zap.New(core, zap.WithClock(clock)).Named("http.handlers.kgate.audit"))
	for _, e := range evs {
		l.Log(e)
	}
	return buf.Bytes()
}

var events = []audit.Event{
	{Kind: "login", Email: "alice@acme.example", Subject: "u-alice", Outcome: "ok"},                                               // day 0
	{Kind: "read", Email: "alice@acme.example", App: "budget", Action: "read", Allowed: true, Records: 3},                         // day 1
	{Kind: "read", Email: "alice@acme.example", App: "orders", Action: "comment.read", Allowed: true},                             // day 2
	{Kind: "write", Email: "alice@acme.example", App: "budget", Action: "update", RecordIDs: []string{"7"}},                       // day 3
	{Kind: "read", Email: "bob@bluebird.example", Subject: "u-bob", App: "budget", Action: "read", Allowed: true},                 // day 4
	{Kind: "write", Email: "Alice@ACME.example", App: "orders", Action: "create", Allowed: true, Records: 1},                      // day 5
	{Kind: "read", Email: "bob@bluebird.example", ViewedBy: "sam@operator.example", App: "orders", Action: "read", Allowed: true}, // day 6
}

func kinds(t *testing.T, log []byte, f Filter) []string {
	t.Helper()
	var got []string
	if _, err := Read(bytes.NewReader(log), f, func(e *Entry) {
		got = append(got, e.Time.Format("02")+":"+e.Kind+"/"+e.Action)
	}); err != nil {
		t.Fatal(err)
	}
	return got
}

func TestFiltersPickWhatTheAuditorAsks(t *testing.T) {
	log := fixture(t, zapcore.RFC3339NanoTimeEncoder, events...)
	tests := []struct {
		name string
		f    Filter
		want string
	}{
		{"everything", Filter{}, "20:login/ 21:read/read 22:read/comment.read 23:write/update 24:read/read 25:write/create 26:read/read"},
		{"a member by e-mail, whatever its case", Filter{Member: "alice@acme.example"}, "20:login/ 21:read/read 22:read/comment.read 23:write/update 25:write/create"},
		{"a member by subject", Filter{Member: "u-bob"}, "24:read/read"},
		{"a member, and what staff saw as them", Filter{Member: "bob@bluebird.example"}, "24:read/read 26:read/read"},
		{"staff by what they viewed as members", Filter{Member: "sam@operator.example"}, "26:read/read"},
		{"every read, comments included", Filter{Action: "read"}, "21:read/read 22:read/comment.read 24:read/read 26:read/read"},
		{"one policy action", Filter{Action: "comment.read"}, "22:read/comment.read"},
		{"an event kind without action", Filter{Action: "login"}, "20:login/"},
		{"one app", Filter{App: "orders"}, "22:read/comment.read 25:write/create 26:read/read"},
		{"denials", Filter{Decision: "deny"}, "23:write/update"},
		{"since is inclusive", Filter{Since: base.Add(4 * 24 * time.Hour)}, "24:read/read 25:write/create 26:read/read"},
		{"until is exclusive", Filter{Until: base.Add(24 * time.Hour)}, "20:login/"},
		{"what alice read in a window", Filter{Member: "alice@acme.example", Action: "read", Since: base.Add(time.Hour), Until: base.Add(2*24*time.Hour + time.Hour)},
			"21:read/read 22:read/comment.read"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := strings.Join(kinds(t, log, tt.f), " "); got != tt.want {
				t.Errorf("got  %s\nwant %s", got, tt.want)
			}
		})
	}
}

func TestRolledFilesReadAsThePlainOne(t *testing.T) {
	plain := fixture(t, zapcore.RFC3339NanoTimeEncoder, events...)
	var gz, zs bytes.Buffer
	gw := gzip.NewWriter(&gz)
	gw.Write(plain)
	gw.Close()
	zw, _ := zstd.NewWriter(&zs)
	zw.Write(plain)
	zw.Close()
	want := strings.Join(kinds(t, plain, Filter{}), " ")
	if want == "" {
		t.Fatal("the plain fixture has no events")
	}
	for name, log := range map[string][]byte{"gzip": gz.Bytes(), "zstd": zs.Bytes()} {
		if got := strings.Join(kinds(t, log, Filter{}), " "); got != want {
			t.Errorf("%s: got %s, want %s", name, got, want)
		}
	}
}

func TestTimesInEachOfCaddysFormatsAreRead(t *testing.T) {
	for name, enc := range map[string]zapcore.TimeEncoder{
		"unix seconds (Caddy's default)": zapcore.EpochTimeEncoder,
		"rfc3339_nano":                   zapcore.RFC3339NanoTimeEncoder,
		"iso8601":                        zapcore.ISO8601TimeEncoder,
	} {
		t.Run(name, func(t *testing.T) {
			log := fixture(t, enc, events[:2]...)
			var got []time.Time
			Read(bytes.NewReader(log), Filter{}, func(e *Entry) { got = append(got, e.Time) })
			if len(got) != 2 || !got[0].Equal(base) || !got[1].Equal(base.Add(24*time.Hour)) {
				t.Errorf("times %v, want %v and a day later", got, base)
			}
		})
	}
}

func TestLinesThatAreNoAuditEventAreSkippedAndCounted(t *testing.T) {
	log := fixture(t, zapcore.RFC3339NanoTimeEncoder, events[:2]...)
	log = append(log, []byte(`{"level":"info","ts":1.7e9,"logger":"http.log.access","msg":"handled request"}`+"\n"+`{"level":"info","ts":"2026-11-2`)...)
	var n int
	st, err := Read(bytes.NewReader(log), Filter{}, func(*Entry) { n++ })
	if err != nil || n != 2 || st.Lines != 4 || st.Skipped != 2 {
		t.Errorf("%d events, stats %+v, err %v; want 2 events of 4 lines, 2 skipped", n, st, err)
	}
}

func TestWhenIsADurationADateOrATime(t *testing.T) {
	now := time.Date(2026, 12, 4, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		in      string
		want    time.Time
		wantErr string
	}{
		{"7d", now.Add(-7 * 24 * time.Hour), ""},
		{"36h", now.Add(-36 * time.Hour), ""},
		{"2026-11-27", time.Date(2026, 11, 27, 0, 0, 0, 0, time.UTC), ""},
		{"2026-11-27T08:30:00+09:00", time.Date(2026, 11, 26, 23, 30, 0, 0, time.UTC), ""},
		{"7", time.Time{}, "give a unit"},
		{"last week", time.Time{}, "neither a duration"},
		{"-3d", time.Time{}, "must be positive"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := ParseWhen(tt.in, now)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Errorf("err %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil || !got.Equal(tt.want) {
				t.Errorf("got %v %v, want %v", got, err, tt.want)
			}
		})
	}
}
