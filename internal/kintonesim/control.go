package kintonesim

import (
	"encoding/json"
	"net/http"
	"strconv"
	"time"

	"github.com/kgate/kgate/internal/kintone"
)

// serveControl answers the control endpoints (WithControl):
//
//	POST   /_sim/faults   a Fault as JSON (latency as "latencyMs")
//	DELETE /_sim/faults   clear every fault
//	GET    /_sim/counters {"apps":{"<id>":n},"limit":n,"over":["<id>"]}: today's
//	                      requests per app, the daily limit, the apps past it
//	POST   /_sim/counters {"apps":{"<id>":n}}: set today's count of these apps
//	GET    /_sim/load     {"running","peak","refused"}: requests at once now and
//	                      at most, and the 429s answered (see Load)
//	DELETE /_sim/load     start the peak and the 429 count afresh
//	POST   /_sim/clock    {"now":"RFC 3339"} or {"advance":"10m"}
//	DELETE /_sim/clock    back to the real clock
//	PUT    /_sim/record   {"app","id","user","record"}: edit as another user
//	GET    /_sim/health   200 when serving
func (s *Server) serveControl(w http.ResponseWriter, r *http.Request) {
	reply := func(status int, v any) {
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		w.WriteHeader(status)
		json.NewEncoder(w).Encode(v)
	}
	bad := func(msg string) { reply(http.StatusBadRequest, map[string]string{"error": msg}) }
	switch r.Method + " " + r.URL.Path {
	case "GET /_sim/health":
		reply(http.StatusOK, map[string]bool{"ok": true})
	case "POST /_sim/faults":
		var in struct {
			Fault
			LatencyMs int64 `json:"latencyMs"`
		}
		if err := json.NewDecoder(r.Body).Decode(&in); err != nil {
			bad(err.Error())
			return
		}
		in.Fault.Latency = time.Duration(in.LatencyMs) * time.Millisecond
		s.InjectFault(in.Fault)
		reply(http.StatusOK, map[string]bool{"ok": true})
	case "DELETE /_sim/faults":
		s.ClearFaults()
		reply(http.StatusOK, map[string]bool{"ok": true})
	case "GET /_sim/counters":
		reply(http.StatusOK, s.counters())
	case "POST /_sim/counters":
		var in struct {
			Apps map[string]int `json:"apps"`
		}
		if err := json.NewDecoder(r.Body).Decode(&in); err != nil {
			bad(err.Error())
			return
		}
		set := map[int64]int{}
		for id, n := range in.Apps {
			app, err := strconv.ParseInt(id, 10, 64)
			if err != nil || app <= 0 || n < 0 {
				bad(`"apps" maps app ids to counts of zero or more`)
				return
			}
			set[app] = n
		}
		for app, n := range set {
			s.SetRequestCount(app, n)
		}
		reply(http.StatusOK, s.counters())
	case "GET /_sim/load":
		running, peak, refused := s.Load()
		reply(http.StatusOK, map[string]int{"running": running, "peak": peak, "refused": refused})
	case "DELETE /_sim/load":
		s.ResetLoad()
		reply(http.StatusOK, map[string]bool{"ok": true})
	case "POST /_sim/clock":
		var in struct {
			Now     string `json:"now"`
			Advance string `json:"advance"`
		}
		if err := json.NewDecoder(r.Body).Decode(&in); err != nil {
			bad(err.Error())
			return
		}
		var at time.Time
		switch {
		case in.Now != "":
			t, err := time.Parse(time.RFC3339, in.Now)
			if err != nil {
				bad(err.Error())
				return
			}
			at = t
		case in.Advance != "":
			d, err := time.ParseDuration(in.Advance)
			if err != nil {
				bad(err.Error())
				return
			}
			at = s.now().Add(d)
		default:
			bad(`give "now" or "advance"`)
			return
		}
		s.SetClock(func() time.Time { return at })
		reply(http.StatusOK, map[string]string{"now": at.Format(time.RFC3339)})
	case "DELETE /_sim/clock":
		s.SetClock(time.Now)
		reply(http.StatusOK, map[string]bool{"ok": true})
	case "PUT /_sim/record":
		var in struct {
			App    int64          `json:"app"`
			ID     int64          `json:"id"`
			User   string         `json:"user"`
			Record map[string]any `json:"record"`
		}
		d := json.NewDecoder(r.Body)
		d.UseNumber()
		if err := d.Decode(&in); err != nil {
			bad(err.Error())
			return
		}
		rev, err := s.EditRecord(in.App, in.ID, in.User, in.Record)
		if err != nil {
			if ke, ok := err.(*kintone.Error); ok {
				reply(ke.Status, ke)
				return
			}
			bad(err.Error())
			return
		}
		reply(http.StatusOK, map[string]int64{"revision": rev})
	default:
		reply(http.StatusNotFound, map[string]string{"error": "no such control endpoint"})
	}
}

// EditRecord updates record id of app as the user with login name user
// ("" acts as Administrator), bypassing permissions: "another kintone user"
// changing a record, for race tests. record is in kintone's write format,
// code → {"value": …}. It returns the new revision; errors are
// *kintone.Error.
func (s *Server) EditRecord(app, id int64, user string, record map[string]any) (int64, error) {
	b, err := json.Marshal(record)
	if err != nil {
		return 0, err
	}
	in, ok := decodeJSON(b)
	if !ok {
		return 0, kintone.NewError("CB_IJ01", "en")
	}
	s.st.mu.Lock()
	defer s.st.mu.Unlock()
	c := &call{s: s, st: s.st, lang: "en", who: &caller{root: true}, now: s.now()}
	if user != "" {
		if c.who.user = s.st.users[user]; c.who.user == nil {
			return 0, kintone.NewError("GAIA_IL26", "en", user)
		}
	}
	a := s.st.apps[app]
	if a == nil {
		return 0, kintone.NewError("GAIA_AP01", "en", app)
	}
	old, kerr := c.record(a, id)
	if kerr != nil {
		return 0, kerr
	}
	s.st.begin()
	s.st.api = "record.json" // an edit in kintone's screen: its webhooks fire
	r, kerr := c.buildRecord(a, old, in, keys{base: "record"}, false)
	if kerr != nil {
		s.st.rollback()
		return 0, kerr
	}
	s.st.setRecord(a, r.id, r)
	s.sendHooks(s.st.commit())
	s.persist.changed()
	return r.rev, nil
}
