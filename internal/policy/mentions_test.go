package policy

import (
	"context"
	"reflect"
	"testing"
)

func TestMentionsIsASetOfEntityCodesOrAny(t *testing.T) {
	e := openPolicy(t, `package kgate
allow := true
mentions contains "boss" if input.user.level == "silver"
mentions contains "sales" if input.user.level == "silver"
mentions contains "*" if input.user.level == "gold"
`)
	for _, c := range []struct {
		level string
		want  FieldSet
	}{
		{"silver", FieldSet{Codes: []string{"boss", "sales"}}},
		{"gold", FieldSet{All: true}},
		{"", FieldSet{}},
	} {
		d, err := e.Decide(context.Background(), Input{User: User{Level: c.level}, Action: "comment.write"})
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(d.Mentions, c.want) && !(len(d.Mentions.Codes) == 0 && len(c.want.Codes) == 0 && d.Mentions.All == c.want.All) {
			t.Errorf("level %q: mentions = %+v, want %+v", c.level, d.Mentions, c.want)
		}
	}
}
