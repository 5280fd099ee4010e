package caddymodule

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig"
	"github.com/caddyserver/caddy/v2/caddytest"
	"github.com/redis/go-redis/v9"
	"go.uber.org/zap"

	"github.com/kgate/kgate/internal/mail"
	"github.com/kgate/kgate/internal/mail/mailcatch"
	"github.com/kgate/kgate/internal/testenv"
)

func TestCaddyfileMailAdapts(t *testing.T) {
	caddytest.AssertAdapt(t, `
:8080 {
	kgate {
		kintone https://example.cybozu.com
		mail smtp.example.com:465 {
			username {env.KGATE_SMTP_USER}
			password {env.KGATE_SMTP_PASSWORD}
			from "Partner Portal <portal@example.com>"
			starttls implicit
			ca_file /etc/kgate/relay-ca.pem
			queue_dir /var/lib/kgate/mail
			max_queue 5000
		}
		policy ./policies
		identity testing
	}
}
`, "caddyfile", `{
	"apps": {
		"http": {
			"servers": {
				"srv0": {
					"listen": [
						":8080"
					],
					"routes": [
						{
							"handle": [
								{
									"handler": "kgate",
									"identity": {
										"source": "testing"
									},
									"kintone": {
										"url": "https://example.cybozu.com"
									},
									"mail": {
										"ca_file": "/etc/kgate/relay-ca.pem",
										"from": "Partner Portal \u003cportal@example.com\u003e",
										"max_queue": 5000,
										"password": "{env.KGATE_SMTP_PASSWORD}",
										"queue_dir": "/var/lib/kgate/mail",
										"smtp": "smtp.example.com:465",
										"starttls": "implicit",
										"username": "{env.KGATE_SMTP_USER}"
									},
									"policy": {
										"dir": "./policies"
									}
								}
							]
						}
					]
				}
			}
		}
	}
}`)
}

func TestCaddyfileMailErrorsSayWhatIsMissing(t *testing.T) {
	for _, tt := range []struct{ block, want string }{
		{"mail", "mail needs the SMTP server"},
		{"mail smtp.example.com:587", "from is required"},
		{"mail smtp.example.com:587 {\n from a@example.com\n starttls optional\n}", `starttls "optional": want required, implicit or none`},
		{"mail smtp.example.com:587 {\n from a@example.com\n max_queue lots\n}", `max_queue "lots"`},
		{"mail smtp.example.com:587 {\n from a@example.com b@example.com\n}", "from takes one value"},
		{"mail smtp.example.com:587 {\n from a@example.com\n relay x\n}", `unknown mail setting "relay"`},
	} {
		t.Run(tt.block, func(t *testing.T) {
			cfg := ":8080 {\n\tkgate {\n\t\t" + tt.block + "\n\t}\n}\n"
			_, _, err := caddyconfig.GetAdapter("caddyfile").Adapt([]byte(cfg), nil)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err %v, want %q", err, tt.want)
			}
		})
	}
}

// Settings that would send mail or a password in the clear, or that
// cannot work, are refused when the configuration loads.
func TestMailSettingsAreCheckedAtLoad(t *testing.T) {
	dir := t.TempDir()
	notPEM := filepath.Join(dir, "not.pem")
	os.WriteFile(notPEM, []byte("hello"), 0o600)
	for _, tt := range []struct {
		name string
		mail Mail
		want string
	}{
		{"plain SMTP to another host", Mail{SMTP: "smtp.example.com:25", From: "a@example.com", StartTLS: "none"}, "only to a server on this machine"},
		{"a password over plain SMTP", Mail{SMTP: "127.0.0.1:25", From: "a@example.com", StartTLS: "none", Username: "u", Password: "p"}, "over TLS only"},
		{"an unset password variable", Mail{SMTP: "smtp.example.com:587", From: "a@example.com", Username: "u", Password: "{env.KGATE_TEST_UNSET_SMTP_PASSWORD}"}, "empty after replacing"},
		{"a username without a password", Mail{SMTP: "smtp.example.com:587", From: "a@example.com", Username: "u"}, "without a password"},
		{"no server", Mail{SMTP: "{env.KGATE_TEST_UNSET_SMTP}", From: "a@example.com"}, "smtp host:port is required"},
		{"a sender that is no address", Mail{SMTP: "smtp.example.com:587", From: "the portal"}, "not an e-mail address"},
		{"a missing CA file", Mail{SMTP: "smtp.example.com:587", From: "a@example.com", CAFile: filepath.Join(dir, "none.pem")}, "ca_file"},
		{"a CA file without a certificate", Mail{SMTP: "smtp.example.com:587", From: "a@example.com", CAFile: notPEM}, "no PEM certificate"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			tt.mail.QueueDir = t.TempDir()
			h := &Handler{logger: zap.NewNop(), Mail: &tt.mail}
			err := h.startOutbox(caddy.NewReplacer())
			defer h.stopOutbox()
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err %v, want %q", err, tt.want)
			}
			if h.mailOutbox() != nil {
				t.Fatal("an outbox was made from refused settings")
			}
		})
	}
}

