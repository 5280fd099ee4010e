package mail

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kgate/kgate/internal/mail/mailcatch"
)

func TestMessagesArriveAsWritten(t *testing.T) {
	c := catcher(t, mailcatch.Options{Username: "kgate", Password: "s3cret"})
	smtp := smtpTo(c, TLSStartTLS)
	smtp.Username, smtp.Password = "kgate", "s3cret"
	o := open(t, stores(t)[0], Config{SMTP: smtp, From: "Partner Portal <portal@operator.example>"})
	o.Start()
	long := strings.Repeat("承認されました。", 20)
	msgs := []Message{
		{To: "alice@acme.example", Lang: "ja", Kind: "signup", Subject: "登録が承認されました", Text: "佐藤アリス様\n\nご登録が承認されました。\n"},
		{To: "bob@acme.example", Lang: "en", Kind: "invite", Subject: "You are invited", Text: "Open https://portal.example/invite?t=abc=def to join.\n"},
		{To: "carol@bluebird.example", Lang: "ja", Kind: "notification", Subject: long, Text: strings.Repeat("長い行", 100) + "\n"},
		{To: "dave@cosmo.example", Lang: "en", Kind: "digest", Subject: "Weekly digest =?UTF-8?B?eA==?= of the forty changes in the budget requests you follow",
			Text: "A line with = and trailing space \nand CRLF\r\nend"},
	}
	for _, m := range msgs {
		if err := o.Enqueue(context.Background(), m); err != nil {
			t.Fatal(err)
		}
	}
	mails, err := c.Wait(len(msgs), 20*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	byTo := map[string]mailcatch.Mail{}
	for _, m := range mails {
		byTo[m.To[0]] = m
	}
	for _, want := range msgs {
		t.Run(want.Kind, func(t *testing.T) {
			got, ok := byTo[want.To]
			if !ok {
				t.Fatalf("nothing reached %s", want.To)
			}
			wantText := strings.ReplaceAll(want.Text, "\r\n", "\n")
			if !strings.HasSuffix(wantText, "\n") {
				wantText += "\n"
			}
			if got.Err != "" || got.Subject != want.Subject || got.Text != wantText {
				t.Errorf("got subject %q text %q (%s), want %q %q", got.Subject, got.Text, got.Err, want.Subject, want.Text)
			}
			if got.From != "portal@operator.example" || got.Header.Get("To") != want.To || !got.TLS || got.User != "kgate" {
				t.Errorf("envelope from %s, To %s, TLS %v, user %q", got.From, got.Header.Get("To"), got.TLS, got.User)
			}
			for name, value := range map[string]string{
				"From": `"Partner Portal" <portal@operator.example>`, "Content-Type": "text/plain; charset=UTF-8",
				"MIME-Version": "1.0", "Content-Language": want.Lang,
				// Japanese text is shorter in base64, English readable in quoted-printable.
				"Content-Transfer-Encoding": map[string]string{"ja": "base64", "en": "quoted-printable"}[want.Lang],
			} {
				if v := got.Header.Get(name); v != value {
					t.Errorf("%s: %q, want %q", name, v, value)
				}
			}
			if _, err := got.Header.Date(); err != nil {
				t.Errorf("Date: %v", err)
			}
			if id := got.Header.Get("Message-ID"); !strings.HasSuffix(id, "@operator.example>") {
				t.Errorf("Message-ID %q", id)
			}
			for i, line := range strings.Split(string(got.Raw), "\r\n") {
				if len(line) > 78 {
					t.Errorf("line %d is %d bytes: %q", i, len(line), line)
				}
				for _, b := range []byte(line) {
					if b >= 0x80 {
						t.Fatalf("line %d is not 7-bit: %q", i, line)
					}
				}
			}
		})
	}
	drained(t, o)
}

func TestHeaderInjectionIsRefused(t *testing.T) {
	c := catcher(t, mailcatch.Options{})
	o := open(t, stores(t)[0], Config{SMTP: smtpTo(c, TLSStartTLS), From: "portal@operator.example"})
	o.Start()
	ok := Message{To: "alice@acme.example", Lang: "en", Subject: "Hello", Text: "Hi\n", Kind: "notification"}
	for _, tc := range []struct {
		name string
		edit func(*Message)
	}{
		{"a line feed in the subject", func(m *Message) { m.Subject = "Hello\nBcc: eve@evil.example" }},
		{"a carriage return in the subject", func(m *Message) { m.Subject = "Hello\rBcc: eve@evil.example" }},
		{"CRLF in the recipient", func(m *Message) { m.To = "alice@acme.example\r\nBcc: eve@evil.example" }},
		{"a second recipient", func(m *Message) { m.To = "alice@acme.example, eve@evil.example" }},
		{"a display name", func(m *Message) { m.To = "Alice <alice@acme.example>" }},
		{"no address", func(m *Message) { m.To = "alice" }},
		{"a line break in the language", func(m *Message) { m.Lang = "en\r\nBcc: eve@evil.example" }},
		{"a language that is no tag", func(m *Message) { m.Lang = "en; x" }},
		{"a line break in the kind", func(m *Message) { m.Kind = "x\ny" }},
		{"a NUL in the text", func(m *Message) { m.Text = "a\x00b" }},
		{"text that is not UTF-8", func(m *Message) { m.Text = "\xff\xfe" }},
		{"a text over the bound", func(m *Message) { m.Text = strings.Repeat("a", MaxTextBytes+1) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := ok
			tc.edit(&m)
			if err := o.Enqueue(context.Background(), m); !errors.Is(err, ErrInvalid) {
				t.Fatalf("Enqueue: %v, want ErrInvalid", err)
			}
			if n, _ := o.Len(context.Background()); n != 0 {
				t.Fatalf("%d messages queued", n)
			}
		})
	}
	// The same outbox still sends a good message, and only that one.
	if err := o.Enqueue(context.Background(), ok); err != nil {
		t.Fatal(err)
	}
	mails, err := c.Wait(1, 20*time.Second)
	if err != nil || len(mails) != 1 || mails[0].To[0] != "alice@acme.example" || mails[0].Header.Get("Bcc") != "" {
		t.Fatalf("caught %+v, %v", mails, err)
	}
}

func TestAFullQueueRefusesTheMessage(t *testing.T) {
	for _, s := range stores(t) {
		t.Run(s.name, func(t *testing.T) {
			// Nothing listens there: messages stay queued.
			o := open(t, s, Config{SMTP: SMTP{Addr: "127.0.0.1:1"}, From: "portal@operator.example", MaxQueue: 3})
			for i := range 3 {
				if err := o.Enqueue(context.Background(), note(i)); err != nil {
					t.Fatal(err)
				}
			}
			err := o.Enqueue(context.Background(), note(3))
			if !errors.Is(err, ErrFull) || !strings.Contains(err.Error(), "member03@acme.example") || !strings.Contains(err.Error(), "max_queue") {
				t.Fatalf("the fourth message: %v, want ErrFull naming its recipient and max_queue", err)
			}
			if n, _ := o.Len(context.Background()); n != 3 {
				t.Fatalf("%d queued, want 3", n)
			}
		})
	}
}

// With the server down, each message is tried again after Min, 2·Min, …
// up to Max; after a restart of kgate (and of Redis) a new outbox on the
// same queue delivers every message once the server is up.
func TestNothingIsLostWhileTheServerIsDown(t *testing.T) {
	const n = 12
	for _, s := range stores(t) {
		t.Run(s.name, func(t *testing.T) {
			c := catcher(t, mailcatch.Options{})
			c.Stop()
			log, seen := logs()
			cfg := Config{SMTP: smtpTo(c, TLSStartTLS), From: "portal@operator.example", Backoff: fast, Logger: log}
			first := open(t, s, cfg)
			first.Start()
			for i := range n {
				if err := first.Enqueue(context.Background(), note(i)); err != nil {
					t.Fatal(err)
				}
			}
			// Wait for some message's fourth failed try.
			for deadline := time.Now().Add(20 * time.Second); seen.FilterField(fieldInt("attempts", 4)).Len() == 0; time.Sleep(5 * time.Millisecond) {
				if time.Now().After(deadline) {
					t.Fatal("no message was tried four times")
				}
			}
			first.Stop()
			retries := map[string][]time.Duration{}
			for _, e := range seen.FilterMessage("mail: not delivered, will retry").All() {
				id := e.ContextMap()["id"].(string)
				retries[id] = append(retries[id], e.ContextMap()["retry_in"].(time.Duration))
			}
			for id, waits := range retries {
				for i, w := range waits {
					if want := fast.after(i + 1); w != want {
						t.Errorf("%s: try %d waited %s, want %s (all: %v)", id, i+1, w, want, waits)
					}
				}
			}
			if seen.FilterMessage("mail: sent").Len() != 0 || len(c.Mails()) != 0 {
				t.Fatal("a message was sent with the server down")
			}

			s.restart()
			second := open(t, s, Config{SMTP: smtpTo(c, TLSStartTLS), From: "portal@operator.example", Backoff: fast})
			if got, _ := second.Len(context.Background()); got != n {
				t.Fatalf("after the restart %d messages are queued, want %d", got, n)
			}
			if err := c.Start(); err != nil {
				t.Fatal(err)
			}
			second.Start()
			mails, err := c.Wait(n, 30*time.Second)
			if err != nil {
				t.Fatal(err)
			}
			drained(t, second)
			got := recipients(t, c.Mails())
			for i := range n {
				if !got[note(i).To] {
					t.Errorf("%s got nothing", note(i).To)
				}
			}
			if len(mails) != n {
				t.Errorf("%d mails, want %d", len(mails), n)
			}
		})
	}
}

func fieldInt(key string, v int) zapField { return zapInt(key, v) }

// A message the server refuses for good (5xx to RCPT) is moved aside and
// not tried again; the others are delivered.
func TestARefusedMessageIsMovedAside(t *testing.T) {
	for _, s := range stores(t) {
		t.Run(s.name, func(t *testing.T) {
			c := catcher(t, mailcatch.Options{Refuse: func(to string) bool { return strings.HasPrefix(to, "gone@") }})
			log, seen := logs()
			o := open(t, s, Config{SMTP: smtpTo(c, TLSStartTLS), From: "portal@operator.example", Backoff: fast, Logger: log})
			o.Start()
			for _, to := range []string{"a@acme.example", "gone@acme.example", "b@acme.example"} {
				m := note(0)
				m.To = to
				if err := o.Enqueue(context.Background(), m); err != nil {
					t.Fatal(err)
				}
			}
			if _, err := c.Wait(2, 20*time.Second); err != nil {
				t.Fatal(err)
			}
			drained(t, o)
			aside := seen.FilterMessage("mail: not delivered, moved aside").All()
			if len(aside) != 1 || aside[0].ContextMap()["to"] != "gone@acme.example" ||
				!strings.Contains(fmt.Sprint(aside[0].ContextMap()["error"]), "550") {
				t.Fatalf("moved aside: %v", aside)
			}
			if r := seen.FilterMessage("mail: not delivered, will retry").Len(); r != 0 {
				t.Fatalf("%d retries of a refused message", r)
			}
		})
	}
}

func TestARefusedMessageIsKeptInTheFailedDirectory(t *testing.T) {
	dir := t.TempDir()
	c := catcher(t, mailcatch.Options{Refuse: func(string) bool { return true }})
	o, err := NewDir(dir, Config{SMTP: smtpTo(c, TLSStartTLS), From: "portal@operator.example"})
	if err != nil {
		t.Fatal(err)
	}
	defer o.Stop()
	o.Start()
	if err := o.Enqueue(context.Background(), note(1)); err != nil {
		t.Fatal(err)
	}
	drained(t, o)
	files, _ := filepath.Glob(filepath.Join(dir, "failed", "*.json"))
	if len(files) != 1 {
		t.Fatalf("failed/ holds %v", files)
	}
	b, _ := os.ReadFile(files[0])
	if !strings.Contains(string(b), "member01@acme.example") || !strings.Contains(string(b), "550") {
		t.Fatalf("failed/ file: %s", b)
	}
}

// Instances sharing Redis deliver each message once.
func TestInstancesSharingRedisSendEachMessageOnce(t *testing.T) {
	const n = 40
	c := catcher(t, mailcatch.Options{})
	s := redisStore(t)
	cfg := Config{SMTP: smtpTo(c, TLSStartTLS), From: "portal@operator.example", Backoff: fast}
	a, b := open(t, s, cfg), open(t, s, cfg)
	for i := range n {
		if err := []*SMTPOutbox{a, b}[i%2].Enqueue(context.Background(), note(i)); err != nil {
			t.Fatal(err)
		}
	}
	a.Start()
	b.Start()
	if _, err := c.Wait(n, 30*time.Second); err != nil {
		t.Fatal(err)
	}
	drained(t, a)
	if got := recipients(t, c.Mails()); len(got) != n {
		t.Fatalf("%d recipients, want %d", len(got), n)
	}
}

func TestBackoffDoublesUpToItsCap(t *testing.T) {
	b := Backoff{Min: time.Second, Max: 10 * time.Second}
	for failures, want := range map[int]time.Duration{1: time.Second, 2: 2 * time.Second, 3: 4 * time.Second, 4: 8 * time.Second, 5: 10 * time.Second, 50: 10 * time.Second} {
		if got := b.after(failures); got != want {
			t.Errorf("after %d failures: %s, want %s", failures, got, want)
		}
	}
}

// A config reload makes a new outbox on the same queue_dir before the old
// one stops; the two share the queue and send each message once.
func TestOutboxesOnOneDirectorySendEachMessageOnce(t *testing.T) {
	const n = 30
	c := catcher(t, mailcatch.Options{})
	dir := t.TempDir()
	cfg := Config{SMTP: smtpTo(c, TLSStartTLS), From: "portal@operator.example", Backoff: fast}
	old, err := NewDir(dir, cfg)
	if err != nil {
		t.Fatal(err)
	}
	reloaded, err := NewDir(dir, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer reloaded.Stop()
	for i := range n {
		if err := []*SMTPOutbox{old, reloaded}[i%2].Enqueue(context.Background(), note(i)); err != nil {
			t.Fatal(err)
		}
	}
	old.Start()
	reloaded.Start()
	if _, err := c.Wait(n/2, 30*time.Second); err != nil {
		t.Fatal(err)
	}
	old.Stop()
	if _, err := c.Wait(n, 30*time.Second); err != nil {
		t.Fatal(err)
	}
	drained(t, reloaded)
	if got := recipients(t, c.Mails()); len(got) != n {
		t.Fatalf("%d recipients, want %d", len(got), n)
	}
}
