package mailcatch

import (
	"crypto/tls"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
)

const sample = "From: kgate <kgate@example.com>\r\n" +
	"To: alice@acme.example\r\n" +
	"Subject: =?UTF-8?B?44GK55+l44KJ44Gb?= news\r\n" +
	"MIME-Version: 1.0\r\n" +
	"Content-Type: text/plain; charset=UTF-8\r\n" +
	"Content-Transfer-Encoding: quoted-printable\r\n" +
	"\r\n" +
	"=E3=81=93=E3=82=93=E3=81=AB=E3=81=A1=E3=81=AF\r\n" +
	"line two\r\n"

// send delivers sample as a client would, over the given TLS and AUTH.
func send(c *Catcher, tlsMode string, auth sasl.Client, to string) error {
	conf := &tls.Config{RootCAs: c.Roots, ServerName: "localhost"}
	var cl *smtp.Client
	var err error
	switch tlsMode {
	case StartTLS:
		cl, err = smtp.DialStartTLS(c.Addr, conf)
	case Implicit:
		cl, err = smtp.DialTLS(c.Addr, conf)
	default:
		cl, err = smtp.Dial(c.Addr)
	}
	if err != nil {
		return err
	}
	defer cl.Close()
	if auth != nil {
		if err := cl.Auth(auth); err != nil {
			return err
		}
	}
	return cl.SendMail("kgate@example.com", []string{to}, strings.NewReader(sample))
}

func TestCatcherKeepsWhatItAccepts(t *testing.T) {
	for _, tc := range []struct {
		name   string
		opts   Options
		client string
		auth   sasl.Client
		user   string
	}{
		{"STARTTLS without AUTH", Options{}, StartTLS, nil, ""},
		{"STARTTLS with AUTH PLAIN", Options{Username: "u", Password: "p"}, StartTLS, sasl.NewPlainClient("", "u", "p"), "u"},
		{"STARTTLS with AUTH LOGIN", Options{Username: "u", Password: "p"}, StartTLS, sasl.NewLoginClient("u", "p"), "u"},
		{"implicit TLS with AUTH", Options{TLS: Implicit, Username: "u", Password: "p"}, Implicit, sasl.NewPlainClient("", "u", "p"), "u"},
		{"plain SMTP", Options{TLS: NoTLS}, NoTLS, nil, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := Start(tc.opts)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			if err := send(c, tc.client, tc.auth, "alice@acme.example"); err != nil {
				t.Fatal(err)
			}
			mails, err := c.Wait(1, 10*time.Second)
			if err != nil {
				t.Fatal(err)
			}
			m := mails[0]
			if m.Err != "" || m.Subject != "お知らせ news" || m.Text != "こんにちは\nline two\n" ||
				strings.Join(m.To, ",") != "alice@acme.example" || m.From != "kgate@example.com" ||
				m.TLS != (tc.client != NoTLS) || m.User != tc.user {
				t.Errorf("caught %+v", m)
			}
		})
	}
}

func TestCatcherRefusesAsAStrictServerWould(t *testing.T) {
	for _, tc := range []struct {
		name   string
		opts   Options
		client string
		auth   sasl.Client
		to     string
		code   int
	}{
		{"MAIL before STARTTLS", Options{}, NoTLS, nil, "a@x.example", 530},
		{"MAIL before AUTH", Options{Username: "u", Password: "p"}, StartTLS, nil, "a@x.example", 502},
		{"a wrong password", Options{Username: "u", Password: "p"}, StartTLS, sasl.NewPlainClient("", "u", "nope"), "a@x.example", 535},
		{"a wrong LOGIN password", Options{Username: "u", Password: "p"}, StartTLS, sasl.NewLoginClient("u", "nope"), "a@x.example", 535},
		{"a refused recipient", Options{Refuse: func(to string) bool { return strings.HasSuffix(to, "@refused.example") }}, StartTLS, nil, "a@refused.example", 550},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := Start(tc.opts)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			err = send(c, tc.client, tc.auth, tc.to)
			var se *smtp.SMTPError
			if !errors.As(err, &se) || se.Code != tc.code {
				t.Fatalf("got %v, want SMTP %d", err, tc.code)
			}
			if n := len(c.Mails()); n != 0 {
				t.Errorf("%d mails caught after a refusal", n)
			}
		})
	}
}

func TestCatcherStopsAndStartsOnTheSameAddress(t *testing.T) {
	c, err := Start(Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := send(c, StartTLS, nil, "a@x.example"); err != nil {
		t.Fatal(err)
	}
	addr := c.Addr
	c.Stop()
	if err := send(c, StartTLS, nil, "b@x.example"); err == nil {
		t.Fatal("a stopped catcher accepted mail")
	}
	if err := c.Start(); err != nil {
		t.Fatal(err)
	}
	if c.Addr != addr {
		t.Fatalf("restarted on %s, want %s", c.Addr, addr)
	}
	if err := send(c, StartTLS, nil, "c@x.example"); err != nil {
		t.Fatal(err)
	}
	mails, err := c.Wait(2, 10*time.Second)
	if err != nil || len(mails) != 2 || mails[0].To[0] != "a@x.example" || mails[1].To[0] != "c@x.example" {
		t.Fatalf("mails %v, %v", mails, err)
	}
}

func TestCatcherRefusesAnUnknownTLSMode(t *testing.T) {
	if _, err := Start(Options{TLS: "sometimes"}); err == nil {
		t.Fatal("started with TLS mode sometimes")
	}
}
