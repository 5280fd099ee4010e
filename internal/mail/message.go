// Package mail carries kgate's e-mail to members: sign-up answers,
// invitations and notifications. Senders hand a Message to an Outbox and
// go on; the outbox keeps it until an SMTP server has taken it, so a
// member's request never waits on mail and a restart loses nothing.
package mail

import "context"

// Message is one e-mail to one member. kgate writes a message per
// recipient, in the recipient's language, so that no message carries
// what another recipient may read.
type Message struct {
	// To is the recipient's address.
	To string `json:"to"`
	// Lang is the language the text was written in ("ja" or "en").
	Lang string `json:"lang"`
	// Subject and Text are the message; Text is plain UTF-8.
	Subject string `json:"subject"`
	Text    string `json:"text"`
	// Kind names why kgate wrote it ("signup", "invite",
	// "notification"), for the audit log.
	Kind string `json:"kind"`
}

// Outbox takes messages for delivery. Enqueue returns once the message
// is kept where a restart will find it; delivery happens later.
type Outbox interface {
	Enqueue(ctx context.Context, m Message) error
}
