package main

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"strconv"
)

// The demo's notifications: every kgate handler with a members app and a
// mail block (the demo's catcher, demomail.go) gets a notify block with a secret made for this run, and the simulator's apps
// (all but the members app) post their webhooks to it, as an operator
// would set them in each app's settings in kintone. A change made in the
// simulator — through the portal, the API or kintone's own screens — is
// mailed to the members who may read the record.

// withNotify adds the notify block to the adapted config and points the
// simulator's webhooks at kgate. A Caddyfile with a notify block of its own
// keeps it.
func (d *demo) withNotify(cfg []byte) ([]byte, error) {
	var doc map[string]any
	if err := json.Unmarshal(cfg, &doc); err != nil {
		return nil, err
	}
	secret := randomHex(24)
	var hooked []int64
	eachKgateHandler(doc, func(h map[string]any) {
		hooked = append(hooked, notifyHandler(h, secret)...)
	})
	for _, app := range hooked {
		d.Sim.SetWebhook(app, d.URL+"/kgate/webhooks/"+secret)
	}
	return json.Marshal(doc)
}

// notifyHandler gives one kgate handler its notify block and returns the
// ids of the apps whose changes it tells.
func notifyHandler(h map[string]any, secret string) []int64 {
	members, _ := h["members"].(map[string]any)
	_, own := h["notify"]
	if members == nil || h["oidc"] == nil || h["mail"] == nil || own {
		return nil
	}
	h["notify"] = map[string]any{"secret": secret}
	var ids []int64
	apps, _ := h["apps"].([]any)
	for _, a := range apps {
		app, _ := a.(map[string]any)
		if app["alias"] == members["app"] {
			continue
		}
		if id, err := strconv.ParseInt(app["id"].(string), 10, 64); err == nil {
			ids = append(ids, id)
		}
	}
	return ids
}

// randomHex is n random bytes in hex: safe in a URL path.
func randomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}
