// Package audit writes kgate's audit log: one JSON event per decision,
// login, logout or write attempt, through a zap logger the operator routes
// where they like (Caddy's logging config can send the "kgate.audit" logger
// to its own file). Events carry names, never values: no tokens, no cookies,
// no field contents.
package audit

import (
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
)

// Event is one audited thing that happened. Zero fields are left out.
type Event struct {
	Kind    string // "read", "write", "login", "logout", "login_failure", …
	Subject string
	Email   string
	Org     string
	Level   string
	Via     string // "session" or "bearer"

	App       string
	Action    string // policy action: read, create, update, …
	Allowed   bool
	Reasons   []string
	Records   int      // records returned or written
	RecordIDs []string // ids touched by a write
	Fields    []string // field codes touched by a write (names only)

	PolicyVersion  string
	UpstreamStatus int    // kintone's HTTP status, 0 when kintone was not called
	Outcome        string // "ok", "denied", "error", "unknown" (a write whose result kgate could not learn)
	Error          string // a short description, never a credential
	RemoteIP       string
	Duration       time.Duration
}

// Logger writes events. The zero value and a nil *Logger discard them, so
// callers need no checks.
type Logger struct{ z *zap.Logger }

// New returns a Logger writing to z.
func New(z *zap.Logger) *Logger { return &Logger{z: z} }

// Log writes e with the current time.
func (l *Logger) Log(e Event) {
	if l == nil || l.z == nil {
		return
	}
	if ce := l.z.Check(zapcore.InfoLevel, e.Kind); ce != nil {
		ce.Write(e.fields()...)
	}
}

func (e Event) fields() []zap.Field {
	f := make([]zap.Field, 0, 20)
	str := func(k, v string) {
		if v != "" {
			f = append(f, zap.String(k, v))
		}
	}
	str("subject", e.Subject)
	str("email", e.Email)
	str("org", e.Org)
	str("level", e.Level)
	str("via", e.Via)
	str("app", e.App)
	str("action", e.Action)
	f = append(f, zap.Bool("allowed", e.Allowed))
	if len(e.Reasons) > 0 {
		f = append(f, zap.Strings("reasons", e.Reasons))
	}
	if e.Records > 0 {
		f = append(f, zap.Int("records", e.Records))
	}
	if len(e.RecordIDs) > 0 {
		f = append(f, zap.Strings("record_ids", e.RecordIDs))
	}
	if len(e.Fields) > 0 {
		f = append(f, zap.Strings("fields", e.Fields))
	}
	str("policy_version", e.PolicyVersion)
	if e.UpstreamStatus != 0 {
		f = append(f, zap.Int("upstream_status", e.UpstreamStatus))
	}
	str("outcome", e.Outcome)
	str("error", e.Error)
	str("remote_ip", e.RemoteIP)
	if e.Duration > 0 {
		f = append(f, zap.Duration("duration", e.Duration))
	}
	return f
}
