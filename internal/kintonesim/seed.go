package kintonesim

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
)

// Seed is the simulator's world: users, apps with their forms and settings,
// API tokens, files and records. It is read from a JSON file (SEED.md
// documents the format) and written back in the same format by Snapshot, so
// a persisted simulator is just a seed.
type Seed struct {
	TimeZone      string       `json:"timezone,omitempty"` // default zone (API tokens, date functions); Asia/Tokyo
	Language      string       `json:"language,omitempty"` // ja or en when Accept-Language does not decide; ja
	BasicAuth     *BasicAuth   `json:"basicAuth,omitempty"`
	Users         []SeedUser   `json:"users,omitempty"`
	Organizations []SeedEntity `json:"organizations,omitempty"`
	Groups        []SeedEntity `json:"groups,omitempty"`
	Apps          []SeedApp    `json:"apps"`
	Files         []SeedFile   `json:"files,omitempty"`

	name string // the file it came from, for error messages
}

// BasicAuth is the cybozu.com Basic authentication in front of kintone:
// when set, every API request needs "Authorization: Basic" with these.
type BasicAuth struct {
	User     string `json:"user"`
	Password string `json:"password"`
}

// SeedUser is a kintone user who can log in with X-Cybozu-Authorization.
type SeedUser struct {
	Code         string   `json:"code"` // login name
	Password     string   `json:"password"`
	Name         string   `json:"name"`
	Email        string   `json:"email,omitempty"`
	Organization string   `json:"organization,omitempty"` // primary organization code
	Groups       []string `json:"groups,omitempty"`
	TimeZone     string   `json:"timezone,omitempty"` // IANA name; the seed's default when empty
	Language     string   `json:"language,omitempty"` // ja, en, or empty to follow Accept-Language
}

// SeedEntity is an organization or group: its code and display name.
type SeedEntity struct {
	Code string `json:"code"`
	Name string `json:"name"`
}

// SeedApp is one kintone app.
type SeedApp struct {
	ID               int64                        `json:"id"`
	Code             string                       `json:"code,omitempty"`
	Name             string                       `json:"name"`
	Description      string                       `json:"description,omitempty"`
	SpaceID          int64                        `json:"spaceId,omitempty"` // guest space id; 0 = not in a guest space
	ThreadID         int64                        `json:"threadId,omitempty"`
	Creator          string                       `json:"creator,omitempty"` // user code; Administrator when empty
	CreatedAt        string                       `json:"createdAt,omitempty"`
	CommentsDisabled bool                         `json:"commentsDisabled,omitempty"`
	NumberPrecision  *SeedNumberPrecision         `json:"numberPrecision,omitempty"` // absent: kintone's default (16 digits, 4 decimals, HALF_EVEN)
	Fields           []json.RawMessage            `json:"fields"`                    // kintone form-field properties, in form order
	Layout           json.RawMessage              `json:"layout,omitempty"`
	Process          *SeedProcess                 `json:"process,omitempty"`
	Views            []SeedView                   `json:"views,omitempty"` // absent or empty: kintone's default list view
	Tokens           []SeedToken                  `json:"tokens,omitempty"`
	Rights           map[string][]string          `json:"rights,omitempty"` // user code → view/add/edit/delete/manage; absent = all users, all rights
	Records          []map[string]json.RawMessage `json:"records,omitempty"`
	Comments         []SeedComment                `json:"comments,omitempty"`
	NextID           int64                        `json:"nextId,omitempty"` // next record id (kept by Snapshot so ids are never reused)
}

// SeedNumberPrecision is an app's "number and calculation precision"
// setting, as app/settings.json shows it (the counts as strings); a seed may
// also write the counts as numbers. NUMBER and CALC values are stored
// rounded to it. An empty key keeps kintone's default for it.
type SeedNumberPrecision struct {
	Digits        string `json:"digits,omitempty"`        // significant digits, 1–30; "16" by default
	DecimalPlaces string `json:"decimalPlaces,omitempty"` // 0–10 and fewer than digits; "4" by default
	RoundingMode  string `json:"roundingMode,omitempty"`  // HALF_EVEN (default), UP or DOWN

	unknown []string // keys the seed wrote that the setting does not have
}

