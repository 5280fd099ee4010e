// Package audit writes kgate's audit log: one JSON event per decision,
// login, logout or write attempt, through a zap logger the operator routes
// where they like (Caddy's logging config can send the "kgate.audit" logger
// to its own file). Events carry names, never values: no tokens, no cookies,
// no field contents.
package audit

import (
	"context"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
)

// Event is one audited thing that happened. Zero fields are left out. The
// JSON key of each field is fixed: auditors' queries and the kintone sink's
// field mapping depend on it (README "Audit" lists them).
type Event struct {
	Kind    string // written as the entry's message: "read", "write", "login", "logout", "login_failure", …
	Subject string
	Email   string
	Org     string
	Level   string // the member's level, written as member_level: zap's own "level" key is the log level
	Via     string // "session" or "bearer"
	// ViewedBy is the staff member's e-mail address when staff act as the
	// member (Subject, Email, … are then the member's); written as
	// viewed_by.
	ViewedBy string

	App       string
	Action    string // policy action: read, create, update, …
	Allowed   bool   // written as decision "allow" or "deny" for events with an action
	Reasons   []string
	Records   int      // records returned or written
	RecordIDs []string // ids read one at a time or touched by a write
	Fields    []string // field codes touched by a write (names only)
	// Change is the kintone change a notification is about (the
	// webhook's type: ADD_RECORD, UPDATE_RECORD, UPDATE_STATUS,
	// ADD_RECORD_COMMENT); written as event.
	Change string

	PolicyVersion  string
	UpstreamStatus int    // kintone's HTTP status, 0 when kintone was not called
	Outcome        string // "ok", "denied", "error", "unknown" (a write whose result kgate could not learn)
	Error          string // a short description, never a credential
	RemoteIP       string
	RequestID      string // the HTTP request's id, Caddy's {http.request.uuid}
	Duration       time.Duration
}

// Decision is "allow" or "deny" for an event that carries a policy action,
// and "" for the others (a login is not a policy decision).
func (e Event) Decision() string {
	switch {
	case e.Action == "":
		return ""
	case e.Allowed:
		return "allow"
	default:
		return "deny"
	}
}

// Request is what the HTTP layer knows of a request that events made while
// serving it should carry.
type Request struct {
	ID       string
	RemoteIP string
}

type requestKey struct{}

// WithRequest returns ctx carrying r, for LogContext to fill events with.
func WithRequest(ctx context.Context, r Request) context.Context {
	return context.WithValue(ctx, requestKey{}, r)
}

// RequestFrom returns the Request ctx carries, or the zero Request.
func RequestFrom(ctx context.Context) Request {
	r, _ := ctx.Value(requestKey{}).(Request)
	return r
}

// Fill sets e's request id and remote address from r where e has none.
func (r Request) Fill(e *Event) {
	if e.RequestID == "" {
		e.RequestID = r.ID
	}
	if e.RemoteIP == "" {
		e.RemoteIP = r.RemoteIP
	}
}

// Sink receives every logged event besides the zap logger, for a second
// destination such as a kintone app. Enqueue must not block.
type Sink interface {
	Enqueue(at time.Time, e Event)
}

// Logger writes events. The zero value and a nil *Logger discard them, so
// callers need no checks.
type Logger struct {
	z    *zap.Logger
	sink Sink
}

// New returns a Logger writing to z.
func New(z *zap.Logger) *Logger { return &Logger{z: z} }

// WithSink returns a Logger writing to l's zap logger and to s.
func (l *Logger) WithSink(s Sink) *Logger {
	if l == nil {
		return &Logger{sink: s}
	}
	return &Logger{z: l.z, sink: s}
}

// Log writes e with the current time.
func (l *Logger) Log(e Event) {
	if l == nil {
		return
	}
	if l.z != nil {
		if ce := l.z.Check(zapcore.InfoLevel, e.Kind); ce != nil {
			ce.Write(e.fields()...)
		}
	}
	if l.sink != nil {
		l.sink.Enqueue(time.Now(), e)
	}
}

// LogContext writes e with the request id and remote address ctx carries
// (see WithRequest) filled in where e has none.
func (l *Logger) LogContext(ctx context.Context, e Event) {
	RequestFrom(ctx).Fill(&e)
	l.Log(e)
}

func (e Event) fields() []zap.Field {
	f := make([]zap.Field, 0, 22)
	str := func(k, v string) {
		if v != "" {
			f = append(f, zap.String(k, v))
		}
	}
	str("request_id", e.RequestID)
	str("subject", e.Subject)
	str("email", e.Email)
	str("org", e.Org)
	str("member_level", e.Level)
	str("via", e.Via)
	str("viewed_by", e.ViewedBy)
	str("app", e.App)
	str("action", e.Action)
	str("decision", e.Decision())
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
	str("event", e.Change)
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
