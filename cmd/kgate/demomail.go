package main

import (
	"encoding/json"
	"errors"
	"net"
	"net/url"
	"os"
	"path/filepath"

	"github.com/kgate/kgate/internal/mail/mailcatch"
)

// The demo's e-mail: kgate sends to an SMTP catcher on a loopback port,
// over STARTTLS with AUTH as to a real server, and the catcher's page at
// /demo/mail on the demo's address shows what arrived.

// demoMailPath is where the demo shows the caught mail.
const demoMailPath = "/demo/mail"

// startMail starts the catcher and serves its page on a loopback port of
// its own, which Caddy proxies at demoMailPath.
func (d *demo) startMail() error {
	password := randomB64(18)
	c, err := mailcatch.Start(mailcatch.Options{Username: "kgate-demo", Password: password})
	if err != nil {
		return err
	}
	d.Mail = c
	d.stops = append(d.stops, func() { c.Close() })
	dir, err := os.MkdirTemp("", "kgate-demo-mail-")
	if err != nil {
		return err
	}
	d.stops = append(d.stops, func() { os.RemoveAll(dir) })
	ca := filepath.Join(dir, "catcher.pem")
	if err := os.WriteFile(ca, c.CertPEM, 0o600); err != nil {
		return err
	}
	page, err := d.serve(c.Handler(demoMailPath))
	if err != nil {
		return err
	}
	u, err := url.Parse(page)
	if err != nil {
		return err
	}
	d.mailPage = net.JoinHostPort("127.0.0.1", u.Port())
	d.mailBlock = map[string]any{
		"smtp": c.Addr, "username": "kgate-demo", "password": password, "from": "kgate demo <portal@kgate-demo.example>",
		"ca_file": ca, "queue_dir": filepath.Join(dir, "queue"),
	}
	return nil
}

// withMail points every kgate handler of the adapted config at the
// catcher, unless the example's Caddyfile has a mail block of its own,
// and puts a route to the catcher's page before the site's.
func (d *demo) withMail(cfg []byte) ([]byte, error) {
	var doc map[string]any
	if err := json.Unmarshal(cfg, &doc); err != nil {
		return nil, err
	}
	handlers := 0
	eachKgateHandler(doc, func(h map[string]any) {
		handlers++
		if _, ok := h["mail"]; !ok {
			h["mail"] = d.mailBlock
		}
	})
	servers, _ := dig(doc, "apps", "http", "servers").(map[string]any)
	if handlers == 0 || len(servers) == 0 {
		return nil, errors.New("the demo's Caddyfile has no kgate handler to send mail")
	}
	route := map[string]any{
		"match":    []any{map[string]any{"path": []any{demoMailPath, demoMailPath + "/*"}}},
		"handle":   []any{map[string]any{"handler": "reverse_proxy", "upstreams": []any{map[string]any{"dial": d.mailPage}}}},
		"terminal": true,
	}
	for _, s := range servers {
		srv, _ := s.(map[string]any)
		routes, _ := srv["routes"].([]any)
		srv["routes"] = append([]any{route}, routes...)
	}
	return json.Marshal(doc)
}

func dig(v any, keys ...string) any {
	for _, k := range keys {
		m, _ := v.(map[string]any)
		v = m[k]
	}
	return v
}

// eachKgateHandler calls fn with every kgate handler of an adapted Caddy
// config, wherever its routes nest it.
func eachKgateHandler(v any, fn func(h map[string]any)) {
	switch v := v.(type) {
	case map[string]any:
		if v["handler"] == "kgate" {
			fn(v)
		}
		for _, e := range v {
			eachKgateHandler(e, fn)
		}
	case []any:
		for _, e := range v {
			eachKgateHandler(e, fn)
		}
	}
}