// The mail block gives the handler an outbox that delivers over STARTTLS
// with AUTH, trusting the CA file; its queue is queue_dir, or Redis when
// sessions are there, and what the server refuses for good is kept there.
// Without the block there is no outbox.
func TestTheMailBlockDeliversThroughItsQueue(t *testing.T) {
	if (&Handler{}).mailOutbox() != nil {
		t.Fatal("an outbox without a mail block")
	}
	c, err := mailcatch.Start(mailcatch.Options{Username: "kgate", Password: "s3cret",
		Refuse: func(to string) bool { return strings.HasPrefix(to, "gone-") }})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ca := filepath.Join(t.TempDir(), "ca.pem")
	os.WriteFile(ca, c.CertPEM, 0o600)
	t.Setenv("KGATE_TEST_SMTP_PASSWORD", "s3cret")
	r := testenv.StartRedis(t)
	rc := redis.NewClient(&redis.Options{Addr: r.Addr})
	defer rc.Close()
	dir := t.TempDir()
	for _, tt := range []struct {
		name    string
		oidc    *OIDC
		queue   string
		refused func() string // what the queue kept of the refused message
	}{
		{"in queue_dir", nil, dir, func() string {
			files, _ := filepath.Glob(filepath.Join(dir, "failed", "*.json"))
			if len(files) == 0 {
				return ""
			}
			b, _ := os.ReadFile(files[0])
			return string(b)
		}},
		{"in Redis", &OIDC{SessionStore: r.URL()}, "", func() string {
			s, _ := rc.LIndex(context.Background(), mail.RedisPrefix+"failed", 0).Result()
			return s
		}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			h := &Handler{logger: zap.NewNop(), OIDC: tt.oidc, Mail: &Mail{SMTP: c.Addr, From: "Portal <portal@operator.example>",
				Username: "kgate", Password: "{env.KGATE_TEST_SMTP_PASSWORD}", CAFile: ca, QueueDir: tt.queue}}
			if err := h.startOutbox(caddy.NewReplacer()); err != nil {
				t.Fatal(err)
			}
			defer h.Cleanup()
			name := strings.ReplaceAll(tt.name, " ", "-")
			before := len(c.Mails())
			for _, to := range []string{"gone-" + name + "@acme.example", name + "@acme.example"} {
				if err := h.mailOutbox().Enqueue(context.Background(), mail.Message{To: to, Lang: "ja", Subject: "承認", Text: "ようこそ\n"}); err != nil {
					t.Fatal(err)
				}
			}
			mails, err := c.Wait(before+1, 20*time.Second)
			if err != nil {
				t.Fatal(err)
			}
			got := mails[before]
			if got.To[0] != name+"@acme.example" || got.Subject != "承認" || got.User != "kgate" || !got.TLS {
				t.Fatalf("caught %+v", got)
			}
			for deadline := time.Now().Add(20 * time.Second); !strings.Contains(tt.refused(), "gone-"+name); time.Sleep(10 * time.Millisecond) {
				if time.Now().After(deadline) {
					t.Fatal("the refused message is not kept in the queue's place for refusals")
				}
			}
			// Caddy's metrics count them.
			ctx, cancel := caddy.NewContext(caddy.Context{Context: context.Background()})
			defer cancel()
			h.registerMailMetrics(ctx)
			gather := func() map[string]float64 {
				mfs, err := ctx.GetMetricsRegistry().Gather()
				if err != nil {
					t.Fatal(err)
				}
				metrics := map[string]float64{}
				for _, mf := range mfs {
					for _, m := range mf.GetMetric() {
						name := mf.GetName()
						for _, l := range m.GetLabel() {
							name += "/" + l.GetValue()
						}
						metrics[name] = m.GetCounter().GetValue() + m.GetGauge().GetValue()
					}
				}
				return metrics
			}
			// The catcher has the mail before kgate hears the server's reply.
			metrics := gather()
			for deadline := time.Now().Add(20 * time.Second); metrics["kgate_mail_sent_total"] == 0 && time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
				metrics = gather()
			}
			if metrics["kgate_mail_sent_total"] != 1 || metrics["kgate_mail_moved_aside_total/refused"] != 1 || metrics["kgate_mail_moved_aside_total/expired"] != 0 {
				t.Errorf("metrics %v", metrics)
			}
			if _, ok := metrics["kgate_mail_queued"]; !ok {
				t.Errorf("no kgate_mail_queued in %v", metrics)
			}
		})
	}
	t.Run("queue_dir with Redis", func(t *testing.T) {
		h := &Handler{logger: zap.NewNop(), OIDC: &OIDC{SessionStore: r.URL()}, Mail: &Mail{SMTP: c.Addr, From: "portal@operator.example", QueueDir: t.TempDir()}}
		defer h.Cleanup()
		if err := h.startOutbox(caddy.NewReplacer()); err == nil || !strings.Contains(err.Error(), "remove queue_dir") {
			t.Fatalf("err %v", err)
		}
	})
}

// The mail block README "E-mail" shows is one kgate reads.
func TestTheREADMEsMailBlockAdapts(t *testing.T) {
	readme, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	_, rest, ok := strings.Cut(string(readme), "```caddyfile\nmail ")
	block, _, _ := strings.Cut(rest, "```")
	if !ok {
		t.Fatal("README shows no mail block")
	}
	cfg := ":8080 {\n\tkgate {\n\t\tmail " + block + "\n\t\tkintone https://example.cybozu.com\n\t\tpolicy ./policies\n\t\tidentity testing\n\t}\n}\n"
	out, _, err := caddyconfig.GetAdapter("caddyfile").Adapt([]byte(cfg), nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`"smtp":"smtp.example.com:587"`, `"starttls":"required"`, `"max_queue":10000`, `"queue_dir":"/var/lib/kgate/mail"`} {
		if !strings.Contains(string(out), want) {
			t.Errorf("the README's block adapts to %s, without %s", out, want)
		}
	}
}
