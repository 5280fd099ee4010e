// Package gateway is kgate's enforcement core: one method per kintone
// operation, for one identity. The API and the portal both call it, so the
// rules a person meets in a browser are the rules a machine meets on the API.
package gateway

// Identity is who is asking, as auth established it from a session or a
// bearer token and the member profile. Nothing a client sends sets it
// directly.
type Identity struct {
	Subject string         // the OpenID Provider's "sub"
	Issuer  string         // the provider that vouched for Subject
	Email   string         // verified e-mail address, when known
	Name    string         // display name
	Level   string         // member level, e.g. "gold"
	Org     string         // organization the member belongs to
	Groups  []string       // group values from claims or the members app
	Attrs   map[string]any // further attributes handed to policies as input.user.attrs

	Lang     string // preferred language ("ja" or "en"), "" when unknown
	TimeZone string // IANA zone name for dates shown to the member, "" for the default
	Via      string // "session" or "bearer": how the identity arrived
}
