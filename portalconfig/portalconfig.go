// Package portalconfig is the JSON configuration of kgate's partner portal
// (the "portal" object of the http.handlers.kgate module): what a Caddy
// configuration holds, apart from what kgate wires in at provisioning. It
// imports nothing of kgate's, so that configurations can be built, read
// and checked by code outside kgate's module.
package portalconfig

// Config is the portal's configuration. Everything has a default that
// gives a working, accessible, bilingual site.
type Config struct {
	// Apps holds per-app settings by alias. An app without settings is
	// shown with defaults derived from its form.
	Apps map[string]AppSettings `json:"apps,omitempty"`
	// Brand is the site's name, logo, colours, footer and overrides.
	Brand Brand `json:"brand,omitempty"`
	// Organizations gives display names for the member's organization
	// codes; a code without one is shown as is.
	Organizations map[string]Text `json:"organizations,omitempty"`
	// Levels gives display names for the member's level codes; a code
	// without one is shown as is.
	Levels map[string]Text `json:"levels,omitempty"`

	// LogoutURL is where the logout form posts (default "/kgate/logout").
	LogoutURL string `json:"logout_url,omitempty"`
	// FormActions are origins besides 'self' that forms may end up at: the
	// logout POST is redirected to the OpenID Provider's end-session
	// endpoint, and browsers apply the CSP form-action directive to that
	// redirect too. Give the provider's origin here ("https://idp.example").
	FormActions []string `json:"form_actions,omitempty"`

	// TimeZone is the IANA zone dates are shown in for members whose
	// identity names none (default "Asia/Tokyo").
	TimeZone string `json:"time_zone,omitempty"`
	// DefaultLang is the language when neither the member, the language
	// switch nor Accept-Language decides: "ja" (default) or "en".
	DefaultLang string `json:"default_lang,omitempty"`
	// PageSizes are the list page sizes offered (default 20, 50, 100); sizes
	// above the member's policy limit are not offered.
	PageSizes []int `json:"page_sizes,omitempty"`
	// FormKey is the secret the form tokens of pages are made with (at
	// least 32 characters). Instances that serve one site must share it;
	// when empty a random key is made, and forms rendered before a restart
	// ask the member to reload.
	FormKey string `json:"form_key,omitempty"`
	// PreviousFormKeys are accepted besides FormKey but make no tokens:
	// keep the old secret here for a while after a rotation, so that the
	// forms members have open still submit.
	PreviousFormKeys []string `json:"previous_form_keys,omitempty"`
	// MaxFormSize caps a submitted form with its files, in bytes (default
	// 32 MiB). The gateway caps each uploaded file as well.
	MaxFormSize int64 `json:"max_form_size,omitempty"`

	// MessagesDir may hold ja.json and en.json: message catalogue entries
	// that replace or add to the built-in ones. Policy denial reasons are
	// looked up as "reason:<text>", so they can be translated there.
	MessagesDir string `json:"messages_dir,omitempty"`
}

// Text is a string in each of the portal's languages. A missing language
// falls back to the other one.
type Text struct {
	// Ja is the Japanese text.
	Ja string `json:"ja,omitempty"`
	// En is the English text.
	En string `json:"en,omitempty"`
}

// In returns the text for lang.
func (t Text) In(lang string) string {
	if lang == "ja" && t.Ja != "" || t.En == "" {
		return t.Ja
	}
	return t.En
}

// Empty reports whether the text has neither language.
func (t Text) Empty() bool { return t.Ja == "" && t.En == "" }

