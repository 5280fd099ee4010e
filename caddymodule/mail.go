package caddymodule

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"
	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"

	"github.com/kgate/kgate/internal/mail"
)

// Mail is the SMTP server kgate sends its e-mail through (sign-up answers,
// invitations, notifications) and the queue that keeps the e-mail until
// that server has taken it: in Redis when sessions are there
// (session_store), so every instance shares it, else in queue_dir.
type Mail struct {
	// SMTP is the server's host:port: 587 with STARTTLS, 465 with
	// implicit TLS.
	SMTP string `json:"smtp"`
	// Username for AUTH (placeholders such as {env.KGATE_SMTP_USER});
	// empty sends without AUTH.
	Username string `json:"username,omitempty"`
	// Password for AUTH (placeholders such as {env.KGATE_SMTP_PASSWORD}).
	Password string `json:"password,omitempty"`
	// From is the sender, maybe with a name: "Partner Portal
	// <portal@example.com>".
	From string `json:"from"`
	// StartTLS is "required" (the default: STARTTLS, and no mail without
	// it), "implicit" (TLS from the first byte, port 465) or "none"
	// (plain SMTP, only to a server on this machine).
	StartTLS string `json:"starttls,omitempty"`
	// CAFile is a PEM file of the certificates that sign the server's,
	// when that is not a public one (an internal relay); default: the
	// system's.
	CAFile string `json:"ca_file,omitempty"`
	// QueueDir is the directory of the queue without Redis (default
	// kgate/mail in Caddy's data directory); the notifications waiting
	// for digests are kept beside it, in QueueDir + "-digests". One
	// instance per directory.
	QueueDir string `json:"queue_dir,omitempty"`
	// MaxQueue bounds the messages waiting (default 10,000); past it a
	// new message is refused and the refusal logged by its sender.
	MaxQueue int `json:"max_queue,omitempty"`
}

// startOutbox builds the outbox of the mail block and starts its delivery
// loop; nothing without a mail block.
func (h *Handler) startOutbox(repl *caddy.Replacer) error {
	m := h.Mail
	if m == nil {
		return nil
	}
	cfg, err := m.config(repl)
	if err != nil {
		return err
	}
	cfg.Logger = h.logger.Named("mail")
	client, err := h.redisClient(repl)
	if err != nil {
		return err
	}
	var o *mail.SMTPOutbox
	switch {
	case client != nil && repl.ReplaceKnown(m.QueueDir, "") != "":
		return errors.New("mail: queue_dir is set, but the mail queue is in the Redis of session_store, which every instance shares; remove queue_dir")
	case client != nil:
		o, err = mail.NewRedis(client, cfg)
	default:
		o, err = mail.NewDir(m.queueDir(repl), cfg)
	}
	if err != nil {
		return err
	}
	o.Start()
	h.outbox = o
	return nil
}

// queueDir is the directory of the queue without Redis.
func (m *Mail) queueDir(repl *caddy.Replacer) string {
	if m != nil && repl.ReplaceKnown(m.QueueDir, "") != "" {
		return repl.ReplaceKnown(m.QueueDir, "")
	}
	return filepath.Join(caddy.AppDataDir(), "kgate", "mail")
}

// config turns the block into the outbox's settings, refusing what would
// send mail or a password in the clear.
func (m *Mail) config(repl *caddy.Replacer) (mail.Config, error) {
	cfg := mail.Config{
		SMTP: mail.SMTP{
			Addr:     repl.ReplaceKnown(m.SMTP, ""),
			Username: repl.ReplaceKnown(m.Username, ""),
			Password: repl.ReplaceKnown(m.Password, ""),
			TLS:      m.StartTLS,
		},
		From:     repl.ReplaceKnown(m.From, ""),
		MaxQueue: m.MaxQueue,
	}
	if cfg.SMTP.Addr == "" {
		return cfg, errors.New("mail: smtp host:port is required (is the environment variable set?)")
	}
	if cfg.From == "" {
		return cfg, errors.New("mail: from is required, e.g. `from \"Partner Portal <portal@example.com>\"`")
	}
	if m.Username != "" && cfg.SMTP.Username == "" || m.Password != "" && cfg.SMTP.Password == "" {
		return cfg, errors.New("mail: username or password is empty after replacing placeholders (is the environment variable set?)")
	}
	if cfg.SMTP.Username != "" && cfg.SMTP.Password == "" {
		return cfg, errors.New("mail: a username is set without a password")
	}
	if m.MaxQueue < 0 {
		return cfg, fmt.Errorf("mail: max_queue %d is not a positive number of messages", m.MaxQueue)
	}
	if file := repl.ReplaceKnown(m.CAFile, ""); file != "" {
		pem, err := os.ReadFile(file)
		if err != nil {
			return cfg, fmt.Errorf("mail: ca_file: %w", err)
		}
		cfg.SMTP.RootCAs = x509.NewCertPool()
		if !cfg.SMTP.RootCAs.AppendCertsFromPEM(pem) {
			return cfg, fmt.Errorf("mail: ca_file %s holds no PEM certificate", file)
		}
	}
	return cfg, cfg.SMTP.Check()
}

