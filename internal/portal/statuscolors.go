package portal

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"slices"
	"strings"
)

// Status badges take the colour configured for their state (an app's
// status_colors). Pages carry no inline style (the Content-Security-Policy
// forbids it), so each configured state gets a class, and the classes'
// colours are a generated stylesheet served with the theme.

// statusClass is the class of state's badge in app alias, "" when the
// state has no colour of its own.
func (h *Handler) statusClass(alias, state string) string {
	if _, ok := h.cfg.Apps[alias].StatusColors[state]; !ok {
		return ""
	}
	return statusClassName(alias, state)
}

// statusClassName hashes alias and state into a class name, since a
// state may be any text.
func statusClassName(alias, state string) string {
	sum := sha256.Sum256([]byte(alias + "\x00" + state))
	return "st-" + hex.EncodeToString(sum[:6])
}

// statusCSS is the stylesheet of the configured badge colours, with the
// text black or white, whichever contrasts more; problems lists the
// colours on which neither reaches WCAG AA (4.5:1).
func statusCSS(apps map[string]AppSettings) (css []byte, problems []string, err error) {
	var rules []string
	for alias, set := range apps {
		for state, colour := range set.StatusColors {
			bg, err := parseColor(colour)
			if err != nil {
				return nil, nil, fmt.Errorf("portal: app %q: status colour of %q: %w", alias, state, err)
			}
			fg := onColor(bg)
			if r := contrast(fg, bg); r < 4.5 {
				problems = append(problems, fmt.Sprintf("app %q, state %q: text on %s has contrast %.2f:1, below 4.5:1", alias, state, bg, r))
			}
			rules = append(rules, fmt.Sprintf(".badge.%s{background:%s;color:%s}\n", statusClassName(alias, state), bg, fg))
		}
	}
	slices.Sort(rules)
	return []byte(strings.Join(rules, "")), problems, nil
}