// AppSettings shape how one app is shown. Field codes the member may not
// read are left out silently: settings never widen what a member sees.
type AppSettings struct {
	// Name replaces kintone's app name.
	Name Text `json:"name,omitempty"`
	// Description replaces kintone's app description.
	Description Text `json:"description,omitempty"`
	// Columns of the list, in order (default: the readable fields of the
	// form in layout order, without long or structured ones).
	Columns []string `json:"columns,omitempty"`
	// TitleField names a record in headings and the calendar (default: the
	// first readable single-line text field).
	TitleField string `json:"title_field,omitempty"`
	// SearchFields are searched by the keyword box (default: every readable
	// text field outside tables).
	SearchFields []string `json:"search_fields,omitempty"`
	// Filters are the drop-down, radio, status, date and date-time fields
	// offered as filters (default: every readable one outside tables).
	Filters []string `json:"filters,omitempty"`
	// StatusOptions are the process-management states offered by a filter
	// on the status field (the form does not list them).
	StatusOptions []string `json:"status_options,omitempty"`
	// CalendarField is the DATE or DATETIME field the calendar places
	// records by (default: the first readable one).
	CalendarField string `json:"calendar_field,omitempty"`
	// CalendarEndField, when set, makes a record span the days from
	// CalendarField up to its value.
	CalendarEndField string `json:"calendar_end_field,omitempty"`
	// NoCalendar hides the calendar even when the app has a date field.
	NoCalendar bool `json:"no_calendar,omitempty"`
	// Charts are drawn on the app's chart page, in order, over the records
	// the member may see with the list's filters. A chart whose fields the
	// member may not read (or sees masked) is left out for that member.
	Charts []Chart `json:"charts,omitempty"`
	// Image is the app's picture on the home page: a path on this site
	// ("/media/budget.png") or an image file (SVG, PNG, JPEG or WebP)
	// served like the logo. A path starting with "/" that names an
	// existing file is the file. Default: the portal's app icon.
	Image string `json:"image,omitempty"`
	// ImageAlt is the image's text alternative (default: none, the image
	// only decorates the card, whose heading is the app's name).
	ImageAlt Text `json:"image_alt,omitempty"`
	// OrgField is the field whose values are organization codes: lists,
	// records and filters show them by their Organizations names, and its
	// filter offers only the organizations of records the member may see.
	OrgField string `json:"org_field,omitempty"`
	// StatusColors give process-management states their badge colour, by
	// state name, as #rrggbb; the badge's text is black or white, whichever
	// contrasts more. Other states keep the default badge.
	StatusColors map[string]string `json:"status_colors,omitempty"`
	// Gallery, when set, adds a gallery view: a card per record with a
	// thumbnail of a file field.
	Gallery *Gallery `json:"gallery,omitempty"`
	// Labels replace field labels, for forms whose labels kintone does not
	// hold in both languages.
	Labels map[string]Text `json:"labels,omitempty"`
	// Positions are where the settings naming fields were written, by
	// setting (columns, title_field, search, filters, calendar, gallery,
	// and charts.<n> for the n-th chart, from 0), as "file:line". The
	// Caddyfile adapter fills them, so that a field code
	// the form lacks is reported at the line that names it.
	Positions map[string]string `json:"positions,omitempty"`
}

// Chart is a bar chart of an app's records: one bar per value of GroupBy,
// the records counted, or Sum added up.
type Chart struct {
	// Title is the chart's heading.
	Title Text `json:"title"`
	// GroupBy is a DROP_DOWN, RADIO_BUTTON, STATUS, DATE or DATETIME field;
	// dates are grouped by month in the zone the page shows dates in.
	GroupBy string `json:"group_by"`
	// Sum is a NUMBER or CALC field added up per group; omitted, the
	// records are counted.
	Sum string `json:"sum,omitempty"`
}

// Gallery is an app's card view. Fields the member may not read are left
// out, and masked ones show their mask, as in the list.
type Gallery struct {
	// ImageField is the FILE field whose first file is the card's picture:
	// a thumbnail for JPEG, PNG, GIF and WebP images, an icon for other
	// files.
	ImageField string `json:"image_field"`
	// TitleField is the card's title (default: the app's title field).
	TitleField string `json:"title_field,omitempty"`
	// Fields are shown on the card under the title, in order.
	Fields []string `json:"fields,omitempty"`
}

// Brand is the company's identity on the site.
type Brand struct {
	// Title is the site's title (default "kgate").
	Title Text `json:"title,omitempty"`
	// Logo is an image file (SVG, PNG, JPEG, WebP or ICO) served under
	// the asset prefix with a content hash in its name.
	Logo string `json:"logo,omitempty"`
	// Favicon is an image file (SVG, PNG, JPEG, WebP or ICO), served
	// like Logo.
	Favicon string `json:"favicon,omitempty"`
	// PrimaryColor (header, buttons, links) as #rrggbb. A colour that
	// does not keep WCAG AA contrast is used anyway, with a warning in the
	// log.
	PrimaryColor string `json:"primary_color,omitempty"`
	// AccentColor (focus ring, highlights) as #rrggbb, checked like
	// PrimaryColor.
	AccentColor string `json:"accent_color,omitempty"`
	// FooterText is shown at the foot of every page.
	FooterText Text `json:"footer_text,omitempty"`
	// FooterLinks are shown after FooterText.
	FooterLinks []Link `json:"footer_links,omitempty"`
	// CustomCSS is a stylesheet file loaded after the portal's own.
	CustomCSS string `json:"custom_css,omitempty"`
	// TemplateDir may hold files named like the embedded templates
	// (layout.html, home.html, list.html, record.html, calendar.html,
	// charts.html, error.html, value.html, form.html, fields.html,
	// confirm.html, gallery.html, preview.html, listparts.html); each one
	// found replaces the embedded one.
	TemplateDir string `json:"template_dir,omitempty"`
}

// Link is a footer link.
type Link struct {
	// Label is the link's text.
	Label Text `json:"label"`
	// URL is an http(s) or mailto URL, or a path on this site.
	URL string `json:"url"`
}
