package members

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/kgate/kgate/internal/kintone"
	"github.com/kgate/kgate/internal/kql"
	"github.com/kgate/kgate/membersconfig"
)

// OrgsApp is the organizations app sign-up checks e-mail domains in: one
// record per organization, its code and the domains it vouches for.
type OrgsApp struct {
	client *kintone.Client
	app    string
	space  string
	tokens []string
	fields membersconfig.Orgs

	mu      sync.Mutex
	domains map[string]string // domain → organization code
	fetched time.Time
	now     func() time.Time
}

// orgsTTL is how long the domain list is reused: sign-ups are rare, and
// an organization the staff add takes effect within it.
const orgsTTL = time.Minute

// NewOrgsApp returns the organizations app app in guest space space.
func NewOrgsApp(client *kintone.Client, app, space string, tokens []string, fields membersconfig.Orgs) *OrgsApp {
	if fields.Code == "" {
		fields.Code = "code"
	}
	if fields.Domains == "" {
		fields.Domains = "domains"
	}
	return &OrgsApp{client: client, app: app, space: space, tokens: tokens, fields: fields, now: time.Now}
}

// orgOf returns the code of the organization that lists domain, or "".
// Two organizations listing one domain is the operator's mistake: the
// domain then opens to neither.
func (o *OrgsApp) orgOf(ctx context.Context, domain string) (string, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.domains == nil || o.now().Sub(o.fetched) >= orgsTTL {
		m, err := o.read(ctx)
		if err != nil {
			return "", err
		}
		o.domains, o.fetched = m, o.now()
	}
	return o.domains[domain], nil
}

// read reads every organization (up to 500: the app lists companies, not
// people).
func (o *OrgsApp) read(ctx context.Context) (map[string]string, error) {
	limit := 500
	q := &kql.Query{Limit: &limit}
	resp, err := o.client.Do(ctx, kintone.Request{Method: "GET", API: "records.json", GuestSpace: o.space, App: o.app,
		Tokens: o.tokens, Params: url.Values{"app": {o.app}, "query": {q.String()}, "fields[0]": {o.fields.Code}, "fields[1]": {o.fields.Domains}},
		Priority: kintone.PriorityMember})
	if err != nil {
		return nil, fmt.Errorf("organizations app: %w", err)
	}
	var page struct {
		Records []kintone.Record `json:"records"`
	}
	if err := json.Unmarshal(resp.Body, &page); err != nil {
		return nil, fmt.Errorf("organizations app: %w", err)
	}
	out := map[string]string{}
	taken := map[string]bool{}
	for _, r := range page.Records {
		code := text(r[o.fields.Code])
		for d := range strings.FieldsFuncSeq(strings.ToLower(text(r[o.fields.Domains])), func(c rune) bool {
			return c == ',' || c == ' ' || c == '\n' || c == '\r' || c == '\t' || c == ';'
		}) {
			d = strings.TrimPrefix(d, "@")
			if taken[d] && out[d] != code {
				delete(out, d)
				continue
			}
			taken[d] = true
			if code != "" {
				out[d] = code
			}
		}
	}
	return out, nil
}
