package kintonesim

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Webhooks, as an app's settings in kintone configure them: after a write
// commits, the simulator POSTs kintone's JSON notification for each change
// to every URL set for the app — ADD_RECORD, UPDATE_RECORD, UPDATE_STATUS
// (with the whole record as record.json returns it), DELETE_RECORD (with
// recordId) and ADD_RECORD_COMMENT (with recordId and the comment). Like
// kintone's, they go out after the write has answered, one at a time, and
// are not retried; a write that fails sends none.

// webhookQueue bounds the notifications waiting to be sent; past it they
// are dropped and counted (Dropped).
const webhookQueue = 1000

// hook is one change made by the write in progress.
type hook struct {
	typ     string
	app     *app
	record  int64
	body    []byte // the record's JSON, for additions and edits
	comment *comment
}

// webhooks holds the URLs and the sender.
type webhooks struct {
	mu      sync.Mutex
	urls    map[int64][]webhookURL
	queue   chan []byte
	target  chan string
	start   sync.Once
	client  *http.Client
	dropped atomic.Int64
}

type webhookURL struct {
	url    string
	events map[string]bool // nil: every event
}

// SetWebhook makes the simulator notify url of the changes to app (kintone's
// app id) of the given types (ADD_RECORD, UPDATE_RECORD, UPDATE_STATUS,
// DELETE_RECORD, ADD_RECORD_COMMENT; none: every type). Each call adds a
// URL, as each webhook of an app's settings does.
func (s *Server) SetWebhook(app int64, url string, events ...string) {
	w := &s.hooks
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.urls == nil {
		w.urls = map[int64][]webhookURL{}
	}
	u := webhookURL{url: url}
	if len(events) > 0 {
		u.events = map[string]bool{}
		for _, e := range events {
			u.events[e] = true
		}
	}
	w.urls[app] = append(w.urls[app], u)
}

// WebhooksDropped reports how many notifications were dropped because too
// many waited.
func (s *Server) WebhooksDropped() int64 { return s.hooks.dropped.Load() }

// noteRecord records a change of a record by the write in progress, when
// the app has webhooks. api tells an edit from a status change.
func (st *state) noteRecord(a *app, id int64, old, r *record) {
	if st.undoing || !st.hooked(a.id) {
		return
	}
	h := hook{app: a, record: id}
	switch {
	case old == nil && r != nil:
		h.typ = "ADD_RECORD"
	case r == nil:
		h.typ = "DELETE_RECORD"
	case strings.Contains(st.api, "status"):
		h.typ = "UPDATE_STATUS"
	case strings.Contains(st.api, "assignees"):
		return // kintone has no webhook for a change of assignees alone
	default:
		h.typ = "UPDATE_RECORD"
	}
	if r != nil {
		h.body = appendRecord(nil, a, r, nil)
	}
	st.notes = append(st.notes, h)
}

// noteComment records a comment added by the write in progress.
func (st *state) noteComment(a *app, rec int64, cm *comment) {
	if st.undoing || !st.hooked(a.id) {
		return
	}
	st.notes = append(st.notes, hook{typ: "ADD_RECORD_COMMENT", app: a, record: rec, comment: cm})
}

// hooked reports whether app has a webhook; set by the server.
func (st *state) hooked(app int64) bool { return st.hookedFn != nil && st.hookedFn(app) }

func (w *webhooks) has(app int64) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	return len(w.urls[app]) > 0
}

// send queues the notifications of a committed write.
func (s *Server) sendHooks(notes []hook) {
	w := &s.hooks
	w.start.Do(func() {
		w.queue = make(chan []byte, webhookQueue)
		w.target = make(chan string, webhookQueue)
		w.client = &http.Client{Timeout: 10 * time.Second}
		go w.loop()
	})
	for _, h := range notes {
		body := h.payload(s)
		w.mu.Lock()
		urls := w.urls[h.app.id]
		w.mu.Unlock()
		for _, u := range urls {
			if u.events != nil && !u.events[h.typ] {
				continue
			}
			select {
			case w.queue <- body:
				w.target <- u.url
			default:
				w.dropped.Add(1)
			}
		}
	}
}

// loop sends the queued notifications one at a time.
func (w *webhooks) loop() {
	for body := range w.queue {
		url := <-w.target
		resp, err := w.client.Post(url, "application/json", bytes.NewReader(body))
		if err == nil {
			resp.Body.Close()
		}
	}
}

// payload is kintone's notification for h.
func (h hook) payload(s *Server) []byte {
	id := make([]byte, 16)
	rand.Read(id)
	p := map[string]any{
		"id":   hex.EncodeToString(id),
		"type": h.typ,
		"app":  map[string]any{"id": strconv.FormatInt(h.app.id, 10), "name": h.app.name},
		"url":  "https://sim.invalid/k/" + strconv.FormatInt(h.app.id, 10) + "/show#record=" + strconv.FormatInt(h.record, 10),
	}
	switch h.typ {
	case "DELETE_RECORD":
		p["recordId"] = strconv.FormatInt(h.record, 10)
		p["deletedAt"] = s.now().UTC().Format(time.RFC3339)
	case "ADD_RECORD_COMMENT":
		p["recordId"] = strconv.FormatInt(h.record, 10)
		mentions := h.comment.mentions
		if mentions == nil {
			mentions = []SeedMention{}
		}
		p["comment"] = map[string]any{"id": strconv.FormatInt(h.comment.id, 10), "text": h.comment.text,
			"createdAt": h.comment.createdAt.UTC().Format(time.RFC3339),
			"creator":   map[string]any{"code": h.comment.creator.code, "name": h.comment.creator.name}, "mentions": mentions}
	default:
		p["record"] = json.RawMessage(h.body)
	}
	b, _ := json.Marshal(p)
	return b
}
