package gateway

import (
	"strings"
	"testing"
	"time"

	"github.com/kgate/kgate/identity"
	"github.com/kgate/kgate/internal/kintone"
	"github.com/kgate/kgate/internal/policy"
)

// Token expiry needs the gateway's clock, so it is pinned down here.
func TestFileAndUploadTokensExpire(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	files, err := newFileSealer([][]byte{make([]byte, 32)}, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	g := &Gateway{files: files, now: func() time.Time { return now }, writes: &writeState{uploadTTL: time.Hour}}
	id := &identity.Identity{Issuer: "https://idp.test", Subject: "u-alice"}
	upload := g.sealUpload(uploadClaim{Issuer: id.Issuer, Subject: id.Subject, App: "20", Key: "upload-key"})
	keep := files.seal(fileClaim{Issuer: id.Issuer, Subject: id.Subject, App: "20", Record: "1", Field: "attachment", Key: "file-key"}, now)
	have := []fileRef{{FileKey: "file-key"}}
	c := &recordCheck{wa: &writeApp{app: &app{App: App{ID: "20"}}}, recordID: "1"}
	resolves := func(token string) bool {
		w := &writer{g: g, id: id, now: now}
		_, _, ok := w.resolveFile(c, "attachment", token, have)
		return ok
	}
	if !resolves(upload) || !resolves(keep) {
		t.Fatal("fresh tokens refused")
	}
	now = now.Add(time.Hour + time.Second)
	if resolves(upload) || resolves(keep) {
		t.Error("tokens accepted after they expired")
	}
}

func TestTokensAreNotInterchangeable(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	files, _ := newFileSealer([][]byte{make([]byte, 32)}, time.Hour)
	g := &Gateway{files: files, now: func() time.Time { return now }, writes: &writeState{uploadTTL: time.Hour}}
	upload := g.sealUpload(uploadClaim{Issuer: "i", Subject: "s", App: "20", Key: "k"})
	if _, err := files.open(upload, now); err == nil {
		t.Error("an upload token opened as a download token")
	}
	download := files.seal(fileClaim{Issuer: "i", Subject: "s", App: "20", Record: "1", Field: "f", Key: "k"}, now)
	if _, ok := g.openUpload(download); ok {
		t.Error("a download token opened as an upload token")
	}
}

func TestUploadTokensLiveAsLongAsConfigured(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	for _, tc := range []struct {
		configured, valid, expired time.Duration
	}{
		{0, 59 * time.Minute, 61 * time.Minute},               // the default: 1h
		{2 * time.Hour, 119 * time.Minute, 121 * time.Minute}, // as set
		{7 * 24 * time.Hour, 71 * time.Hour, 73 * time.Hour},  // never past kintone's 3 days
	} {
		g, err := New(Config{Client: &kintone.Client{}, Policy: &policy.Engine{}, UploadTokenTTL: tc.configured})
		if err != nil {
			t.Fatal(err)
		}
		g.now = func() time.Time { return now }
		token := g.sealUpload(uploadClaim{Issuer: "i", Subject: "s", Key: "k"})
		for _, after := range []struct {
			d    time.Duration
			want bool
		}{{tc.valid, true}, {tc.expired, false}} {
			g.now = func() time.Time { return now.Add(after.d) }
			if _, ok := g.openUpload(token); ok != after.want {
				t.Errorf("UploadTokenTTL %v: token valid after %v = %v, want %v", tc.configured, after.d, ok, after.want)
			}
		}
	}
}

// Instances behind one site share their keys: a file or upload token made
// by one gateway opens on another configured with its key, also once a new
// key is put first (rotation), and nowhere the key is no longer listed.
func TestTokensOpenWhereverTheirKeyIsListed(t *testing.T) {
	old, next := []byte("an old key of thirty-two bytes or more"), []byte("the next key of thirty-two bytes or more")
	gateway := func(keys ...[]byte) *Gateway {
		g, err := New(Config{Client: &kintone.Client{}, Policy: &policy.Engine{}, FileKeys: keys})
		if err != nil {
			t.Fatal(err)
		}
		return g
	}
	maker := gateway(old)
	now := maker.now()
	file := maker.files.seal(fileClaim{Issuer: "i", Subject: "s", App: "20", Record: "1", Field: "f", Key: "k"}, now)
	upload := maker.sealUpload(uploadClaim{Issuer: "i", Subject: "s", App: "20", Key: "k"})
	for _, tc := range []struct {
		name string
		keys [][]byte
		want bool
	}{
		{"another instance with the same key", [][]byte{old}, true},
		{"after a rotation that keeps the old key", [][]byte{next, old}, true},
		{"once the old key is dropped", [][]byte{next}, false},
		{"an instance without a configured key", nil, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			g := gateway(tc.keys...)
			if _, err := g.files.open(file, now); (err == nil) != tc.want {
				t.Errorf("file token opens: %v, want %v", err == nil, tc.want)
			}
			if _, ok := g.openUpload(upload); ok != tc.want {
				t.Errorf("upload token opens: %v, want %v", ok, tc.want)
			}
		})
	}
	t.Run("the first key seals", func(t *testing.T) {
		rotated := gateway(next, old).sealUpload(uploadClaim{Issuer: "i", Subject: "s", Key: "k"})
		if _, ok := gateway(next).openUpload(rotated); !ok {
			t.Error("a token sealed after the rotation does not open where only the new key is listed")
		}
	})
}

func TestShortFileKeysAreRefused(t *testing.T) {
	_, err := New(Config{Client: &kintone.Client{}, Policy: &policy.Engine{}, FileKeys: [][]byte{make([]byte, MinTokenKeyLen-1)}})
	if err == nil || !strings.Contains(err.Error(), "at least 32") {
		t.Fatalf("a 31-byte key: %v, want a refusal naming the minimum", err)
	}
}
