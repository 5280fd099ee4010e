package gateway

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/url"
	"time"

	"github.com/kgate/kgate/identity"
	"github.com/kgate/kgate/internal/audit"
	"github.com/kgate/kgate/internal/kintone"
)

// fileSealer makes the file tokens kgate hands out in place of kintone's
// file keys. A token is sealed (tokenKeys): it names the identity, app,
// record and field it was issued for, the kintone key, and when it
// expires; the member learns nothing from it, cannot alter it, and nobody
// else can use it.
type fileSealer struct {
	keys *tokenKeys
	ttl  time.Duration
}

// fileClaim is what a file token carries.
type fileClaim struct {
	Issuer  string `json:"i"`
	Subject string `json:"s"`
	App     string `json:"a"`
	Record  string `json:"r"`
	Field   string `json:"f"`
	Key     string `json:"k"`
	Expires int64  `json:"e"`
}

// fileTokenAD binds tokens to their purpose, so no other sealed value of
// kgate's can pass for one.
var fileTokenAD = []byte("kgate file token v1")

func newFileSealer(secrets [][]byte, ttl time.Duration) (*fileSealer, error) {
	keys, err := newTokenKeys(secrets)
	if err != nil {
		return nil, err
	}
	return &fileSealer{keys: keys, ttl: ttl}, nil
}

func (s *fileSealer) seal(c fileClaim, now time.Time) string {
	c.Expires = now.Add(s.ttl).Unix()
	plain, _ := json.Marshal(c)
	return s.keys.seal(fileTokenAD, plain)
}

var errFileToken = errors.New("not a valid file token")

// open returns the claim of a token that is authentic and not expired.
func (s *fileSealer) open(token string, now time.Time) (*fileClaim, error) {
	plain, ok := s.keys.open(fileTokenAD, token)
	if !ok {
		return nil, errFileToken
	}
	var c fileClaim
	if err := json.Unmarshal(plain, &c); err != nil || now.Unix() > c.Expires {
		return nil, errFileToken
	}
	return &c, nil
}

// File is a file of a record, as the member may download it. The caller
// streams Body and closes it.
type File struct {
	Name        string // as the record names it
	ContentType string // as kintone stored it
	Size        int64  // bytes, as kintone announced them; -1 when unknown
	Body        io.ReadCloser
	// Key is kintone's file key: it names one content for good, so copies
	// made of the file (thumbnails) are cached by it. It is for kgate's
	// own use and never sent to the member.
	Key string
	// open downloads the file StatFile checked.
	open    func(ctx context.Context) (io.ReadCloser, error)
	app     *app
	fileKey string
}

// Open downloads the content of a file StatFile returned.
func (f *File) Open(ctx context.Context) (io.ReadCloser, error) {
	if f.open == nil {
		return nil, errors.New("gateway: Open on a file StatFile did not return")
	}
	return f.open(ctx)
}

// DownloadFile opens a file named by a file token. The token must have
// been issued to this identity; the record must still satisfy the row
// rules of read and file.read, with the file in the same readable,
// unmasked field. Any failure answers like a file that does not exist.
// Name, type and size come from the record, never from the request.
func (g *Gateway) DownloadFile(ctx context.Context, id *identity.Identity, token string) (*File, error) {
	ev := audit.Event{Kind: "read", Action: "file.read"}
	start := g.now()
	file, err := g.statFile(ctx, id, token, &ev)
	if err == nil {
		file.Body, file.Size, err = g.openFile(ctx, id, file, &ev)
	}
	if err != nil {
		file = nil
	}
	g.finish(ctx, id, &ev, start, err)
	return file, err
}

// StatFile checks a file token as DownloadFile does and returns the file
// without its content (Body nil, Size -1): Open downloads it. It is for
// copies of a file cached by its Key, which must be checked on every
// request but need the content only when not cached. The check is
// audited as a file.read.
func (g *Gateway) StatFile(ctx context.Context, id *identity.Identity, token string) (*File, error) {
	ev := audit.Event{Kind: "read", Action: "file.read"}
	start := g.now()
	file, err := g.statFile(ctx, id, token, &ev)
	g.finish(ctx, id, &ev, start, err)
	if err != nil {
		return nil, err
	}
	file.open = func(ctx context.Context) (io.ReadCloser, error) {
		body, _, err := g.openFile(ctx, id, file, &audit.Event{})
		return body, err
	}
	return file, nil
}

func (g *Gateway) statFile(ctx context.Context, id *identity.Identity, token string, ev *audit.Event) (*File, error) {
	gone := kintone.NewError("GAIA_BL01", id.Lang, "-")
	c, err := g.files.open(token, g.now())
	if err != nil || c.Issuer != id.Issuer || c.Subject != id.Subject {
		return nil, gone
	}
	a := g.apps[c.App]
	if a == nil {
		return nil, gone
	}
	ev.App, ev.RecordIDs, ev.Fields = a.Alias, []string{c.Record}, []string{c.Field}
	view := g.view(ctx)
	ev.PolicyVersion = view.Version()
	p, err := g.planRead(ctx, view, id, a, "file.read")
	if err != nil {
		return nil, err
	}
	field := c.Field
	if t, inner := p.form.table[field]; inner {
		field = t // a table's files come with their table
	}
	var held *fileRef
	f := g.filter(ctx, p, []string{field})
	f.seal = func(_, field string, file fileRef) string {
		if held == nil && field == c.Field && file.FileKey == c.Key {
			held = &file
		}
		return ""
	}
	if _, _, err := g.fetchByID(ctx, p, c.Record, []string{field}, f); err != nil {
		return nil, err
	}
	if held == nil {
		return nil, gone
	}
	return &File{Name: held.Name, ContentType: held.ContentType, Size: -1, Key: c.App + "/" + c.Key, app: a, fileKey: c.Key}, nil
}

// openFile downloads a checked file's content.
func (g *Gateway) openFile(ctx context.Context, id *identity.Identity, f *File, ev *audit.Event) (io.ReadCloser, int64, error) {
	a := f.app
	resp, err := g.client.Download(ctx, kintone.Request{API: "file.json", GuestSpace: a.GuestSpace, App: a.ID,
		Tokens: a.Tokens, Params: url.Values{"fileKey": {f.fileKey}}})
	if err != nil {
		ev.UpstreamStatus = statusOf(err)
		return nil, -1, upstreamError(err, id.Lang, nil)
	}
	ev.UpstreamStatus = resp.StatusCode
	return resp.Body, resp.ContentLength, nil
}
