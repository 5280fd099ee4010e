package caddymodule

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"

	"github.com/kgate/kgate/internal/audit"
	"github.com/kgate/kgate/internal/auditsink"
	"github.com/kgate/kgate/internal/kintone"
)

// withAuditRequest returns r carrying the request id and client address
// that every audit event written while serving it records. The id is
// Caddy's {http.request.uuid}, which Caddy then adds to the request's
// access log entry as "uuid", so the two logs join; the address honours
// the server's trusted_proxies.
func withAuditRequest(r *http.Request) *http.Request {
	var req audit.Request
	if repl, ok := r.Context().Value(caddy.ReplacerCtxKey).(*caddy.Replacer); ok {
		req.ID = repl.ReplaceAll("{http.request.uuid}", "")
	}
	req.RemoteIP, _ = caddyhttp.GetVar(r.Context(), caddyhttp.ClientIPVarKey).(string)
	return r.WithContext(audit.WithRequest(r.Context(), req))
}

// AuditApp is a kintone app, on the domain of `kintone`, that the audit
// events are also written into as records (README "Audit" lists its
// fields). It is not one of `apps`: members never reach it through kgate.
type AuditApp struct {
	// ID is the app's id.
	ID string `json:"id"`
	// GuestSpace is the guest space id when the app is in one.
	GuestSpace string `json:"guest_space,omitempty"`
	// Tokens are API tokens with the add right (placeholders such as
	// {env.KGATE_AUDIT_TOKEN} are replaced at provisioning).
	Tokens []string `json:"tokens"`
	// Queue bounds the events waiting for kintone (default 10,000); past
	// it the oldest are dropped and counted.
	Queue int `json:"queue,omitempty"`
	// FlushEvery is how often waiting events are sent (default 5s); a
	// full batch of 100 goes at once.
	FlushEvery caddy.Duration `json:"flush_every,omitempty"`
}

// auditLogger returns the one audit logger of the handler: the
// http.handlers.kgate.audit logger, and with an audit app its sink too.
func (h *Handler) auditLogger(ctx caddy.Context, repl *caddy.Replacer, client *kintone.Client) (*audit.Logger, error) {
	l := audit.New(h.logger.Named("audit"))
	a := h.AuditApp
	if a == nil {
		return l, nil
	}
	if n, err := strconv.ParseUint(a.ID, 10, 63); err != nil || n == 0 {
		return nil, fmt.Errorf("audit_app: %q is not a kintone app id (a number such as 12)", a.ID)
	}
	tokens := make([]string, len(a.Tokens))
	for i, t := range a.Tokens {
		if tokens[i] = repl.ReplaceKnown(t, ""); tokens[i] == "" {
			return nil, fmt.Errorf("audit_app: token %d is empty after replacing placeholders (is the environment variable set?)", i+1)
		}
	}
	if len(tokens) == 0 {
		return nil, errors.New("audit_app: a `token` with the add right is required")
	}
	h.auditSink = auditsink.New(auditsink.Config{
		Client: client, App: a.ID, GuestSpace: a.GuestSpace, Tokens: tokens,
		MaxQueue: a.Queue, FlushEvery: time.Duration(a.FlushEvery), Logger: h.logger.Named("audit_sink"),
	})
	if reg := ctx.GetMetricsRegistry(); reg != nil {
		if err := reg.Register(sinkCollector{h.auditSink}); err != nil {
			h.logger.Warn("the audit sink's metrics are not registered", zap.Error(err))
		}
	}
	return l.WithSink(h.auditSink), nil
}

// closeAuditSink sends what is queued, for at most auditFlushTimeout.
func (h *Handler) closeAuditSink() error {
	if h.auditSink == nil {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), auditFlushTimeout)
	defer cancel()
	if err := h.auditSink.Close(ctx); err != nil {
		st := h.auditSink.Stats()
		return fmt.Errorf("audit sink: %d events not delivered: %w", st.Queued, err)
	}
	return nil
}

// auditFlushTimeout bounds how long Cleanup waits for kintone to take the
// queued events: a reload must not hang on an absent kintone.
const auditFlushTimeout = 10 * time.Second

func (a *AuditApp) unmarshal(d *caddyfile.Dispenser) error {
	if !d.Args(&a.ID) {
		return d.Errf("audit_app needs kintone's app id, e.g. `audit_app 31 { token {env.KGATE_AUDIT_TOKEN} }`")
	}
	for nesting := d.Nesting(); d.NextBlock(nesting); {
		var err error
		switch d.Val() {
		case "guest_space":
			if !d.Args(&a.GuestSpace) {
				return d.ArgErr()
			}
		case "token":
			args := d.RemainingArgs()
			if len(args) == 0 {
				return d.Errf("audit_app: token needs a value, e.g. `token {env.KGATE_AUDIT_TOKEN}`")
			}
			a.Tokens = append(a.Tokens, args...)
		case "queue":
			var s string
			if !d.Args(&s) {
				return d.ArgErr()
			}
			if a.Queue, err = strconv.Atoi(s); err != nil || a.Queue <= 0 {
				return d.Errf("audit_app: queue %q is not a positive number of events", s)
			}
		case "flush_every":
			err = parseDuration(d, "flush_every", &a.FlushEvery)
		default:
			return d.Errf("unknown audit_app setting %q (want token, guest_space, queue or flush_every)", d.Val())
		}
		if err != nil {
			return err
		}
	}
	if len(a.Tokens) == 0 {
		return d.Errf("audit_app: a `token` with the add right is required")
	}
	return nil
}

// sinkCollector exposes the audit sink's counters through Caddy's metrics.
type sinkCollector struct{ s *auditsink.Sink }

var (
	sinkQueued = prometheus.NewDesc("kgate_audit_sink_queued",
		"Audit events waiting to be written into the audit app.", nil, nil)
	sinkSent = prometheus.NewDesc("kgate_audit_sink_sent_total",
		"Audit events written into the audit app.", nil, nil)
	sinkDropped = prometheus.NewDesc("kgate_audit_sink_dropped_total",
		"Audit events not written into the audit app, per reason: overflow (the queue was full) or rejected (kintone refused them).", []string{"reason"}, nil)
	sinkRequests = prometheus.NewDesc("kgate_audit_sink_requests_total",
		"POSTs to the audit app, and those that failed and were retried.", []string{"result"}, nil)
)

func (c sinkCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- sinkQueued
	ch <- sinkSent
	ch <- sinkDropped
	ch <- sinkRequests
}

func (c sinkCollector) Collect(ch chan<- prometheus.Metric) {
	st := c.s.Stats()
	ch <- prometheus.MustNewConstMetric(sinkQueued, prometheus.GaugeValue, float64(st.Queued))
	ch <- prometheus.MustNewConstMetric(sinkSent, prometheus.CounterValue, float64(st.Sent))
	ch <- prometheus.MustNewConstMetric(sinkDropped, prometheus.CounterValue, float64(st.Dropped), "overflow")
	ch <- prometheus.MustNewConstMetric(sinkDropped, prometheus.CounterValue, float64(st.Rejected), "rejected")
	ch <- prometheus.MustNewConstMetric(sinkRequests, prometheus.CounterValue, float64(st.Requests-st.Failures), "ok")
	ch <- prometheus.MustNewConstMetric(sinkRequests, prometheus.CounterValue, float64(st.Failures), "failed")
}
