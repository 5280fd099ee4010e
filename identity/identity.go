// Package identity holds who is asking, as kgate knows it once a request
// is authenticated. It imports nothing of kgate's, so that the identity
// sources (kgate's own OpenID Connect login, or a Caddy module written
// outside this repository), the members directory and the enforcement core
// can all share one type without depending on each other.
package identity

// Identity is who is asking, as an identity source established it from a
// session or a bearer token and the member profile. Nothing a client sends
// sets it directly: policies see it as input.user.
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

	// ViewedBy is the e-mail address of the staff member viewing the
	// portal as this member, "" otherwise. Such an identity may read what
	// the member may read and write nothing: the gateway refuses every
	// write of it, whichever handler asks.
	ViewedBy string
}
