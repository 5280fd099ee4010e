package kintonesim

import (
	"sort"
	"sync"
	"time"
)

// state is everything the simulator knows. One RWMutex guards it: reads
// share it, a write (or a whole bulkRequest) holds it alone and keeps an
// undo log, so a failed write is rolled back before anyone can see it.
type state struct {
	mu sync.RWMutex

	top       Seed // the seed's settings without apps and files, for Snapshot
	tz        *time.Location
	lang      string
	basic     *BasicAuth
	users     map[string]*SeedUser
	userOrder []string // user codes in seed order
	tokens    map[string]tokenRef
	orgs      map[string]string // code → name
	grps      map[string]string
	apps      map[int64]*app
	order     []int64 // app ids ascending
	data      map[int64]*appData
	files     map[string]*fileRef // download key → file
	tmp       map[string]*upload  // upload key → file not attached yet

	undo    []func()
	undoing bool
	dirty   bool // changed since the last save

	// api is the API of the write in progress; notes are its changes,
	// for webhooks (webhooks.go), handed out at commit; hookedFn says
	// whether an app has webhooks.
	api      string
	notes    []hook
	hookedFn func(app int64) bool
}

// appData holds an app's records and comments.
type appData struct {
	recs     map[int64]*record
	sorted   []*record // by id, ascending
	nextID   int64
	unique   map[*field]map[string]int64 // unique field → value → record id
	comments map[int64]*thread
}

// thread is the comments of one record.
type thread struct {
	next int64
	list []*comment // by id ascending
}

type comment struct {
	id        int64
	text      string
	createdAt time.Time
	creator   entity
	mentions  []SeedMention
}

type upload struct {
	file    *fileRef
	expires time.Time
}

func (s *state) entityName(typ, code string) (string, bool) {
	switch typ {
	case "ORGANIZATION_SELECT":
		n, ok := s.orgs[code]
		return n, ok
	case "GROUP_SELECT":
		n, ok := s.grps[code]
		return n, ok
	}
	if code == administrator.code {
		return administrator.name, true
	}
	if u := s.users[code]; u != nil {
		return u.Name, true
	}
	return "", false
}

// administrator is who API-token requests act as.
var administrator = entity{code: "Administrator", name: "Administrator"}

// begin starts a write; the caller holds mu for writing.
func (s *state) begin() { s.undo, s.notes = s.undo[:0], nil }

// rollback undoes every change since begin.
func (s *state) rollback() {
	s.undoing = true
	for i := len(s.undo) - 1; i >= 0; i-- {
		s.undo[i]()
	}
	s.undoing = false
	s.undo, s.notes = s.undo[:0], nil
}

// commit keeps the changes since begin and returns them for webhooks.
func (s *state) commit() []hook {
	if len(s.undo) > 0 {
		s.dirty = true
	}
	s.undo = s.undo[:0]
	notes := s.notes
	s.notes = nil
	return notes
}

// logUndo records how to reverse a change.
func (s *state) logUndo(f func()) {
	if !s.undoing {
		s.undo = append(s.undo, f)
	}
}

// setRecord stores r under id (r nil deletes it), keeping the id order and
// the unique indexes, and logs the reverse change.
func (s *state) setRecord(a *app, id int64, r *record) {
	d := s.data[a.id]
	old := d.recs[id]
	s.logUndo(func() { s.setRecord(a, id, old) })
	s.noteRecord(a, id, old, r)
	if old != nil {
		for f, idx := range d.unique {
			if v := uniqueKey(f, old.vals[f.idx]); v != "" && idx[v] == id {
				delete(idx, v)
			}
		}
	}
	i := sort.Search(len(d.sorted), func(i int) bool { return d.sorted[i].id >= id })
	switch {
	case r == nil:
		delete(d.recs, id)
		if i < len(d.sorted) && d.sorted[i].id == id {
			d.sorted = append(d.sorted[:i], d.sorted[i+1:]...)
		}
		return
	case old != nil:
		d.sorted[i] = r
	case i == len(d.sorted):
		d.sorted = append(d.sorted, r)
	default:
		d.sorted = append(d.sorted, nil)
		copy(d.sorted[i+1:], d.sorted[i:])
		d.sorted[i] = r
	}
	d.recs[id] = r
	for f, idx := range d.unique {
		if v := uniqueKey(f, r.vals[f.idx]); v != "" {
			idx[v] = id
		}
	}
}

// uniqueKey is what a value of a unique field is indexed under: equal
// numbers written with different decimals ("1.5", "1.50") are duplicates.
func uniqueKey(f *field, v val) string {
	if f.typ == "NUMBER" {
		return numberKey(v.s)
	}
	return v.s
}

// takeID hands out the next record id. Ids are not given back on rollback,
// like a database sequence.
func (s *state) takeID(a *app) int64 {
	d := s.data[a.id]
	id := d.nextID
	d.nextID++
	return id
}

// attach turns an upload key into a download key for a file now held by a
// record, logging the reverse change.
func (s *state) attach(key string, app int64) *fileRef {
	u := s.tmp[key]
	delete(s.tmp, key)
	f := *u.file
	f.key, f.app = newDownloadKey(), app
	s.files[f.key] = &f
	s.logUndo(func() {
		delete(s.files, f.key)
		s.tmp[key] = u
	})
	return &f
}
