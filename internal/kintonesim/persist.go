package kintonesim

import (
	"encoding/json"
	"sort"
	"sync"
	"time"
)

// Snapshot returns the simulator's current data as a seed: settings as
// loaded, records with their ids, revisions and system fields, comments,
// attached files and each app's next record id. New(Snapshot()) continues
// where this one is. Upload keys not yet attached and cursors are not kept.
func (s *Server) Snapshot() *Seed {
	s.st.mu.RLock()
	defer s.st.mu.RUnlock()
	return s.st.snapshot()
}

func (st *state) snapshot() *Seed {
	out := st.top
	out.Apps = make([]SeedApp, 0, len(st.order))
	for _, id := range st.order {
		a, d := st.apps[id], st.data[id]
		sa := a.seed
		sa.NextID = d.nextID
		for _, r := range d.sorted {
			rec := make(map[string]json.RawMessage, len(a.fields))
			for _, f := range a.fields {
				if f.typ == "RECORD_NUMBER" {
					continue
				}
				b := append([]byte(`{"value":`), f.appendValue(nil, r.vals[f.idx], nil)...)
				rec[f.code] = append(b, '}')
			}
			sa.Records = append(sa.Records, rec)
		}
		threads := make([]int64, 0, len(d.comments))
		for rid := range d.comments {
			threads = append(threads, rid)
		}
		sort.Slice(threads, func(i, j int) bool { return threads[i] < threads[j] })
		for _, rid := range threads {
			for _, cm := range d.comments[rid].list {
				user := cm.creator.code
				if user == administrator.code {
					user = ""
				}
				sa.Comments = append(sa.Comments, SeedComment{Record: rid, ID: cm.id, User: user, Text: cm.text,
					Mentions: cm.mentions, CreatedAt: cm.createdAt.UTC().Format(time.RFC3339)})
			}
		}
		out.Apps = append(out.Apps, sa)
	}
	keys := make([]string, 0, len(st.files))
	for k := range st.files {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		f := st.files[k]
		out.Files = append(out.Files, SeedFile{FileKey: k, Name: f.name, ContentType: f.contentType, Base64: f.data})
	}
	return &out
}

// persister saves the data to a file a moment after each change, so a
// burst of writes costs one save, and once more on Close.
type persister struct {
	path string
	kick chan struct{}
	done chan struct{}
	wg   sync.WaitGroup
	once sync.Once
	mu   sync.Mutex // one save at a time
	err  error
}

// saveDelay gathers the changes of a burst into one save.
const saveDelay = 200 * time.Millisecond

func (p *persister) start(s *Server) {
	if p.path == "" {
		return
	}
	p.kick = make(chan struct{}, 1)
	p.done = make(chan struct{})
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		for {
			select {
			case <-p.kick:
				select {
				case <-time.After(saveDelay):
				case <-p.done:
					return
				}
				p.save(s)
			case <-p.done:
				return
			}
		}
	}()
}

// changed notes that there is something to save.
func (p *persister) changed() {
	if p.kick != nil {
		select {
		case p.kick <- struct{}{}:
		default:
		}
	}
}

func (p *persister) save(s *Server) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	seed := s.Snapshot()
	p.err = seed.WriteFile(p.path)
	return p.err
}

func (p *persister) stop(s *Server) error {
	if p.path == "" {
		return nil
	}
	var err error
	p.once.Do(func() {
		close(p.done)
		p.wg.Wait()
		err = p.save(s)
	})
	return err
}
