package mailcatch

import (
	"bytes"
	"crypto/subtle"
	"errors"
	"io"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
)

type backend struct{ c *Catcher }

func (b *backend) NewSession(conn *smtp.Conn) (smtp.Session, error) {
	return &session{c: b.c, conn: conn}, nil
}

// session is one SMTP connection: it enforces the catcher's TLS and AUTH
// rules, as a strict mail server would, and keeps each accepted message.
type session struct {
	c    *Catcher
	conn *smtp.Conn
	user string
	from string
	to   []string
}

var (
	errTLSRequired = &smtp.SMTPError{Code: 530, EnhancedCode: smtp.EnhancedCode{5, 7, 0}, Message: "Must issue a STARTTLS command first"}
	errRefused     = &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 1, 1}, Message: "Mailbox unavailable"}
)

func (s *session) AuthMechanisms() []string {
	if s.c.opts.Username == "" {
		return nil
	}
	return []string{sasl.Plain, sasl.Login}
}

func (s *session) Auth(mech string) (sasl.Server, error) {
	switch mech {
	case sasl.Plain:
		return sasl.NewPlainServer(func(_, user, pass string) error { return s.login(user, pass) }), nil
	case sasl.Login:
		return &loginServer{check: s.login}, nil
	}
	return nil, smtp.ErrAuthUnknownMechanism
}

func (s *session) login(user, pass string) error {
	u, p := s.c.opts.Username, s.c.opts.Password
	if subtle.ConstantTimeCompare([]byte(user), []byte(u))&subtle.ConstantTimeCompare([]byte(pass), []byte(p)) != 1 {
		return smtp.ErrAuthFailed
	}
	s.user = user
	return nil
}

func (s *session) Mail(from string, _ *smtp.MailOptions) error {
	if _, tls := s.conn.TLSConnectionState(); !tls && s.c.opts.TLS == StartTLS {
		return errTLSRequired
	}
	if s.c.opts.Username != "" && s.user == "" {
		return smtp.ErrAuthRequired
	}
	s.from = from
	return nil
}

func (s *session) Rcpt(to string, _ *smtp.RcptOptions) error {
	if s.c.opts.Refuse != nil && s.c.opts.Refuse(to) {
		return errRefused
	}
	s.to = append(s.to, to)
	return nil
}

func (s *session) Data(r io.Reader) error {
	raw, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	_, tls := s.conn.TLSConnectionState()
	m := parse(raw)
	m.From, m.To, m.At, m.TLS, m.User = s.from, append([]string(nil), s.to...), time.Now(), tls, s.user
	s.c.add(m)
	return nil
}

func (s *session) Reset()        { s.from, s.to = "", nil }
func (s *session) Logout() error { return nil }

// loginServer is the server side of AUTH LOGIN, which go-sasl has only as
// a client: a username (maybe sent with the command), then a password.
type loginServer struct {
	check     func(user, pass string) error
	user      []byte
	askedUser bool
	askedPass bool
}

func (l *loginServer) Next(response []byte) ([]byte, bool, error) {
	switch {
	case l.user == nil && response == nil && !l.askedUser:
		l.askedUser = true
		return []byte("Username:"), false, nil
	case l.user == nil:
		l.user = bytes.Clone(response)
		l.askedPass = true
		return []byte("Password:"), false, nil
	case l.askedPass:
		return nil, true, l.check(string(l.user), string(response))
	}
	return nil, true, errors.New("unexpected LOGIN exchange")
}
