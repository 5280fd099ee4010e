// Package mailcatch is an SMTP server that keeps what it is sent instead of
// delivering it: tests read kgate's e-mail back from it, and `kgate demo`
// shows it on a page so a new user sees mail happen. It listens on a
// loopback port chosen at run time, offers STARTTLS (or implicit TLS) with
// a certificate made at start, and can require AUTH.
package mailcatch

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"sync"
	"time"

	"github.com/emersion/go-smtp"
)

// TLS modes of a catcher, as kgate's mail settings name them.
const (
	StartTLS = "required" // STARTTLS offered, and required before MAIL
	Implicit = "implicit" // TLS from the first byte, as on port 465
	NoTLS    = "none"     // plain SMTP, no STARTTLS offered
)

// Options shape a catcher. The zero value is a STARTTLS server without
// AUTH on a free loopback port.
type Options struct {
	// Addr is where to listen; empty is 127.0.0.1 on a free port.
	Addr string
	// TLS is StartTLS (the default), Implicit or NoTLS.
	TLS string
	// Username and Password, when set, must be given (AUTH PLAIN or
	// LOGIN) before MAIL.
	Username, Password string
	// Refuse, when set, answers 550 (permanent) to the recipients it
	// reports.
	Refuse func(rcpt string) bool
}

// Catcher is a running catcher.
type Catcher struct {
	opts Options
	// Addr is host:port of the server.
	Addr string
	// Roots trusts the catcher's certificate; CertPEM is that
	// certificate, for a program that reads it from a file.
	Roots   *x509.CertPool
	CertPEM []byte
	tlsConf *tls.Config

	mu      sync.Mutex
	srv     *smtp.Server
	l       net.Listener
	mails   []Mail
	changed chan struct{} // closed, and replaced, when a mail arrives
}

// Start starts a catcher.
func Start(opts Options) (*Catcher, error) {
	switch opts.TLS {
	case "":
		opts.TLS = StartTLS
	case StartTLS, Implicit, NoTLS:
	default:
		return nil, fmt.Errorf("mailcatch: TLS mode %q is none of %s, %s, %s", opts.TLS, StartTLS, Implicit, NoTLS)
	}
	if opts.Addr == "" {
		opts.Addr = "127.0.0.1:0"
	}
	cert, certPEM, err := certificate()
	if err != nil {
		return nil, err
	}
	c := &Catcher{opts: opts, CertPEM: certPEM, Roots: x509.NewCertPool(), changed: make(chan struct{}),
		tlsConf: &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}}
	c.Roots.AppendCertsFromPEM(certPEM)
	if err := c.listen(); err != nil {
		return nil, err
	}
	return c, nil
}

// listen serves on opts.Addr, the first time, and on Addr after Stop.
func (c *Catcher) listen() error {
	addr := c.opts.Addr
	if c.Addr != "" {
		addr = c.Addr
	}
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("mailcatch: %w", err)
	}
	c.Addr = l.Addr().String()
	srv := smtp.NewServer(&backend{c: c})
	srv.Domain = "mailcatch.localhost"
	srv.ReadTimeout, srv.WriteTimeout = time.Minute, time.Minute
	srv.MaxMessageBytes = 10 << 20
	srv.MaxRecipients = 100
	srv.ErrorLog = discardLog{}
	switch c.opts.TLS {
	case StartTLS:
		srv.TLSConfig = c.tlsConf
	case Implicit:
		srv.TLSConfig = c.tlsConf
		l = tls.NewListener(l, c.tlsConf)
	case NoTLS:
		// AUTH in the clear: kgate refuses to send it, which a test
		// shows against this server.
		srv.AllowInsecureAuth = true
	}
	c.mu.Lock()
	c.srv, c.l = srv, l
	c.mu.Unlock()
	go srv.Serve(l)
	return nil
}

// Stop closes the server, as if the mail server were down; what it caught
// stays readable. Start serves again on the same address.
func (c *Catcher) Stop() error {
	c.mu.Lock()
	srv, l := c.srv, c.l
	c.srv, c.l = nil, nil
	c.mu.Unlock()
	if srv == nil {
		return nil
	}
	// The listener is closed here too: Serve may not have registered it
	// with the server yet, and then the server's Close would miss it.
	l.Close()
	srv.Close()
	return nil
}

// Start serves again, on the same address, after Stop.
func (c *Catcher) Start() error {
	c.mu.Lock()
	running := c.srv != nil
	c.mu.Unlock()
	if running {
		return errors.New("mailcatch: already serving")
	}
	return c.listen()
}

// Close stops the catcher for good.
func (c *Catcher) Close() error { return c.Stop() }

// Mails returns what the catcher has caught, oldest first.
func (c *Catcher) Mails() []Mail {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]Mail(nil), c.mails...)
}

// Changed returns a channel closed when the next mail arrives.
func (c *Catcher) Changed() <-chan struct{} {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.changed
}

// Wait returns the caught mails once there are at least n, or fails when
// the deadline passes first.
func (c *Catcher) Wait(n int, timeout time.Duration) ([]Mail, error) {
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	for {
		changed := c.Changed()
		if m := c.Mails(); len(m) >= n {
			return m, nil
		}
		select {
		case <-changed:
		case <-deadline.C:
			m := c.Mails()
			return m, fmt.Errorf("mailcatch: %d mails caught in %s, want %d", len(m), timeout, n)
		}
	}
}

func (c *Catcher) add(m Mail) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.mails = append(c.mails, m)
	close(c.changed)
	c.changed = make(chan struct{})
}

type discardLog struct{}

func (discardLog) Printf(string, ...any) {}
func (discardLog) Println(...any)        {}
