package portal

import (
	"context"
	"encoding/json"
	"reflect"
	"testing"

	"github.com/kgate/kgate/internal/gateway"
)

func TestDecodeRecordsAgreesWithEncodingJSON(t *testing.T) {
	w := newWorld(t)
	for _, alias := range []string{"budget", "documents", "schedule"} {
		ref, _ := w.gw.Ref(alias)
		pg, err := w.gw.ListRecords(context.Background(), demoMember("sam"), gateway.ListRequest{App: ref, Query: "limit 100"})
		if err != nil {
			t.Fatal(err)
		}
		want, err := pg.Decode()
		if err != nil {
			t.Fatal(err)
		}
		got, err := decodeRecords(pg)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) == 0 || !reflect.DeepEqual(normalize(t, got), normalize(t, want)) {
			t.Errorf("%s: the streaming decoder disagrees with encoding/json", alias)
		}
	}
}

// normalize compacts every raw value, as encoding/json keeps it as sent.
func normalize(t *testing.T, recs any) any {
	b, err := json.Marshal(recs)
	if err != nil {
		t.Fatal(err)
	}
	var v any
	json.Unmarshal(b, &v)
	return v
}

func TestDecodeRecordsRefusesWhatIsNotARecord(t *testing.T) {
	for _, raw := range []string{`[]`, `{"a":1}`, `{"a":{"value":1}`, `{"a":{"value":1}}x`, `{"a":{"value":}}`, ``} {
		if _, err := decodeRecords(&gateway.Page{Records: []json.RawMessage{json.RawMessage(raw)}}); err == nil {
			t.Errorf("%q accepted", raw)
		}
	}
}
