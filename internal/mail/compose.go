package mail

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"mime/quotedprintable"
	"net/mail"
	"strings"
	"time"
	"unicode/utf8"
)

// Bounds of one message, so that the queue's bound in messages is one in
// bytes too.
const (
	MaxSubjectBytes = 1000
	MaxTextBytes    = 64 << 10
)

// ErrInvalid is wrapped by every refusal of a message itself; retrying the
// same message cannot succeed.
var ErrInvalid = errors.New("mail: invalid message")

// check refuses what would let a message's values escape their header or
// not be a message at all: a line break in any header value is how one
// header becomes two (and a recipient becomes many).
func (m Message) check() error {
	for name, v := range map[string]string{"to": m.To, "subject": m.Subject, "lang": m.Lang, "kind": m.Kind} {
		if strings.ContainsAny(v, "\r\n\x00") {
			return fmt.Errorf("%w: the %s contains a line break or NUL", ErrInvalid, name)
		}
		if !utf8.ValidString(v) {
			return fmt.Errorf("%w: the %s is not UTF-8", ErrInvalid, name)
		}
	}
	if _, err := address(m.To); err != nil {
		return err
	}
	if !langTag(m.Lang) {
		return fmt.Errorf("%w: the language %q is not a language tag", ErrInvalid, m.Lang)
	}
	if len(m.Subject) > MaxSubjectBytes || len(m.Text) > MaxTextBytes {
		return fmt.Errorf("%w: subject over %d bytes or text over %d bytes", ErrInvalid, MaxSubjectBytes, MaxTextBytes)
	}
	if !utf8.ValidString(m.Text) || strings.ContainsRune(m.Text, 0) {
		return fmt.Errorf("%w: the text is not UTF-8", ErrInvalid)
	}
	return nil
}

// address is addr when it is exactly one bare address (no display name,
// no list), as SMTP's RCPT and MAIL take it.
func address(addr string) (string, error) {
	a, err := mail.ParseAddress(addr)
	if err != nil || a.Address != addr || a.Name != "" || strings.ContainsAny(addr, "<>,;\" ") {
		return "", fmt.Errorf("%w: %q is not one e-mail address", ErrInvalid, addr)
	}
	return addr, nil
}

// compose writes m as an RFC 5322 message from from: the subject as UTF-8
// encoded-words where it is not ASCII, the text as UTF-8 in whichever of
// quoted-printable (readable where it is mostly ASCII) and base64 (a third
// of the size for Japanese, which quoted-printable triples) is shorter;
// both are 7-bit clean for any relay. Date and
// Message-ID are fixed here, at enqueue, so a retried or duplicated
// delivery carries the same Message-ID and mail clients can fold it.
func compose(from *mail.Address, m Message, now time.Time) ([]byte, error) {
	if err := m.check(); err != nil {
		return nil, err
	}
	id, err := messageID(from.Address)
	if err != nil {
		return nil, err
	}
	var b bytes.Buffer
	header := func(name, value string) { fmt.Fprintf(&b, "%s: %s\r\n", name, value) }
	header("From", from.String())
	header("To", m.To)
	header("Subject", encodeSubject(m.Subject))
	header("Date", now.Format(time.RFC1123Z))
	header("Message-ID", id)
	header("MIME-Version", "1.0")
	header("Content-Type", "text/plain; charset=UTF-8")
	body, encoding, err := encodeText(m.Text)
	if err != nil {
		return nil, err
	}
	header("Content-Transfer-Encoding", encoding)
	if m.Lang != "" {
		header("Content-Language", m.Lang)
	}
	// RFC 3834: not to be answered by vacation responders.
	header("Auto-Submitted", "auto-generated")
	b.WriteString("\r\n")
	b.Write(body)
	return b.Bytes(), nil
}

// encodeText is text with CRLF line ends, encoded as quoted-printable or
// base64, whichever is shorter, ending in a line break.
func encodeText(text string) ([]byte, string, error) {
	text = strings.ReplaceAll(text, "\r\n", "\n")
	var qp bytes.Buffer
	w := quotedprintable.NewWriter(&qp) // writes each \n as CRLF
	if _, err := w.Write([]byte(text)); err != nil {
		return nil, "", err
	}
	if err := w.Close(); err != nil {
		return nil, "", err
	}
	if !bytes.HasSuffix(qp.Bytes(), []byte("\r\n")) {
		qp.WriteString("\r\n")
	}
	crlf := strings.ReplaceAll(text, "\n", "\r\n")
	if !strings.HasSuffix(crlf, "\r\n") {
		crlf += "\r\n"
	}
	b64 := base64.StdEncoding.EncodeToString([]byte(crlf))
	if qp.Len() <= len(b64)+len(b64)/76*2+2 {
		return qp.Bytes(), "quoted-printable", nil
	}
	var out bytes.Buffer
	for len(b64) > 76 {
		out.WriteString(b64[:76] + "\r\n")
		b64 = b64[76:]
	}
	out.WriteString(b64 + "\r\n")
	return out.Bytes(), "base64", nil
}

// messageID is a new Message-ID in the sender's domain.
func messageID(from string) (string, error) {
	r := make([]byte, 16)
	if _, err := rand.Read(r); err != nil {
		return "", err
	}
	domain := from[strings.LastIndexByte(from, '@')+1:]
	return "<" + hex.EncodeToString(r) + "@" + domain + ">", nil
}

// langTag reports whether s is empty or shaped like a language tag ("ja",
// "en-US").
func langTag(s string) bool {
	if len(s) > 35 {
		return false
	}
	for _, r := range s {
		if !(r == '-' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9') {
			return false
		}
	}
	return true
}

// encodeSubject leaves a short printable ASCII subject as it is and
// writes any other as RFC 2047 encoded-words of whole UTF-8 characters,
// one per folded line, so no line passes 78 characters. A subject that
// itself contains "=?" is encoded too, or a reader would decode it.
func encodeSubject(s string) string {
	plain := len(s) <= 60 && !strings.Contains(s, "=?")
	for i := 0; plain && i < len(s); i++ {
		plain = s[i] >= ' ' && s[i] <= '~'
	}
	if plain {
		return s
	}
	var words []string
	for len(s) > 0 {
		n := 0
		for n < len(s) {
			_, size := utf8.DecodeRuneInString(s[n:])
			if n+size > 42 { // 56 base64 characters, 68 with the markers
				break
			}
			n += size
		}
		words = append(words, "=?UTF-8?B?"+base64.StdEncoding.EncodeToString([]byte(s[:n]))+"?=")
		s = s[n:]
	}
	return strings.Join(words, "\r\n ")
}
