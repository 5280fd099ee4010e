package kintonesim

import (
	"fmt"

	"github.com/kgate/kgate/internal/kintone"
)

// labelLangs are the languages a field's name can be localized in, as
// fields.json's lang parameter names them.
var labelLangs = map[string]bool{"ja": true, "en": true, "zh": true}

// addLabels records a field's localized names from the seed.
func (a *app) addLabels(code string, byLang map[string]any) error {
	for lang, v := range byLang {
		if !labelLangs[lang] {
			return fmt.Errorf("labels: language %q is not one of ja, en, zh", lang)
		}
		s, ok := v.(string)
		if !ok || s == "" {
			return fmt.Errorf("labels: the %s label must be a non-empty string", lang)
		}
		if a.labels == nil {
			a.labels = map[string]map[string]string{}
		}
		if a.labels[code] == nil {
			a.labels[code] = map[string]string{}
		}
		a.labels[code][lang] = s
	}
	return nil
}

// labelLang is the language whose names fields.json returns for its lang
// parameter: none (the default names) for "default" or no parameter, the
// caller's language for "user" — the user's setting, else Accept-Language,
// else the seed's language, as kintone falls back to the cybozu.com
// language.
func (c *call) labelLang() string {
	l, _ := c.p.text("lang")
	switch l {
	case "user":
		return c.lang
	case "default":
		return ""
	}
	return l
}

// localized is p with its name, and its subtable fields' names, in lang;
// a field without a name in lang keeps its default name, as in kintone.
func (a *app) localized(p kintone.FieldProperty, lang string) kintone.FieldProperty {
	if lang == "" || a.labels == nil {
		return p
	}
	if l, ok := a.labels[p.Code][lang]; ok {
		p.Label = l
	}
	if len(p.Fields) > 0 {
		inner := make(map[string]kintone.FieldProperty, len(p.Fields))
		for code, ip := range p.Fields {
			if l, ok := a.labels[code][lang]; ok {
				ip.Label = l
			}
			inner[code] = ip
		}
		p.Fields = inner
	}
	return p
}
