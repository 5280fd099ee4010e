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
	// State is active, inactive or pending [state]: a DROP_DOWN field.
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
