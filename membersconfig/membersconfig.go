// Package membersconfig names the fields of kgate's members app in kintone
// (the "fields" object of the http.handlers.kgate module's "members"
// configuration). It imports nothing of kgate's, so that configurations
// can be built and read by code outside kgate's module.
package membersconfig

// Fields are the field codes of the members app. Empty codes take the
// defaults in brackets.
type Fields struct {
	// Email is the member's e-mail address [email]: a SINGLE_LINE_TEXT
	// field, unique.
	Email string `json:"email,omitempty"`
	// Subject is the provider's "sub" the member is bound to [sub]: a
	// SINGLE_LINE_TEXT field.
	Subject string `json:"sub,omitempty"`
	// Name is the member's display name [name].
	Name string `json:"name,omitempty"`
	// Org is the member's organization code [org]: a DROP_DOWN or
	// SINGLE_LINE_TEXT field.
	Org string `json:"org,omitempty"`
	// Level is the member's level code [level]: a DROP_DOWN or
	// SINGLE_LINE_TEXT field.
	Level string `json:"level,omitempty"`
	// State is active, inactive, pending or refused [state]: a DROP_DOWN
	// field. Pending members await the staff's decision; refused ones
	// were turned down at sign-up.
	State string `json:"state,omitempty"`
	// Groups, optional, holds the member's groups: a CHECK_BOX or
	// MULTI_SELECT field.
	Groups string `json:"groups,omitempty"`
	// Lang, optional, is the language kgate writes the member's e-mail
	// in: a DROP_DOWN or SINGLE_LINE_TEXT field holding "ja" or "en";
	// empty or another value takes the portal's default language.
	Lang string `json:"lang,omitempty"`
	// NotifyOff, optional, is the member's opt-out of notifications: a
	// CHECK_BOX field (any option checked) or a DROP_DOWN, RADIO_BUTTON
	// or SINGLE_LINE_TEXT field ("yes", "on", "true" or "1"). An opted-out
	// member gets no notification e-mail.
	NotifyOff string `json:"notify_off,omitempty"`
	// Digest, optional, asks for one e-mail per digest period with every
	// change instead of one e-mail per change: a field of the kinds
	// NotifyOff takes, read the same way.
	Digest string `json:"digest,omitempty"`
}

// SignUp turns on sign-up with approval (the "signup" object of the
// members configuration): a person the members app does not know gets a
// sign-up page instead of a refusal, and their answer becomes a pending
// record for the operator's staff to approve or refuse in kintone.
type SignUp struct {
	// Open lets anyone whose address the provider vouches for sign up.
	// Without Orgs, sign-up must be opened so explicitly: a
	// configuration with neither is refused.
	Open bool `json:"open,omitempty"`
	// Orgs restricts sign-up to the e-mail domains an organization lists
	// in an organizations app; the pending record gets that
	// organization.
	Orgs *Orgs `json:"orgs,omitempty"`
	// Form is what the sign-up page asks, in order. Default: name
	// (the members app's name field), organization (org_name) and
	// reason.
	Form []FormField `json:"form,omitempty"`
	// Notified is the SINGLE_LINE_TEXT field [notified] where kgate
	// notes that a sign-up awaits its answer ("signup") and, once the
	// person has been e-mailed the staff's decision, which one it was.
	Notified string `json:"notified,omitempty"`
	// (The language the person signs up in is written to the members
	// app's lang field, when Fields names one.)
}

// Orgs names the kintone app of organizations that sign-up checks
// e-mail domains against.
type Orgs struct {
	// App is the alias of a configured app holding one record per
	// organization.
	App string `json:"app"`
	// Code is the field [code] holding the organization's code, as the
	// members app's org field spells it.
	Code string `json:"code,omitempty"`
	// Domains is the field [domains] listing the organization's e-mail
	// domains, separated by spaces, commas or lines.
	Domains string `json:"domains,omitempty"`
}

// FormField is one question of the sign-up page, answered into a text
// field of the members app.
type FormField struct {
	// Field is the members app's field code the answer is written to: a
	// SINGLE_LINE_TEXT or, with Multiline, a MULTI_LINE_TEXT field.
	Field string `json:"field"`
	// LabelJa is the question's label in Japanese.
	LabelJa string `json:"label_ja"`
	// LabelEn is the question's label in English.
	LabelEn string `json:"label_en"`
	// Required refuses an empty answer.
	Required bool `json:"required,omitempty"`
	// Multiline asks in a text area rather than a one-line box.
	Multiline bool `json:"multiline,omitempty"`
	// MaxLength bounds the answer in characters (default 100, or 1000
	// with Multiline; at most 10000).
	MaxLength int `json:"max_length,omitempty"`
}

// Invite configures invitations: staff set a member's invite field to
// "send", kgate e-mails a signed, single-use, expiring link, and the first
// login through it binds the login's account to that member.
type Invite struct {
	// Keys sign the links (HMAC-SHA-256), at least 32 characters each:
	// the first signs, every one is accepted, so a key can be rotated.
	// Instances behind one load balancer share them.
	Keys []string `json:"keys"`
	// Field is the invite field [invite]: a DROP_DOWN or
	// SINGLE_LINE_TEXT staff set to "send"; kgate sets it to "sent"
	// once the link is mailed and to "accepted" once it is used.
	Field string `json:"field,omitempty"`
	// Nonce is the SINGLE_LINE_TEXT field [invite_nonce] holding the
	// current link's one-time value; using the link clears it.
	Nonce string `json:"nonce,omitempty"`
}
