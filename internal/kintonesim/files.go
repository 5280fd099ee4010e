package kintonesim

import (
	"crypto/rand"
	"encoding/hex"
	"io"
	"mime"
	"net/http"
	"strings"
	"time"

	"github.com/kgate/kgate/internal/kintone"
)

// maxFile is kintone's limit on one file.
const maxFile = 1 << 30

// uploadLife is how long an upload key lives unless a record takes it.
const uploadLife = 3 * 24 * time.Hour

// upload serves POST file.json: one multipart part named "file" becomes a
// temporary upload key. It needs valid credentials but no app permission.
func (s *Server) upload(c *call, r *http.Request) (any, *kintone.Error) {
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || mt != "multipart/form-data" {
		return nil, kintone.NewError("CB_IL02", c.lang)
	}
	mr, err := r.MultipartReader()
	if err != nil {
		return nil, kintone.NewError("CB_IL02", c.lang)
	}
	for {
		part, err := mr.NextPart()
		if err != nil {
			return nil, kintone.NewError("CB_IL02", c.lang) // no "file" part, or a broken body
		}
		if part.FormName() != "file" {
			continue
		}
		data, err := io.ReadAll(io.LimitReader(part, maxFile+1))
		if err != nil || int64(len(data)) > maxFile {
			return nil, kintone.NewError("CB_IL02", c.lang)
		}
		name := part.FileName()
		if name == "" {
			return nil, kintone.NewError("CB_IL02", c.lang)
		}
		ct := part.Header.Get("Content-Type")
		if ct == "" || ct == "application/octet-stream" {
			if byExt := mime.TypeByExtension(name[strings.LastIndexByte(name, '.')+1:]); byExt != "" && strings.Contains(name, ".") {
				ct = byExt
			} else {
				ct = http.DetectContentType(data)
			}
		}
		key := newUploadKey()
		s.st.mu.Lock()
		s.st.tmp[key] = &upload{file: &fileRef{name: name, contentType: ct, data: data}, expires: c.now.Add(uploadLife)}
		for k, u := range s.st.tmp {
			if !c.now.Before(u.expires) {
				delete(s.st.tmp, k)
			}
		}
		s.st.mu.Unlock()
		return map[string]string{"fileKey": key}, nil
	}
}

// download serves GET file.json: the bytes of a file attached to a record
// the caller may view. An upload key is not a download key: GAIA_BL01.
func (s *Server) download(c *call) (int, []byte, string) {
	key, _ := c.p.text("fileKey")
	if key == "" {
		ve := &verrs{lang: c.lang}
		ve.add("fileKey", kintone.MsgRequiredParam)
		return errorBody(ve.err)
	}
	s.st.mu.RLock()
	defer s.st.mu.RUnlock()
	f := s.st.files[key]
	if f == nil || f.app == 0 {
		return errorBody(kintone.NewError("GAIA_BL01", c.lang, key))
	}
	if _, err := c.appByID(f.app, rView); err != nil {
		return errorBody(err)
	}
	ct := f.contentType
	if ct == "" {
		ct = "application/octet-stream"
	}
	return http.StatusOK, f.data, ct
}

// newUploadKey returns a key shaped like kintone's upload keys (a UUID).
func newUploadKey() string { return newCursorID() }

// newDownloadKey returns a key shaped like kintone's download keys (long
// hex).
func newDownloadKey() string {
	var b [24]byte
	rand.Read(b[:])
	return strings.ToUpper(hex.EncodeToString(b[:]))
}
