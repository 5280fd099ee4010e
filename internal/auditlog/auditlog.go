// Package auditlog reads kgate's audit log back: the JSON lines package
// audit writes, from plain, gzip or zstd files (Caddy's rolled files), and
// picks the events an auditor asks for.
package auditlog

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/klauspost/compress/zstd"
)

// Entry is one audit event as read from the log. Raw is the line itself,
// so that nothing the reader does not know of is lost when it is printed.
type Entry struct {
	Time          time.Time `json:"-"`
	TS            any       `json:"ts"`
	Logger        string    `json:"logger"`
	Kind          string    `json:"msg"`
	RequestID     string    `json:"request_id"`
	Subject       string    `json:"subject"`
	Email         string    `json:"email"`
	Org           string    `json:"org"`
	MemberLevel   string    `json:"member_level"`
	Via           string    `json:"via"`
	ViewedBy      string    `json:"viewed_by"`
	App           string    `json:"app"`
	Action        string    `json:"action"`
	Decision      string    `json:"decision"`
	Reasons       []string  `json:"reasons"`
	Records       int       `json:"records"`
	RecordIDs     []string  `json:"record_ids"`
	Fields        []string  `json:"fields"`
	PolicyVersion string    `json:"policy_version"`
	Outcome       string    `json:"outcome"`
	Error         string    `json:"error"`
	RemoteIP      string    `json:"remote_ip"`

	Raw []byte `json:"-"`
}

// Filter says which entries an auditor wants. Zero fields match anything.
type Filter struct {
	Member   string // e-mail address (case-insensitive) or provider subject; staff viewing as a member match by viewed_by too
	App      string
	Action   string // the policy action, or the event's kind: "read" finds every read
	Decision string // "allow" or "deny"
	Since    time.Time
	Until    time.Time // exclusive
}

// Match reports whether e is one f asks for.
func (f Filter) Match(e *Entry) bool {
	switch {
	case f.Member != "" && !strings.EqualFold(e.Email, f.Member) && e.Subject != f.Member && !strings.EqualFold(e.ViewedBy, f.Member),
		f.App != "" && e.App != f.App,
		f.Action != "" && e.Action != f.Action && e.Kind != f.Action,
		f.Decision != "" && e.Decision != f.Decision,
		!f.Since.IsZero() && e.Time.Before(f.Since),
		!f.Until.IsZero() && !e.Time.Before(f.Until):
		return false
	}
	return true
}

// Stats counts what Read met besides events.
type Stats struct {
	Lines   int // lines read
	Skipped int // lines that were not an audit event (a truncated last line, another logger's entry)
}

// Read calls fn for every entry of r that f matches. r may be plain,
// gzip- or zstd-compressed: the first bytes say which.
func Read(r io.Reader, f Filter, fn func(*Entry)) (Stats, error) {
	var st Stats
	br := bufio.NewReaderSize(r, 64<<10)
	in, closeIn, err := decompress(br)
	if err != nil {
		return st, err
	}
	defer closeIn()
	sc := bufio.NewScanner(in)
	sc.Buffer(make([]byte, 64<<10), 16<<20)
	for sc.Scan() {
		line := bytes.TrimSpace(sc.Bytes())
		if len(line) == 0 {
			continue
		}
		st.Lines++
		e, ok := parse(line)
		if !ok {
			st.Skipped++
			continue
		}
		if f.Match(e) {
			e.Raw = append([]byte(nil), line...)
			fn(e)
		}
	}
	return st, sc.Err()
}

var (
	gzipMagic = []byte{0x1f, 0x8b}
	zstdMagic = []byte{0x28, 0xb5, 0x2f, 0xfd}
)

func decompress(br *bufio.Reader) (io.Reader, func(), error) {
	head, _ := br.Peek(4)
	switch {
	case bytes.HasPrefix(head, gzipMagic):
		z, err := gzip.NewReader(br)
		if err != nil {
			return nil, nil, err
		}
		return z, func() { z.Close() }, nil
	case bytes.HasPrefix(head, zstdMagic):
		z, err := zstd.NewReader(br)
		if err != nil {
			return nil, nil, err
		}
		return z, z.Close, nil
	}
	return br, func() {}, nil
}

func parse(line []byte) (*Entry, bool) {
	e := new(Entry)
	if err := json.Unmarshal(line, e); err != nil || e.Kind == "" {
		return nil, false
	}
	// A log that mixes loggers (no include/exclude) holds other entries too.
	if e.Logger != "" && !strings.HasSuffix(e.Logger, "kgate.audit") {
		return nil, false
	}
	t, ok := parseTS(e.TS)
	if !ok {
		return nil, false
	}
	e.Time = t
	return e, true
}

// parseTS reads Caddy's time formats: Unix seconds (the default), and the
// text formats time_format can choose.
func parseTS(ts any) (time.Time, bool) {
	switch v := ts.(type) {
	case float64:
		sec := int64(v)
		return time.Unix(sec, int64((v-float64(sec))*1e9)).UTC(), true
	case string:
		for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05.000Z0700", "2006/01/02 15:04:05.000"} {
			if t, err := time.Parse(layout, v); err == nil {
				return t, true
			}
		}
	}
	return time.Time{}, false
}

// ParseWhen reads a --since or --until value: a duration back from now
// ("36h", "7d"), a date ("2026-11-27", midnight UTC) or an RFC 3339 time.
func ParseWhen(s string, now time.Time) (time.Time, error) {
	if d, err := caddy.ParseDuration(s); err == nil {
		if d < 0 {
			return time.Time{}, fmt.Errorf("%q: a duration back from now must be positive", s)
		}
		return now.Add(-d), nil
	}
	if t, err := time.Parse(time.DateOnly, s); err == nil {
		return t, nil
	}
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t, nil
	}
	if _, err := strconv.ParseFloat(s, 64); err == nil {
		return time.Time{}, fmt.Errorf("%q: give a unit (%sh or %sd) or a date (2006-01-02)", s, s, s)
	}
	return time.Time{}, fmt.Errorf("%q is neither a duration (7d, 36h) nor a date (2006-01-02) nor an RFC 3339 time", s)
}
