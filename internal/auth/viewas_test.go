package auth

import (
	"context"
	"errors"
	"testing"
)

// Staff viewing the portal as a member get the identity the members
// directory gives that member, refused as the member's own login would
// be when the directory does not have them as active.
func TestMemberByEmailIsTheDirectorysMember(t *testing.T) {
	a, err := New(Config{Issuer: "https://op.example", ClientID: "kgate", ClientSecret: "secret", BaseURL: "https://kgate.example",
		SessionKeys: [][]byte{[]byte("0123456789abcdef0123456789abcdef")}, Directory: demoDirectory(), LookupBy: ByEmail})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		email, level, org, refused string
	}{
		{email: "bob@acme.example", level: "silver", org: "acme"},
		{email: " carol@bluebird.example ", level: "gold", org: "bluebird"},
		{email: "erin@cosmo.example", refused: ReasonInactiveMember},
		{email: "nobody@acme.example", refused: ReasonUnknownMember},
	} {
		t.Run(tc.email, func(t *testing.T) {
			id, err := a.MemberByEmail(context.Background(), tc.email)
			var fe *ForbiddenError
			switch {
			case tc.refused != "":
				if !errors.As(err, &fe) || fe.Reason != tc.refused {
					t.Errorf("got %+v, %v; want refused: %s", id, err, tc.refused)
				}
			case err != nil:
				t.Fatal(err)
			case id.Level != tc.level || id.Org != tc.org || id.Via != "session" || id.ViewedBy != "":
				t.Errorf("identity %+v", id)
			}
		})
	}
}
