// Package kintone holds kintone's wire types (records, form fields, errors)
// and the upstream client kgate calls kintone with.
package kintone

import (
	"encoding/json"
	"strconv"
)

// FieldValue is one field of a record on the wire. Type comes back on reads
// and is ignored on writes; Value stays raw so that kgate copies what it
// does not need to understand.
type FieldValue struct {
	Type  string          `json:"type,omitempty"`
	Value json.RawMessage `json:"value"`
}

// Record is a kintone record: field code → value.
type Record map[string]FieldValue

// Error is kintone's error body together with the HTTP status it came with.
type Error struct {
	Status  int                      `json:"-"`
	Code    string                   `json:"code"`
	ID      string                   `json:"id"`
	Message string                   `json:"message"`
	Errors  map[string]ErrorMessages `json:"errors,omitempty"`
	// RetryAfter, in seconds, is sent as the Retry-After header when
	// positive: when a refused request may come back.
	RetryAfter int `json:"-"`
}

// ErrorMessages is one entry of an error's "errors" object.
type ErrorMessages struct {
	Messages []string `json:"messages"`
}

func (e *Error) Error() string {
	return "kintone: " + strconv.Itoa(e.Status) + " " + e.Code + ": " + e.Message
}

// Option is one choice of a drop-down, radio button, check box or
// multi-select field.
type Option struct {
	Label string `json:"label"`
	Index string `json:"index"`
}

// Entity is a user, group or organization named in a field setting or a
// process-management assignee list.
type Entity struct {
	Code string `json:"code"`
	Type string `json:"type"` // USER, GROUP, ORGANIZATION, FIELD_ENTITY, CREATOR, CUSTOM_FIELD
}

// FieldProperty is one field of an app's form, as app/form/fields.json
// returns it. Numeric settings are strings on the wire, as in kintone.
type FieldProperty struct {
	Type            string                   `json:"type"`
	Code            string                   `json:"code"`
	Label           string                   `json:"label"`
	NoLabel         bool                     `json:"noLabel,omitempty"`
	Required        bool                     `json:"required,omitempty"`
	Unique          bool                     `json:"unique,omitempty"`
	DefaultValue    json.RawMessage          `json:"defaultValue,omitempty"`
	DefaultNowValue bool                     `json:"defaultNowValue,omitempty"`
	MinLength       string                   `json:"minLength,omitempty"`
	MaxLength       string                   `json:"maxLength,omitempty"`
	MinValue        string                   `json:"minValue,omitempty"`
	MaxValue        string                   `json:"maxValue,omitempty"`
	Options         map[string]Option        `json:"options,omitempty"`
	Expression      string                   `json:"expression,omitempty"`
	Format          string                   `json:"format,omitempty"`
	DisplayScale    string                   `json:"displayScale,omitempty"`
	Digit           bool                     `json:"digit,omitempty"`
	Unit            string                   `json:"unit,omitempty"`
	UnitPosition    string                   `json:"unitPosition,omitempty"`
	Protocol        string                   `json:"protocol,omitempty"`
	ThumbnailSize   string                   `json:"thumbnailSize,omitempty"`
	Entities        []Entity                 `json:"entities,omitempty"`
	Enabled         *bool                    `json:"enabled,omitempty"`
	Fields          map[string]FieldProperty `json:"fields,omitempty"` // SUBTABLE only
	Lookup          *Lookup                  `json:"lookup,omitempty"`
	ReferenceTable  *ReferenceTable          `json:"referenceTable,omitempty"`
}

// RelatedApp names the app a lookup or related-records field reads from.
type RelatedApp struct {
	App  string `json:"app"`
	Code string `json:"code"`
}

// Lookup is the setting of a lookup field.
type Lookup struct {
	RelatedApp         RelatedApp     `json:"relatedApp"`
	RelatedKeyField    string         `json:"relatedKeyField"`
	FieldMappings      []FieldMapping `json:"fieldMappings"`
	LookupPickerFields []string       `json:"lookupPickerFields"`
	FilterCond         string         `json:"filterCond"`
	Sort               string         `json:"sort"`
}

// FieldMapping copies one field of the looked-up record into this app.
type FieldMapping struct {
	Field        string `json:"field"`
	RelatedField string `json:"relatedField"`
}

// ReferenceTable is the setting of a related-records field.
type ReferenceTable struct {
	RelatedApp RelatedApp `json:"relatedApp"`
	Condition  struct {
		Field        string `json:"field"`
		RelatedField string `json:"relatedField"`
	} `json:"condition"`
	FilterCond    string   `json:"filterCond"`
	DisplayFields []string `json:"displayFields"`
	Sort          string   `json:"sort"`
	Size          string   `json:"size"`
}
