package kintonesim

import (
	"testing"
	"time"
)

// TestExampleSeedLoads: the demo world of examples/partner-portal loads
// and holds what DEMO.md describes.
func TestExampleSeedLoads(t *testing.T) {
	seed, err := LoadSeed("../../examples/partner-portal/seed.json")
	if err != nil {
		t.Fatal(err)
	}
	s, err := New(seed, WithClock(func() time.Time { return fixedNow }))
	if err != nil {
		t.Fatal(err)
	}
	count := func(app int64, user, query string) int {
		recs, err := s.Select(app, user, query)
		if err != nil {
			t.Fatalf("app %d %q: %v", app, query, err)
		}
		return len(recs)
	}
	for _, c := range []struct {
		app   int64
		query string
		min   int
	}{
		{1, `email = "erin@cosmo.example" and state in ("inactive")`, 1},
		{1, `email = "frank@unknown.example"`, 0},
		{1, `email = "sam@operator.example" and level in ("staff")`, 1},
		{2, `Status in ("Draft")`, 3},
		{2, `Status in ("Submitted")`, 3},
		{2, `Status in ("Approved")`, 3},
		{2, `Status in ("Rejected")`, 3},
		{2, `org in ("acme") and attachment is not empty`, 1},
		{3, `org in ("all") and audience in ("gold")`, 2},
		{4, `seminar in ("api-workshop")`, 5},
		{5, `start >= TODAY() and start < NEXT_MONTH()`, 1},
		{5, `start >= NEXT_MONTH()`, 1},
	} {
		n := count(c.app, "", c.query)
		if (c.min == 0 && n != 0) || n < c.min {
			t.Errorf("app %d %q: %d records", c.app, c.query, n)
		}
	}
	for app, tok := range map[string]string{"1": "demo-token-members", "2": "demo-token-budget", "4": "demo-token-survey", "5": "demo-token-schedule"} {
		must(t, do(t, s, req{method: "GET", path: "/k/v1/records.json?app=" + app, token: tok}))
	}
	must(t, do(t, s, req{method: "GET", path: "/k/guest/7/v1/records.json?app=3", token: "demo-token-documents"}))
}