// UnmarshalJSON takes the counts as strings or numbers. Whatever else is
// wrong is kept for buildApp to report, which can name the app.
func (p *SeedNumberPrecision) UnmarshalJSON(b []byte) error {
	var m map[string]json.RawMessage
	if err := json.Unmarshal(b, &m); err != nil {
		return fmt.Errorf("numberPrecision must be an object with digits, decimalPlaces and roundingMode")
	}
	*p = SeedNumberPrecision{}
	for k, raw := range m {
		var dst *string
		switch k {
		case "digits":
			dst = &p.Digits
		case "decimalPlaces":
			dst = &p.DecimalPlaces
		case "roundingMode":
			dst = &p.RoundingMode
		default:
			p.unknown = append(p.unknown, k)
			continue
		}
		var str string
		if json.Unmarshal(raw, &str) == nil {
			*dst = str
		} else {
			*dst = string(bytes.TrimSpace(raw)) // a number, or something buildApp refuses
		}
	}
	return nil
}

// SeedProcess is an app's process-management setting.
type SeedProcess struct {
	Enable  bool         `json:"enable"`
	States  []SeedState  `json:"states"` // in order; the first is the initial state
	Actions []SeedAction `json:"actions"`
}

// SeedState is one process-management state with its assignee rule.
type SeedState struct {
	Name     string       `json:"name"`
	Assignee SeedAssignee `json:"assignee"`
}

// SeedAssignee is a state's assignee setting, as app/status.json shows it.
type SeedAssignee struct {
	Type     string           `json:"type"` // ONE, ALL or ANY
	Entities []SeedAssigneeOf `json:"entities"`
}

// SeedAssigneeOf is one candidate entity of a state's assignee setting.
type SeedAssigneeOf struct {
	Entity      SeedEntityRef `json:"entity"`
	IncludeSubs bool          `json:"includeSubs"`
}

// SeedEntityRef names a user, group, organization, a user field
// (FIELD_ENTITY) or the record's creator (CREATOR).
type SeedEntityRef struct {
	Type string `json:"type"`
	Code string `json:"code,omitempty"`
}

// SeedAction is a process-management action.
type SeedAction struct {
	Name       string `json:"name"`
	From       string `json:"from"`
	To         string `json:"to"`
	FilterCond string `json:"filterCond,omitempty"`
	Type       string `json:"type,omitempty"` // PRIMARY (default) or SECONDARY
}

// SeedToken is an API token of an app with its permissions.
type SeedToken struct {
	Token      string `json:"token"`
	View       bool   `json:"view,omitempty"`
	Add        bool   `json:"add,omitempty"`
	Edit       bool   `json:"edit,omitempty"`
	Delete     bool   `json:"delete,omitempty"`
	Manage     bool   `json:"manage,omitempty"`     // app management: may set creator and times on add
	Undeployed bool   `json:"undeployed,omitempty"` // generated but the app not updated: GAIA_IA02
}

// SeedFile is a stored file; records refer to it by FileKey in FILE values.
// Give the content as Text or as Base64.
type SeedFile struct {
	FileKey     string `json:"fileKey"`
	Name        string `json:"name"`
	ContentType string `json:"contentType,omitempty"`
	Text        string `json:"text,omitempty"`
	Base64      []byte `json:"base64,omitempty"`
}

// SeedComment is a comment on a record.
type SeedComment struct {
	Record    int64         `json:"record"`
	ID        int64         `json:"id,omitempty"`
	User      string        `json:"user,omitempty"` // Administrator when empty
	Text      string        `json:"text"`
	Mentions  []SeedMention `json:"mentions,omitempty"`
	CreatedAt string        `json:"createdAt,omitempty"`
}

// SeedMention is one mention of a comment.
type SeedMention struct {
	Code string `json:"code"`
	Type string `json:"type"` // USER, GROUP or ORGANIZATION
}

// LoadSeed reads a seed file. Its content is checked when New builds the
// simulator from it; errors name the file, the app and the field.
func LoadSeed(path string) (*Seed, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	s, err := ParseSeed(b)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	s.name = path
	return s, nil
}

// ParseSeed decodes a seed from JSON, refusing unknown keys so that a typo
// in a seed is an error rather than a silently missing setting.
func ParseSeed(b []byte) (*Seed, error) {
	var s Seed
	d := json.NewDecoder(bytes.NewReader(b))
	d.DisallowUnknownFields()
	if err := d.Decode(&s); err != nil {
		return nil, err
	}
	return &s, nil
}

// WriteFile writes the seed to path atomically: a temporary file in the
// same directory, synced, then renamed over path.
func (s *Seed) WriteFile(path string) error {
	b, err := json.MarshalIndent(s, "", " ")
	if err != nil {
		return err
	}
	f, err := os.CreateTemp(filepath.Dir(path), ".kgate-sim-*.json")
	if err != nil {
		return err
	}
	defer os.Remove(f.Name())
	if _, err := f.Write(b); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(f.Name(), path)
}

func (s *Seed) label() string {
	if s.name == "" {
		return "seed"
	}
	return s.name
}
