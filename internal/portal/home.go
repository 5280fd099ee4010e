package portal

import (
	"fmt"
	"net/http"
	"os"
	"path"
	"strings"
	"sync"

	"github.com/kgate/kgate/internal/gateway"
)

// homeBody is the home page: who is signed in and the apps they may read.
type homeBody struct {
	Name, Email, Org, Level string
	Apps                    []appCard
	ViewAs                  string // the view-as page, for staff the policy lets use it
	FirstVisit              bool   // nothing is counted as new yet
}

type appCard struct {
	Name     string
	Desc     any // string, or template.HTML from the sanitizer
	Href     string
	Calendar string
	Image    string // the app's image, or the default icon
	Alt      string // its text alternative; "" when it only decorates
	Total    string // how many records the member may see, "" when not counted
	New      string // how many of those changed since the last visit
	Awaiting string // how many await an action of the member
	HasNew   bool   // New is more than zero
	HasWait  bool   // Awaiting is more than zero
}

// home lists the apps the member may read, each with what the member may
// see, what is new since their last visit and what awaits them. Apps the
// policy closes to the member are not listed at all.
func (c *call) home() {
	apps, err := c.h.gw.Apps(c.ctx, c.id, gateway.AppsFilter{})
	if err != nil {
		c.fail(err)
		return
	}
	lang := c.loc.Lang
	since := c.seen(c.h.now())
	body := &homeBody{Name: c.me.Name, Email: c.me.Email, Org: c.h.orgName(c.me.Org, lang), Level: c.h.levelName(c.me.Level, lang),
		FirstVisit: since.IsZero()}
	if v := c.h.viewAs; v != nil && c.viewer == nil && c.me.Via == "session" {
		if may, err := v.May(c.ctx, c.me); err == nil && may {
			body.ViewAs = viewAsPath
		}
	}
	body.Apps = make([]appCard, len(apps))
	var wg sync.WaitGroup
	for i, a := range apps {
		body.Apps[i] = c.appCard(a)
		ref, ok := c.h.gw.Ref(a.Alias)
		if !ok {
			continue
		}
		wg.Go(func() { c.fillCounts(&body.Apps[i], c.countsFor(a.Alias, ref, since)) })
	}
	wg.Wait()
	c.render(http.StatusOK, "home", c.newPage("", body))
}

// appCard is an app's card without its numbers.
func (c *call) appCard(a *gateway.AppInfo) appCard {
	lang := c.loc.Lang
	set := c.h.cfg.Apps[a.Alias]
	card := appCard{Name: a.Name, Href: appPath(a.Alias), Image: c.h.assets.url("app.svg")}
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
	if u := c.h.appImage(a.Alias); u != "" {
		card.Image = u
		if !set.ImageAlt.Empty() {
			card.Alt = set.ImageAlt.In(lang)
		}
	}
	return card
}

func (c *call) fillCounts(card *appCard, n appCounts) {
	if n.Total != nil {
		card.Total = c.loc.Int(*n.Total)
	}
	if n.New != nil {
		card.New, card.HasNew = c.loc.Int(*n.New), *n.New > 0
	}
	if n.Awaiting != nil {
		card.Awaiting, card.HasWait = c.loc.Int(*n.Awaiting), *n.Awaiting > 0
	}
}

// appImage is the URL of the image configured for app alias, "" for none.
func (h *Handler) appImage(alias string) string {
	img := h.cfg.Apps[alias].Image
	if img == "" {
		return ""
	}
	if u := h.assets.url(appImageAsset(alias)); u != "" {
		return u
	}
	return img // a path on this site
}

func appImageAsset(alias string) string { return "app-image-" + alias }

// addAppImages serves the configured app images that are files; an image
// that is neither a file nor a path on this site is refused at load.
func (h *Handler) addAppImages(a *assets) error {
	for alias, set := range h.cfg.Apps {
		img := set.Image
		if img == "" {
			continue
		}
		if st, err := os.Stat(img); err == nil && !st.IsDir() {
			switch strings.ToLower(path.Ext(img)) {
			case ".svg", ".png", ".jpg", ".jpeg", ".webp":
			default:
				return fmt.Errorf("portal: app %q: image %q: want an SVG, PNG, JPEG or WebP file", alias, img)
			}
			if err := a.addFile(appImageAsset(alias), img); err != nil {
				return err
			}
			continue
		}
		if !strings.HasPrefix(img, "/") || strings.HasPrefix(img, "//") {
			return fmt.Errorf("portal: app %q: image %q is neither an image file nor a path on this site (pages load images from this site only)", alias, img)
		}
	}
	return nil
}
