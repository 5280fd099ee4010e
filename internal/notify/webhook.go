package notify

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strconv"
	"time"

	"go.uber.org/zap"
)

// MinSecret is the shortest webhook secret kgate accepts.
const MinSecret = 32

// MaxWebhookBody bounds a webhook's body. kintone sends the whole record
// with additions and edits; kgate reads only a few ids of it.
const MaxWebhookBody = 4 << 20

// handleTimeout bounds the work of one webhook. It goes on when kintone
// stops waiting for the answer, so that no member is left out halfway.
const handleTimeout = 2 * time.Minute

func hash(s string) [32]byte { return sha256.Sum256([]byte(s)) }

// ServeHTTP answers kintone's webhook. secret is the last segment of the
// request's path: a wrong one is 404, as if nothing were there, and
// nothing happens. The body must be one of kintone's webhook payloads
// (400 otherwise, 413 past MaxWebhookBody).
func (n *Notifier) ServeHTTP(w http.ResponseWriter, r *http.Request, secret string) {
	w.Header().Set("Cache-Control", "no-store")
	// Comparing hashes takes the same time whatever the secret's length.
	got := hash(secret)
	if subtle.ConstantTimeCompare(got[:], n.secret[:]) != 1 {
		http.NotFound(w, r)
		return
	}
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		http.Error(w, "kintone's webhooks are POSTed", http.StatusMethodNotAllowed)
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxWebhookBody))
	var tooLarge *http.MaxBytesError
	switch {
	case errors.As(err, &tooLarge):
		http.Error(w, "the webhook's body is larger than kgate accepts", http.StatusRequestEntityTooLarge)
		return
	case err != nil:
		http.Error(w, "the webhook's body could not be read", http.StatusBadRequest)
		return
	}
	ev, err := ParseWebhook(body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(r.Context()), handleTimeout)
	defer cancel()
	if err := n.Handle(ctx, ev); err != nil {
		n.log.Warn("webhook not handled", zap.String("app", ev.App), zap.String("record", ev.Record), zap.Error(err))
		http.Error(w, "kgate could not handle the webhook just now", http.StatusServiceUnavailable)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// ParseWebhook takes the type, the app id, the record id and the comment
// id from one of kintone's webhook payloads, and nothing else: what the
// record holds is read from kintone.
func ParseWebhook(body []byte) (Event, error) {
	var p struct {
		Type string `json:"type"`
		App  struct {
			ID string `json:"id"`
		} `json:"app"`
		RecordID string `json:"recordId"`
		Record   struct {
			ID struct {
				Value string `json:"value"`
			} `json:"$id"`
		} `json:"record"`
		Comment struct {
			ID string `json:"id"`
		} `json:"comment"`
	}
	if err := json.Unmarshal(body, &p); err != nil {
		return Event{}, errors.New("the body is not one of kintone's webhook payloads: " + err.Error())
	}
	ev := Event{Type: p.Type, App: p.App.ID, Record: p.RecordID, Comment: p.Comment.ID}
	if ev.Record == "" {
		ev.Record = p.Record.ID.Value
	}
	switch {
	case p.Type == "":
		return Event{}, errors.New("the payload has no type")
	case !number(ev.App):
		return Event{}, errors.New("the payload has no app id")
	case p.Type != "DELETE_RECORD" && !number(ev.Record):
		return Event{}, errors.New("the payload has no record id")
	case p.Type == "ADD_RECORD_COMMENT" && !number(ev.Comment):
		return Event{}, errors.New("the payload has no comment id")
	}
	return ev, nil
}

func number(s string) bool {
	n, err := strconv.ParseUint(s, 10, 63)
	return err == nil && n > 0
}

// unmarshalRecord decodes kintone JSON kgate produced itself.
func unmarshalRecord(raw []byte, v any) error {
	if len(raw) == 0 {
		return nil
	}
	return json.Unmarshal(raw, v)
}
