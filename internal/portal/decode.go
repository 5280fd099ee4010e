package portal

import (
	"bytes"
	"errors"
	"io"

	"github.com/go-json-experiment/json/jsontext"

	"github.com/kgate/kgate/internal/gateway"
	"github.com/kgate/kgate/internal/kintone"
)

// decodeRecords reads a page's records into kintone.Record values by
// streaming their tokens: field values stay raw until a cell renders them,
// which costs a fraction of decoding every record into maps of maps.
func decodeRecords(pg *gateway.Page) ([]kintone.Record, error) {
	out := make([]kintone.Record, len(pg.Records))
	dec := jsontext.NewDecoder(bytes.NewReader(nil))
	for i, raw := range pg.Records {
		dec.Reset(bytes.NewReader(raw))
		rec, err := decodeRecord(dec)
		if err != nil {
			return nil, err
		}
		out[i] = rec
	}
	return out, nil
}

var errRecordShape = errors.New("portal: a record is not an object of {type, value} fields")

func decodeRecord(dec *jsontext.Decoder) (kintone.Record, error) {
	if t, err := dec.ReadToken(); err != nil || t.Kind() != '{' {
		return nil, errRecordShape
	}
	rec := make(kintone.Record, 16)
	for dec.PeekKind() == '"' {
		name, err := dec.ReadToken()
		if err != nil {
			return nil, err
		}
		code := name.String()
		if t, err := dec.ReadToken(); err != nil || t.Kind() != '{' {
			return nil, errRecordShape
		}
		var fv kintone.FieldValue
		for dec.PeekKind() == '"' {
			key, err := dec.ReadToken()
			if err != nil {
				return nil, err
			}
			k := key.String() // before the next read voids the token
			v, err := dec.ReadValue()
			if err != nil {
				return nil, err
			}
			switch k {
			case "type":
				if s, ok := jsonString([]byte(v)); ok {
					fv.Type = s
				}
			case "value":
				fv.Value = bytes.Clone(v)
			}
		}
		if t, err := dec.ReadToken(); err != nil || t.Kind() != '}' {
			return nil, errRecordShape
		}
		rec[code] = fv
	}
	if t, err := dec.ReadToken(); err != nil || t.Kind() != '}' {
		return nil, errRecordShape
	}
	if _, err := dec.ReadToken(); err != io.EOF {
		return nil, errRecordShape // something after the record
	}
	return rec, nil
}