// mailOutbox is where sign-up, invitations and notifications hand their
// e-mail; nil (an untyped nil, so `== nil` holds) without a mail block.
func (h *Handler) mailOutbox() mail.Outbox {
	if h.outbox == nil {
		return nil
	}
	return h.outbox
}

// stopOutbox ends the delivery loop; what is queued stays for the next
// start (or, in Redis, for the other instances).
func (h *Handler) stopOutbox() error {
	if h.outbox == nil {
		return nil
	}
	return h.outbox.Stop()
}

// unmarshal reads
//
//	mail <host:port> {
//	    username <user>
//	    password <password>
//	    from <address>              # quoted when it has a name
//	    starttls required|implicit|none
//	    ca_file <pem file>
//	    queue_dir <dir>
//	    max_queue <n>
//	}
func (m *Mail) unmarshal(d *caddyfile.Dispenser) error {
	if !d.Args(&m.SMTP) {
		return d.Errf("mail needs the SMTP server, e.g. `mail smtp.example.com:587 { from portal@example.com }`")
	}
	for nesting := d.Nesting(); d.NextBlock(nesting); {
		var err error
		name := d.Val()
		switch name {
		case "username":
			err = oneArg(d, &m.Username)
		case "password":
			err = oneArg(d, &m.Password)
		case "from":
			err = oneArg(d, &m.From)
		case "ca_file":
			err = oneArg(d, &m.CAFile)
		case "queue_dir":
			err = oneArg(d, &m.QueueDir)
		case "starttls":
			if !d.Args(&m.StartTLS) || !strings.Contains(" required implicit none ", " "+m.StartTLS+" ") {
				return d.Errf("mail: starttls %q: want required, implicit or none", m.StartTLS)
			}
		case "max_queue":
			err = parseInt(d, "max_queue", &m.MaxQueue, 1, 1_000_000)
		default:
			return d.Errf("unknown mail setting %q (want username, password, from, starttls, ca_file, queue_dir or max_queue)", name)
		}
		if err != nil {
			return err
		}
	}
	if m.From == "" {
		return d.Errf("mail: from is required, e.g. `from \"Partner Portal <portal@example.com>\"`")
	}
	return nil
}

// oneArg reads the one value of the setting d is at.
func oneArg(d *caddyfile.Dispenser, into *string) error {
	name := d.Val()
	if !d.Args(into) || d.NextArg() {
		return d.Errf("mail: %s takes one value", name)
	}
	return nil
}

// mailCollector exposes the outbox through Caddy's metrics: what waits,
// and what was sent, retried and moved aside.
type mailCollector struct{ o *mail.SMTPOutbox }

var (
	mailQueued = prometheus.NewDesc("kgate_mail_queued",
		"E-mail messages waiting for the SMTP server or being sent (in Redis: every instance's).", nil, nil)
	mailSent = prometheus.NewDesc("kgate_mail_sent_total",
		"E-mail messages the SMTP server accepted.", nil, nil)
	mailRetried = prometheus.NewDesc("kgate_mail_retries_total",
		"Deliveries that failed and will be tried again.", nil, nil)
	mailMovedAside = prometheus.NewDesc("kgate_mail_moved_aside_total",
		"E-mail messages not delivered and moved aside, per reason: refused (5xx) or expired (undelivered for three days).", []string{"reason"}, nil)
)

func (c mailCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- mailQueued
	ch <- mailSent
	ch <- mailRetried
	ch <- mailMovedAside
}

func (c mailCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if n, err := c.o.Len(ctx); err == nil {
		ch <- prometheus.MustNewConstMetric(mailQueued, prometheus.GaugeValue, float64(n))
	}
	st := c.o.Stats()
	ch <- prometheus.MustNewConstMetric(mailSent, prometheus.CounterValue, float64(st.Sent))
	ch <- prometheus.MustNewConstMetric(mailRetried, prometheus.CounterValue, float64(st.Retried))
	ch <- prometheus.MustNewConstMetric(mailMovedAside, prometheus.CounterValue, float64(st.Refused), "refused")
	ch <- prometheus.MustNewConstMetric(mailMovedAside, prometheus.CounterValue, float64(st.Expired), "expired")
}

// registerMailMetrics adds the outbox's metrics to Caddy's, when there is
// an outbox and a registry.
func (h *Handler) registerMailMetrics(ctx caddy.Context) {
	if h.outbox == nil {
		return
	}
	if reg := ctx.GetMetricsRegistry(); reg != nil {
		if err := reg.Register(mailCollector{h.outbox}); err != nil {
			h.logger.Warn("the mail outbox's metrics are not registered", zap.Error(err))
		}
	}
}
