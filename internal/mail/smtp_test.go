package mail

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/kgate/kgate/internal/mail/mailcatch"
)

const raw = "From: portal@operator.example\r\nTo: alice@acme.example\r\nSubject: hi\r\n\r\nhello\r\n"

// Each TLS mode and AUTH against a server that offers, or lacks, what
// it needs: mail goes only where kgate's rules hold.
func TestSendSecuresTheConnectionAsConfigured(t *testing.T) {
	for _, tc := range []struct {
		name     string
		server   mailcatch.Options
		client   string
		user     string
		password string
		trust    bool
		refusal  string // empty: delivered
	}{
		{"STARTTLS to a server offering it", mailcatch.Options{}, TLSStartTLS, "", "", true, ""},
		{"STARTTLS required, the server lacks it", mailcatch.Options{TLS: mailcatch.NoTLS}, TLSStartTLS, "", "", true, "STARTTLS required"},
		{"STARTTLS to an untrusted certificate", mailcatch.Options{}, TLSStartTLS, "", "", false, "certificate"},
		{"implicit TLS", mailcatch.Options{TLS: mailcatch.Implicit}, TLSImplicit, "", "", true, ""},
		{"implicit TLS to a plain server", mailcatch.Options{TLS: mailcatch.NoTLS}, TLSImplicit, "", "", true, "tls"},
		{"plain SMTP on loopback", mailcatch.Options{TLS: mailcatch.NoTLS}, TLSNone, "", "", true, ""},
		{"AUTH over STARTTLS", mailcatch.Options{Username: "kgate", Password: "pw"}, TLSStartTLS, "kgate", "pw", true, ""},
		{"AUTH over implicit TLS", mailcatch.Options{TLS: mailcatch.Implicit, Username: "kgate", Password: "pw"}, TLSImplicit, "kgate", "pw", true, ""},
		{"AUTH with a wrong password", mailcatch.Options{Username: "kgate", Password: "pw"}, TLSStartTLS, "kgate", "nope", true, "535"},
		{"no AUTH where the server requires it", mailcatch.Options{Username: "kgate", Password: "pw"}, TLSStartTLS, "", "", true, "502"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := catcher(t, tc.server)
			s := smtpTo(c, tc.client)
			s.Username, s.Password = tc.user, tc.password
			if !tc.trust {
				s.RootCAs = nil
			}
			if err := s.Check(); err != nil {
				t.Fatal(err)
			}
			err := s.Send(context.Background(), "portal@operator.example", "alice@acme.example", []byte(raw))
			if tc.refusal == "" {
				if err != nil {
					t.Fatal(err)
				}
				m, err := c.Wait(1, 10*time.Second)
				if err != nil || m[0].Subject != "hi" || m[0].User != tc.user {
					t.Fatalf("caught %+v, %v", m, err)
				}
				return
			}
			var se *sendError
			if err == nil || !strings.Contains(strings.ToLower(err.Error()), strings.ToLower(tc.refusal)) ||
				!errors.As(err, &se) || !se.Server || se.Permanent {
				t.Fatalf("got %v, want a server failure naming %q", err, tc.refusal)
			}
			if n := len(c.Mails()); n != 0 {
				t.Fatalf("%d mails caught", n)
			}
		})
	}
}

func TestSettingsThatWouldSendInTheClearAreRefused(t *testing.T) {
	for _, tc := range []struct {
		name    string
		smtp    SMTP
		refusal string
	}{
		{"plain SMTP to another host", SMTP{Addr: "smtp.example.com:25", TLS: TLSNone}, "only to a server on this machine"},
		{"plain SMTP to a private address", SMTP{Addr: "10.0.0.5:25", TLS: TLSNone}, "only to a server on this machine"},
		{"a password without TLS", SMTP{Addr: "127.0.0.1:25", TLS: TLSNone, Username: "u", Password: "p"}, "over TLS only"},
		{"a password without a username", SMTP{Addr: "smtp.example.com:587", Password: "p"}, "without a username"},
		{"an unknown TLS mode", SMTP{Addr: "smtp.example.com:587", TLS: "optional"}, "none of required, implicit, none"},
		{"no port", SMTP{Addr: "smtp.example.com"}, "not host:port"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := tc.smtp.Check(); err == nil || !strings.Contains(err.Error(), tc.refusal) {
				t.Fatalf("got %v, want %q", err, tc.refusal)
			}
		})
	}
	for _, ok := range []SMTP{
		{Addr: "smtp.example.com:587"},
		{Addr: "smtp.example.com:465", TLS: TLSImplicit, Username: "u", Password: "p"},
		{Addr: "localhost:25", TLS: TLSNone},
		{Addr: "[::1]:25", TLS: TLSNone},
	} {
		if err := ok.Check(); err != nil {
			t.Errorf("%+v: %v", ok, err)
		}
	}
}
