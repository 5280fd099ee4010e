package mail

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/mail"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
)

// TLS modes of the connection to the SMTP server.
const (
	TLSStartTLS = "required" // STARTTLS, and no mail without it (port 587 or 25)
	TLSImplicit = "implicit" // TLS from the first byte (port 465)
	TLSNone     = "none"     // plain SMTP: only to a server on this machine
)

// SMTP is how kgate reaches its mail server.
type SMTP struct {
	// Addr is host:port.
	Addr string
	// Username and Password, when set, are given with AUTH PLAIN (or
	// LOGIN when the server offers only that), over TLS only.
	Username, Password string
	// TLS is TLSStartTLS (the default), TLSImplicit or TLSNone.
	TLS string
	// RootCAs verify the server's certificate; nil is the system's.
	RootCAs *x509.CertPool
	// Timeout bounds one delivery, connection to QUIT; zero is a minute.
	Timeout time.Duration
}

// Check refuses settings that would send mail or a password in the clear
// over a network: plain SMTP is only for a server on this machine (a
// local relay), and AUTH only goes over TLS.
func (s *SMTP) Check() error {
	host, port, err := net.SplitHostPort(s.Addr)
	if err != nil || host == "" || port == "" {
		return fmt.Errorf("mail: smtp %q is not host:port", s.Addr)
	}
	switch s.TLS {
	case "":
		s.TLS = TLSStartTLS
	case TLSStartTLS, TLSImplicit:
	case TLSNone:
		if !loopback(host) {
			return fmt.Errorf("mail: starttls none sends mail in the clear, which is allowed only to a server on this machine (localhost, 127.0.0.1, ::1), not %s", host)
		}
		if s.Username != "" {
			return errors.New("mail: a username is set with starttls none, but kgate sends passwords over TLS only")
		}
	default:
		return fmt.Errorf("mail: starttls %q is none of required, implicit, none", s.TLS)
	}
	if s.Username == "" && s.Password != "" {
		return errors.New("mail: a password is set without a username")
	}
	return nil
}

func loopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// sendError is a failed delivery. Permanent is set when the server refused
// this message (5xx to RCPT or DATA): retrying cannot help. Failures
// before that (connection, TLS, AUTH, MAIL FROM) are the server's or the
// settings', not the message's, and are retried.
type sendError struct {
	err       error
	Permanent bool
	// Server is set when the failure is the server's or the settings',
	// so the outbox also waits before trying any other message.
	Server bool
}

func (e *sendError) Error() string { return e.err.Error() }
func (e *sendError) Unwrap() error { return e.err }

// Send delivers one composed message to one recipient.
func (s *SMTP) Send(ctx context.Context, from, to string, raw []byte) error {
	timeout := s.Timeout
	if timeout == 0 {
		timeout = time.Minute
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	c, err := s.dial(ctx)
	if err != nil {
		return &sendError{err: err, Server: true}
	}
	defer c.Close()
	stop := context.AfterFunc(ctx, func() { c.Close() })
	defer stop()
	if s.Username != "" {
		if err := c.Auth(s.auth(c)); err != nil {
			return &sendError{err: fmt.Errorf("AUTH: %w", err), Server: true}
		}
	}
	if err := c.Mail(from, nil); err != nil {
		return &sendError{err: fmt.Errorf("MAIL FROM: %w", err), Server: true}
	}
	if err := c.Rcpt(to, nil); err != nil {
		return &sendError{err: fmt.Errorf("RCPT TO: %w", err), Permanent: permanent(err)}
	}
	w, err := c.Data()
	if err != nil {
		return &sendError{err: fmt.Errorf("DATA: %w", err), Permanent: permanent(err)}
	}
	if _, err := w.Write(raw); err != nil {
		return &sendError{err: fmt.Errorf("DATA: %w", err)}
	}
	if err := w.Close(); err != nil {
		return &sendError{err: fmt.Errorf("DATA: %w", err), Permanent: permanent(err)}
	}
	// The message is the server's now; a failed QUIT changes nothing.
	c.Quit()
	return nil
}

func permanent(err error) bool {
	var se *smtp.SMTPError
	return errors.As(err, &se) && se.Code/100 == 5
}

// dial connects and, unless TLSNone, secures the connection; a server
// without STARTTLS is refused under TLSStartTLS.
func (s *SMTP) dial(ctx context.Context) (*smtp.Client, error) {
	host, _, _ := net.SplitHostPort(s.Addr)
	conf := &tls.Config{ServerName: host, RootCAs: s.RootCAs, MinVersion: tls.VersionTLS12}
	d := &net.Dialer{}
	conn, err := d.DialContext(ctx, "tcp", s.Addr)
	if err != nil {
		return nil, err
	}
	if dl, ok := ctx.Deadline(); ok {
		conn.SetDeadline(dl)
	}
	var c *smtp.Client
	switch s.TLS {
	case TLSImplicit:
		tc := tls.Client(conn, conf)
		if err := tc.HandshakeContext(ctx); err != nil {
			conn.Close()
			return nil, err
		}
		c = smtp.NewClient(tc)
	case TLSNone:
		c = smtp.NewClient(conn)
	default:
		if c, err = smtp.NewClientStartTLS(conn, conf); err != nil {
			conn.Close()
			return nil, fmt.Errorf("STARTTLS required: %w", err)
		}
	}
	return c, nil
}

func (s *SMTP) auth(c *smtp.Client) sasl.Client {
	if !c.SupportsAuth(sasl.Plain) && c.SupportsAuth(sasl.Login) {
		return sasl.NewLoginClient(s.Username, s.Password)
	}
	return sasl.NewPlainClient("", s.Username, s.Password)
}

// fromAddress parses the From setting: an address, maybe with a name
// ("Partner Portal <portal@example.com>").
func fromAddress(s string) (*mail.Address, error) {
	a, err := mail.ParseAddress(s)
	if err != nil {
		return nil, fmt.Errorf("mail: from %q is not an e-mail address: %w", s, err)
	}
	return a, nil
}
