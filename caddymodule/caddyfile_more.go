package caddymodule

import (
	"fmt"
	"strconv"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"
	"github.com/dustin/go-humanize"

	"github.com/kgate/kgate/membersconfig"
	"github.com/kgate/kgate/portalconfig"
)

// unmarshal reads:
//
//	oidc <issuer> {
//	    client_id <id>
//	    client_secret <secret>
//	    client_auth basic|post
//	    scopes <scope>...
//	    userinfo
//	    base_url <https://site>
//	    prefix </kgate/>
//	    post_logout_redirect <url>
//	    logged_out_url <url>
//	    allow_return_host <host>...
//	    session_key <base64>...     # first seals, all open
//	    session_lifetime <duration>
//	    idle_timeout <duration>
//	    refresh_interval <duration>
//	    session_store memory|<redis://…>
//	    backchannel_logout
//	    bearer_audience <aud>...
//	    bearer_clients <client_id>...
//	    bearer_require_at_jwt
//	    algorithms <alg>...
//	    clock_skew <duration>
//	    claim <email|name|level|org|groups|lang|time_zone> <claim>
//	    claim_attr <attribute> <claim>
//	    group_level <group> <level>
//	    default_level <level>
//	    trust_unverified_email
//	    demo
//	}
func (o *OIDC) unmarshal(d *caddyfile.Dispenser) error {
	if !d.Args(&o.Issuer) {
		return d.Errf("oidc needs the provider's issuer URL, e.g. `oidc https://idp.example.com`")
	}
	for nesting := d.Nesting(); d.NextBlock(nesting); {
		key := d.Val()
		args := d.RemainingArgs()
		one := func(into *string) error {
			if len(args) != 1 {
				return d.Errf("%s takes one value", key)
			}
			*into = args[0]
			return nil
		}
		some := func(into *[]string) error {
			if len(args) == 0 {
				return d.Errf("%s needs at least one value", key)
			}
			*into = append(*into, args...)
			return nil
		}
		none := func(into *bool) error {
			if len(args) != 0 {
				return d.Errf("%s takes no value", key)
			}
			*into = true
			return nil
		}
		var err error
		switch key {
		case "client_id":
			err = one(&o.ClientID)
		case "client_secret":
			err = one(&o.ClientSecret)
		case "client_auth":
			if err = one(&o.ClientAuth); err == nil && o.ClientAuth != "basic" && o.ClientAuth != "post" {
				err = d.Errf("client_auth %q: want basic or post", o.ClientAuth)
			}
		case "scopes":
			err = some(&o.Scopes)
		case "userinfo":
			o.UserInfo = true
		case "base_url":
			err = one(&o.BaseURL)
		case "prefix":
			err = one(&o.Prefix)
		case "post_logout_redirect":
			err = one(&o.PostLogoutRedirect)
		case "logged_out_url":
			err = one(&o.LoggedOutURL)
		case "allow_return_host":
			err = some(&o.AllowedReturnHosts)
		case "session_key":
			err = some(&o.SessionKeys)
		case "session_lifetime", "idle_timeout", "refresh_interval", "clock_skew":
			err = durationArg(d, key, args, map[string]*caddy.Duration{
				"session_lifetime": &o.SessionLifetime, "idle_timeout": &o.IdleTimeout, "refresh_interval": &o.RefreshInterval,
				"clock_skew": &o.ClockSkew}[key])
		case "session_store":
			err = one(&o.SessionStore)
		case "backchannel_logout":
			err = none(&o.BackchannelLogout)
		case "bearer_audience":
			err = some(&o.BearerAudiences)
		case "bearer_clients":
			err = some(&o.BearerClients)
		case "bearer_require_at_jwt":
			err = none(&o.BearerRequireATJWT)
		case "algorithms":
			err = some(&o.Algorithms)
		case "claim":
			err = o.Claims.set(d, args)
		case "claim_attr":
			if len(args) != 2 {
				return d.Errf("claim_attr needs an attribute name and a claim, e.g. `claim_attr contract contract_tier`")
			}
			if o.Claims.Attrs == nil {
				o.Claims.Attrs = map[string]string{}
			}
			o.Claims.Attrs[args[0]] = args[1]
		case "group_level":
			if len(args) != 2 {
				return d.Errf("group_level needs a group and a level, e.g. `group_level partners-gold gold`")
			}
			if o.GroupLevels == nil {
				o.GroupLevels = map[string]string{}
			}
			o.GroupLevels[args[0]] = args[1]
		case "default_level":
			err = one(&o.DefaultLevel)
		case "trust_unverified_email":
			err = none(&o.TrustUnverifiedEmail)
		case "demo":
			o.Demo = true
		default:
			return d.Errf("unknown oidc setting %q", key)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

func (c *Claims) set(d *caddyfile.Dispenser, args []string) error {
	if len(args) != 2 {
		return d.Errf("claim needs a profile part and a claim name, e.g. `claim level member_level`")
	}
	into := map[string]*string{"email": &c.Email, "name": &c.Name, "level": &c.Level, "org": &c.Org,
		"groups": &c.Groups, "lang": &c.Lang, "time_zone": &c.TimeZone}[args[0]]
	if into == nil {
		return d.Errf("claim %q: want email, name, level, org, groups, lang or time_zone", args[0])
	}
	*into = args[1]
	return nil
}

// unmarshal reads:
//
//	members <app alias> {
//	    lookup_by email|sub
//	    add_pending
//	    cache_ttl <duration>
//	    member_recheck <duration>
//	    field <email|sub|name|org|level|state|groups|lang|notify_off|digest> <field code>
//	    signup { … }                 # see unmarshalSignUp
//	    invite { … }                 # see unmarshalInvite
//	    poll_interval <duration>
//	}
func (m *Members) unmarshal(d *caddyfile.Dispenser) error {
	if !d.Args(&m.App) {
		return d.Errf("members needs the alias of the members app, e.g. `members members`")
	}
	for nesting := d.Nesting(); d.NextBlock(nesting); {
		key := d.Val()
		args := d.RemainingArgs()
		switch key {
		case "signup":
			if len(args) != 0 {
				return d.Errf("signup takes a block, not arguments")
			}
			m.SignUp = &membersconfig.SignUp{}
			if err := unmarshalSignUp(d, m.SignUp); err != nil {
				return err
			}
		case "invite":
			if len(args) != 0 {
				return d.Errf("invite takes a block, not arguments")
			}
			m.Invite = &membersconfig.Invite{}
			if err := unmarshalInvite(d, m); err != nil {
				return err
			}
		case "poll_interval":
			if err := durationArg(d, key, args, &m.PollInterval); err != nil {
				return err
			}
		case "lookup_by":
			if len(args) != 1 || (args[0] != "email" && args[0] != "sub") {
				return d.Errf("lookup_by: want email or sub")
			}
			m.LookupBy = args[0]
		case "add_pending":
			m.AddPending = true
		case "cache_ttl":
			if err := durationArg(d, key, args, &m.CacheTTL); err != nil {
				return err
			}
		case "member_recheck":
			if err := durationArg(d, key, args, &m.Recheck); err != nil {
				return err
			}
		case "field":
			if len(args) != 2 {
				return d.Errf("field needs a profile part and a field code, e.g. `field email mail_address`")
			}
			f := &m.Fields
			into := map[string]*string{"email": &f.Email, "sub": &f.Subject, "name": &f.Name, "org": &f.Org,
				"level": &f.Level, "state": &f.State, "groups": &f.Groups, "lang": &f.Lang,
				"notify_off": &f.NotifyOff, "digest": &f.Digest}[args[0]]
			if into == nil {
				return d.Errf("field %q: want email, sub, name, org, level, state, groups, lang, notify_off or digest", args[0])
			}
			*into = args[1]
		default:
			return d.Errf("unknown members setting %q (want lookup_by, add_pending, cache_ttl, member_recheck, field, signup, invite or poll_interval)", key)
		}
	}
	return nil
}

// unmarshalSignUp reads:
//
//	signup {
//	    open                                     # anyone the provider vouches for; or:
//	    orgs <app alias> [<code field> [<domains field>]]
//	    question <field> <ja label> <en label> [required] [multiline] [max <n>]
//	    notified_field <field code>
//	}
func unmarshalSignUp(d *caddyfile.Dispenser, s *membersconfig.SignUp) error {
	for nesting := d.Nesting(); d.NextBlock(nesting); {
		key := d.Val()
		args := d.RemainingArgs()
		switch key {
		case "open":
			s.Open = true
		case "orgs":
			if len(args) < 1 || len(args) > 3 {
				return d.Errf("orgs needs the organizations app's alias, then optionally its code and domains fields")
			}
			args = append(args, "", "")
			s.Orgs = &membersconfig.Orgs{App: args[0], Code: args[1], Domains: args[2]}
		case "question":
			q, err := question(d, args)
			if err != nil {
				return err
			}
			s.Form = append(s.Form, q)
		case "notified_field":
			if len(args) != 1 {
				return d.Errf("%s takes one field code", key)
			}
			s.Notified = args[0]
		default:
			return d.Errf("unknown signup setting %q (want open, orgs, question or notified_field)", key)
		}
	}
	if s.Orgs == nil && !s.Open {
		return d.Errf("signup needs `orgs <app>` (sign-up by e-mail domain) or `open` (anyone): it is never open by default")
	}
	return nil
}

func question(d *caddyfile.Dispenser, args []string) (membersconfig.FormField, error) {
	if len(args) < 3 {
		return membersconfig.FormField{}, d.Errf("question needs a field code and labels in Japanese and English, e.g. `question reason 理由 Reason multiline`")
	}
	q := membersconfig.FormField{Field: args[0], LabelJa: args[1], LabelEn: args[2]}
	for i := 3; i < len(args); i++ {
		switch args[i] {
		case "required":
			q.Required = true
		case "multiline":
			q.Multiline = true
		case "max":
			if i+1 == len(args) {
				return q, d.Errf("question %s: max needs a number of characters", q.Field)
			}
			n, err := strconv.Atoi(args[i+1])
			if err != nil || n < 1 || n > 10000 {
				return q, d.Errf("question %s: max %q: want 1 to 10000 characters", q.Field, args[i+1])
			}
			q.MaxLength = n
			i++
		default:
			return q, d.Errf("question %s: unknown option %q (want required, multiline or max <n>)", q.Field, args[i])
		}
	}
	return q, nil
}

// unmarshalInvite reads:
//
//	invite {
//	    key <secret> [<previous>...]   # the first signs, all are accepted
//	    ttl <duration>
//	    field <field code>
//	    nonce_field <field code>
//	}
func unmarshalInvite(d *caddyfile.Dispenser, m *Members) error {
	inv := m.Invite
	for nesting := d.Nesting(); d.NextBlock(nesting); {
		key := d.Val()
		args := d.RemainingArgs()
		switch key {
		case "key":
			if len(args) == 0 {
				return d.Errf("key needs a secret of at least 32 characters, e.g. {env.KGATE_INVITE_KEY}")
			}
			inv.Keys = args
		case "ttl":
			if err := durationArg(d, key, args, &m.InviteTTL); err != nil {
				return err
			}
		case "field", "nonce_field":
			if len(args) != 1 {
				return d.Errf("%s takes one field code", key)
			}
			if key == "field" {
				inv.Field = args[0]
			} else {
				inv.Nonce = args[0]
			}
		default:
			return d.Errf("unknown invite setting %q (want key, ttl, field or nonce_field)", key)
		}
	}
	if len(inv.Keys) == 0 {
		return d.Errf("invite needs `key <secret>`: the links are signed with it")
	}
	return nil
}

// unmarshalPortal reads:
//
//	portal {
//	    title <ja> [<en>]
//	    logo <file>
//	    favicon <file>
//	    primary_color <#rrggbb>
//	    accent_color <#rrggbb>
//	    footer <ja> [<en>]
//	    footer_link <url> <ja> [<en>]
//	    custom_css <file>
//	    templates <dir>
//	    messages <dir>
//	    time_zone <IANA zone>
//	    default_lang ja|en
//	    page_sizes <n>...
//	    form_key <secret> [<previous>...]  # shared by instances behind one load balancer; first makes, all accepted
//	    max_form_size <size>
//	    org <code> <ja> [<en>]
//	    level <code> <ja> [<en>]
//	    app <alias> {
//	        name <ja> [<en>]
//	        description <ja> [<en>]
//	        columns <field>...
//	        title_field <field>
//	        search <field>...
//	        filters <field>...
//	        status_options <state>...
//	        calendar <field> [<end field>]
//	        no_calendar
//	        chart <group field> [sum <number field>] <ja title> [<en title>]
//	        gallery <file field> {
//	            title_field <field>
//	            fields <field>...
//	        }
//	        label <field> <ja> [<en>]
//	        image <file or /path> [<alt ja> [<alt en>]]
//	        status_color <state> <"#rrggbb">
//	        org_field <field>
//	    }
//	}
func unmarshalPortal(d *caddyfile.Dispenser) (*portalconfig.Config, error) {
	c := &portalconfig.Config{}
	if d.NextArg() {
		return nil, d.ArgErr()
	}
	for nesting := d.Nesting(); d.NextBlock(nesting); {
		key := d.Val()
		if key == "app" {
			if err := unmarshalPortalApp(d, c); err != nil {
				return nil, err
			}
			continue
		}
		args := d.RemainingArgs()
		b := &c.Brand
		var err error
		switch key {
		case "title":
			b.Title, err = text(d, key, args)
		case "footer":
			b.FooterText, err = text(d, key, args)
		case "footer_link":
			if len(args) < 2 {
				return nil, d.Errf("footer_link needs a URL and a label, e.g. `footer_link https://example.com/terms 利用規約 Terms`")
			}
			var label portalconfig.Text
			label, err = text(d, key, args[1:])
			b.FooterLinks = append(b.FooterLinks, portalconfig.Link{URL: args[0], Label: label})
		case "max_form_size":
			if len(args) != 1 {
				return nil, d.Errf("max_form_size takes one size, e.g. 32MiB")
			}
			size, convErr := humanize.ParseBytes(args[0])
			if convErr != nil || size == 0 {
				return nil, d.Errf("max_form_size %q: want a size such as 32MiB", args[0])
			}
			c.MaxFormSize = int64(size)
		case "form_key":
			if len(args) == 0 {
				return nil, d.Errf("form_key needs a secret, e.g. `form_key {env.KGATE_FORM_KEY}` (make one with `openssl rand -base64 32`)")
			}
			c.FormKey, c.PreviousFormKeys = args[0], args[1:]
		case "logo", "favicon", "primary_color", "accent_color", "custom_css", "templates", "messages", "time_zone", "default_lang":
			if len(args) == 0 && (key == "primary_color" || key == "accent_color") {
				return nil, d.Errf(`%s needs a quoted colour, e.g. %s "#0b5fff" (an unquoted # starts a comment)`, key, key)
			}
			if len(args) != 1 {
				return nil, d.Errf("%s takes one value", key)
			}
			*map[string]*string{"logo": &b.Logo, "favicon": &b.Favicon, "primary_color": &b.PrimaryColor,
				"accent_color": &b.AccentColor, "custom_css": &b.CustomCSS, "templates": &b.TemplateDir,
				"messages": &c.MessagesDir, "time_zone": &c.TimeZone, "default_lang": &c.DefaultLang}[key] = args[0]
		case "page_sizes":
			for _, a := range args {
				n, convErr := strconv.Atoi(a)
				if convErr != nil || n < 1 || n > 500 {
					return nil, d.Errf("page_sizes %q: want whole numbers from 1 to 500", a)
				}
				c.PageSizes = append(c.PageSizes, n)
			}
		case "org", "level":
			if len(args) < 2 {
				return nil, d.Errf("%s needs a code and its name, e.g. `%s acme アクメ商事 \"Acme Trading\"`", key, key)
			}
			var name portalconfig.Text
			if name, err = text(d, key, args[1:]); err == nil {
				m := &c.Organizations
				if key == "level" {
					m = &c.Levels
				}
				if *m == nil {
					*m = map[string]portalconfig.Text{}
				}
				(*m)[args[0]] = name
			}
		default:
			return nil, d.Errf("unknown portal setting %q", key)
		}
		if err != nil {
			return nil, err
		}
	}
	return c, nil
}

func unmarshalPortalApp(d *caddyfile.Dispenser, c *portalconfig.Config) error {
	var alias string
	if !d.Args(&alias) {
		return d.Errf("app needs the app's alias")
	}
	s := c.Apps[alias]
	for nesting := d.Nesting(); d.NextBlock(nesting); {
		key := d.Val()
		switch key {
		case "columns", "title_field", "search", "filters", "calendar", "gallery":
			// Provision checks these codes against the form and names
			// the line when one is not there.
			if s.Positions == nil {
				s.Positions = map[string]string{}
			}
			s.Positions[key] = fmt.Sprintf("%s:%d", d.File(), d.Line())
		}
		if key == "chart" {
			if s.Positions == nil {
				s.Positions = map[string]string{}
			}
			s.Positions[fmt.Sprintf("charts.%d", len(s.Charts))] = fmt.Sprintf("%s:%d", d.File(), d.Line())
		}
		args := d.RemainingArgs()
		var err error
		switch key {
		case "name":
			s.Name, err = text(d, key, args)
		case "chart":
			var ch portalconfig.Chart
			if ch, err = chartArgs(d, args); err == nil {
				s.Charts = append(s.Charts, ch)
			}
		case "description":
			s.Description, err = text(d, key, args)
		case "columns":
			s.Columns = append(s.Columns, args...)
		case "title_field":
			if len(args) != 1 {
				return d.ArgErr()
			}
			s.TitleField = args[0]
		case "search":
			s.SearchFields = append(s.SearchFields, args...)
		case "filters":
			s.Filters = append(s.Filters, args...)
		case "status_options":
			s.StatusOptions = append(s.StatusOptions, args...)
		case "calendar":
			if len(args) < 1 || len(args) > 2 {
				return d.Errf("calendar needs a DATE or DATETIME field and optionally an end field")
			}
			s.CalendarField = args[0]
			if len(args) == 2 {
				s.CalendarEndField = args[1]
			}
		case "no_calendar":
			s.NoCalendar = true
		case "org_field":
			if len(args) != 1 {
				return d.Errf("org_field takes the code of the field that holds organization codes")
			}
			s.OrgField = args[0]
		case "status_color":
			if len(args) != 2 {
				return d.Errf(`status_color needs a state and a quoted colour, e.g. status_color Approved "#1e7b34"`)
			}
			if s.StatusColors == nil {
				s.StatusColors = map[string]string{}
			}
			s.StatusColors[args[0]] = args[1]
		case "image":
			if len(args) < 1 || len(args) > 3 {
				return d.Errf("image needs a file or a path on this site, optionally followed by its alt text in Japanese and English")
			}
			s.Image = args[0]
			if len(args) > 1 {
				s.ImageAlt, err = text(d, key, args[1:])
			}
		case "gallery":
			s.Gallery, err = unmarshalGallery(d, args)
		case "label":
			if len(args) < 2 {
				return d.Errf("label needs a field code and its label")
			}
			var t portalconfig.Text
			if t, err = text(d, key, args[1:]); err == nil {
				if s.Labels == nil {
					s.Labels = map[string]portalconfig.Text{}
				}
				s.Labels[args[0]] = t
			}
		default:
			return d.Errf("unknown portal app setting %q", key)
		}
		if err != nil {
			return err
		}
	}
	if c.Apps == nil {
		c.Apps = map[string]portalconfig.AppSettings{}
	}
	c.Apps[alias] = s
	return nil
}

// chartArgs reads "<group field> [sum <number field>] <ja> [<en>]".
func chartArgs(d *caddyfile.Dispenser, args []string) (portalconfig.Chart, error) {
	if len(args) < 2 {
		return portalconfig.Chart{}, d.Errf("chart needs the field to group by and a title, e.g. `chart category sum amount 区分別の金額 \"Amount by category\"`")
	}
	ch := portalconfig.Chart{GroupBy: args[0]}
	rest := args[1:]
	if rest[0] == "sum" {
		if len(rest) < 3 {
			return ch, d.Errf("chart: sum needs a NUMBER or CALC field and then the title")
		}
		ch.Sum, rest = rest[1], rest[2:]
	}
	var err error
	ch.Title, err = text(d, "chart title", rest)
	return ch, err
}

// unmarshalGallery reads "gallery <file field>" and its optional block.
func unmarshalGallery(d *caddyfile.Dispenser, args []string) (*portalconfig.Gallery, error) {
	if len(args) != 1 {
		return nil, d.Errf("gallery needs the FILE field whose images the cards show")
	}
	g := &portalconfig.Gallery{ImageField: args[0]}
	for nesting := d.Nesting(); d.NextBlock(nesting); {
		key, vals := d.Val(), d.RemainingArgs()
		switch {
		case key == "title_field" && len(vals) == 1:
			g.TitleField = vals[0]
		case key == "fields" && len(vals) > 0:
			g.Fields = append(g.Fields, vals...)
		default:
			return nil, d.Errf("gallery: want `title_field <field>` or `fields <field>...`, not %q", key)
		}
	}
	return g, nil
}

// text reads "<ja> [<en>]": the Japanese text and, optionally, the English.
func text(d *caddyfile.Dispenser, key string, args []string) (portalconfig.Text, error) {
	switch len(args) {
	case 1:
		return portalconfig.Text{Ja: args[0], En: args[0]}, nil
	case 2:
		return portalconfig.Text{Ja: args[0], En: args[1]}, nil
	}
	return portalconfig.Text{}, d.Errf("%s takes the Japanese text and optionally the English, each quoted", key)
}

func durationArg(d *caddyfile.Dispenser, key string, args []string, into *caddy.Duration) error {
	if len(args) != 1 {
		return d.Errf("%s takes one duration", key)
	}
	v, err := caddy.ParseDuration(args[0])
	if err != nil || v < 0 {
		return d.Errf("%s %q: want a duration such as 12h", key, args[0])
	}
	*into = caddy.Duration(v)
	return nil
}
