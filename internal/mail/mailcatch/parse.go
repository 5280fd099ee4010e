package mailcatch

import (
	"bytes"
	"encoding/base64"
	"io"
	"mime"
	"mime/quotedprintable"
	"net/mail"
	"strings"
	"time"
)

// Mail is one caught message, with what a reader checks already decoded.
type Mail struct {
	// From and To are the envelope (MAIL FROM, RCPT TO).
	From string
	To   []string
	// At is when the catcher accepted it.
	At time.Time
	// TLS reports whether it came over TLS; User is who authenticated
	// (empty without AUTH).
	TLS  bool
	User string
	// Raw is the message as sent; Header its parsed header.
	Raw    []byte
	Header mail.Header
	// Subject is the decoded subject (RFC 2047 words joined), Text the
	// decoded body of a text/plain message.
	Subject string
	Text    string
	// Err names what could not be parsed, if anything.
	Err string
}

// parse reads what a test or the demo's page shows. A message it cannot
// read is kept anyway, with Err saying why: kgate's bugs must show.
func parse(raw []byte) Mail {
	m := Mail{Raw: raw}
	msg, err := mail.ReadMessage(bytes.NewReader(raw))
	if err != nil {
		m.Err = err.Error()
		return m
	}
	m.Header = msg.Header
	dec := &mime.WordDecoder{}
	if m.Subject, err = dec.DecodeHeader(msg.Header.Get("Subject")); err != nil {
		m.Err = "subject: " + err.Error()
	}
	var body io.Reader = msg.Body
	switch strings.ToLower(msg.Header.Get("Content-Transfer-Encoding")) {
	case "quoted-printable":
		body = quotedprintable.NewReader(body)
	case "base64":
		body = base64.NewDecoder(base64.StdEncoding, body)
	}
	text, err := io.ReadAll(body)
	if err != nil {
		m.Err = "body: " + err.Error()
	}
	m.Text = strings.ReplaceAll(string(text), "\r\n", "\n")
	return m
}
