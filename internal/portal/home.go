package portal

import (
	"net/http"
	"strings"

	"github.com/kgate/kgate/internal/gateway"
)

// homeBody is the home page: who is signed in and the apps they may read.
type homeBody struct {
	Name, Email, Org, Level string
	Apps                    []appCard
	ViewAs                  string // the view-as page, for staff the policy lets use it
}

type appCard struct {
	Name     string
	Desc     any // string, or template.HTML from the sanitizer
	Href     string
	Calendar string
}

// home lists the apps the member may read. Apps the policy closes to the
// member are not listed at all.
func (c *call) home() {
	apps, err := c.h.gw.Apps(c.ctx, c.id, gateway.AppsFilter{})
	if err != nil {
		c.fail(err)
		return
	}
	lang := c.loc.Lang
	body := &homeBody{Name: c.me.Name, Email: c.me.Email, Org: c.h.orgName(c.me.Org, lang), Level: c.h.levelName(c.me.Level, lang)}
	if v := c.h.viewAs; v != nil && c.viewer == nil && c.me.Via == "session" {
		if may, err := v.May(c.ctx, c.me); err == nil && may {
			body.ViewAs = viewAsPath
		}
	}
	for _, a := range apps {
		set := c.h.cfg.Apps[a.Alias]
		card := appCard{Name: a.Name, Href: appPath(a.Alias)}
		if !set.Name.Empty() {
			card.Name = set.Name.In(lang)
		}
		switch {
		case !set.Description.Empty():
			card.Desc = set.Description.In(lang)
		case strings.TrimSpace(a.Description) != "":
			card.Desc = c.h.rich.sanitize(a.Description)
		}
		if set.CalendarField != "" && !set.NoCalendar {
			card.Calendar = calendarPath(a.Alias)
		}
		body.Apps = append(body.Apps, card)
	}
	c.render(http.StatusOK, "home", c.newPage("", body))
}
