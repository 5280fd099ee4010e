package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/csv"
	"encoding/json"
	"html"
	"image"
	_ "image/jpeg"
	_ "image/png"
	"io"
	"maps"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"

	caddycmd "github.com/caddyserver/caddy/v2/cmd"

	"github.com/kgate/kgate/examples"
	"github.com/kgate/kgate/internal/kintone"
	"github.com/kgate/kgate/internal/kintonesim"
)

// examples/member-site: a member site where gold, silver and bronze
// members of partner companies see promotional materials by level, and
// their own company's requests. These tests load the example's parts and
// then run it as `kgate demo --example member-site` and look through a
// member's browser.

const memberSiteDir = "../../examples/member-site"

// levelRank is the member site's rule as its README states it: a member
// sees the materials that require their level or a lower one.
var levelRank = map[string]int{"bronze": 1, "silver": 2, "gold": 3}

func TestMemberSitePoliciesPassTheirTestsWithCoverage(t *testing.T) {
	var out bytes.Buffer
	if err := policyTest(context.Background(), &out, memberSiteDir+"/policies", false, true, ""); err != nil {
		t.Fatalf("policy test: %v\n%s", err, out.String())
	}
	if err := policyActivates(context.Background(), &out, memberSiteDir+"/policies", "kgate"); err != nil {
		t.Fatalf("the probes of data.json: %v", err)
	}
	m := regexp.MustCompile(`PASS (\d+)/(\d+)`).FindStringSubmatch(out.String())
	if m == nil || m[1] != m[2] || len(m[1]) < 2 || !strings.Contains(out.String(), "100.00%  kgate.rego") {
		t.Fatalf("want every one of dozens of tests to pass and kgate.rego fully covered:\n%s", out.String())
	}
}

func TestMemberSiteSeedLoadsWithRealFiles(t *testing.T) {
	raw, err := examples.FS.ReadFile("member-site/seed.json")
	if err != nil {
		t.Fatal(err)
	}
	seed, err := kintonesim.ParseSeed(raw)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := kintonesim.New(seed); err != nil {
		t.Fatal(err)
	}
	files := seedFiles(t, raw)
	kinds := map[string]int{}
	for _, f := range files {
		t.Run(f.Name, func(t *testing.T) {
			switch f.ContentType {
			case "image/png", "image/jpeg":
				img, format, err := image.Decode(bytes.NewReader(f.content))
				if err != nil || "image/"+format != f.ContentType {
					t.Fatalf("does not decode as %s: %v (%s)", f.ContentType, err, format)
				}
				if b := img.Bounds(); b.Dx() < 200 || b.Dy() < 100 {
					t.Errorf("%v: too small to show anything", b)
				}
			case "application/pdf":
				if !bytes.HasPrefix(f.content, []byte("%PDF-1.")) || !bytes.HasSuffix(f.content, []byte("%%EOF\n")) || !bytes.Contains(f.content, []byte("/Type /Page ")) {
					t.Fatalf("not a PDF with a page: %.40q", f.content)
				}
			default:
				t.Fatalf("content type %s: the materials are images and PDFs", f.ContentType)
			}
			kinds[f.ContentType]++
		})
	}
	if kinds["image/png"] == 0 || kinds["image/jpeg"] == 0 || kinds["application/pdf"] == 0 {
		t.Errorf("the seed should hold PNG and JPEG images and PDFs: %v", kinds)
	}
}

// The demo's users are the members app's active members, with the same
// organization and level: otherwise a login would be refused or see
// another level's materials.
func TestMemberSiteDemoUsersAreItsMembers(t *testing.T) {
	ex, err := demoExampleNamed("member-site")
	if err != nil {
		t.Fatal(err)
	}
	users, _, err := ex.Users()
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := examples.FS.ReadFile("member-site/seed.json")
	var seed struct {
		Apps []struct {
			Code    string
			Records []map[string]struct{ Value any }
		}
	}
	if err := json.Unmarshal(raw, &seed); err != nil {
		t.Fatal(err)
	}
	members := map[string]map[string]any{}
	for _, a := range seed.Apps {
		if a.Code != "members" {
			continue
		}
		for _, r := range a.Records {
			m := map[string]any{}
			for k, v := range r {
				m[k] = v.Value
			}
			members[m["email"].(string)] = m
		}
	}
	levels := map[string]bool{}
	for _, u := range users {
		m := members[u.Email]
		if m == nil || m["sub"] != u.Sub || m["level"] != u.Level || m["state"] != "active" || (m["org"] != nil || u.Org != "") && m["org"] != u.Org {
			t.Errorf("%s (%s, %s, %s) is not the same active member in the members app: %v", u.Email, u.Sub, u.Org, u.Level, m)
		}
		levels[u.Org+"/"+u.Level] = true
	}
	for _, org := range []string{"sakura", "orca"} {
		for level := range levelRank {
			if !levels[org+"/"+level] {
				t.Errorf("no %s demo user of %s", level, org)
			}
		}
	}
	if !levels["/staff"] {
		t.Error("no staff demo user")
	}
}

func TestDemoExampleFlag(t *testing.T) {
	cmd, ok := caddycmd.Commands()["demo"]
	if !ok {
		t.Fatal("no demo command")
	}
	if f := cmd.Flags.Lookup("example"); f == nil || f.DefValue != "partner-portal" {
		t.Fatalf("--example should default to partner-portal: %+v", f)
	}
	for _, e := range demoExamples {
		if !strings.Contains(cmd.Long, e.Name) || !strings.Contains(cmd.Long, e.About) {
			t.Errorf("demo --help does not list %s", e.Name)
		}
		if _, err := examples.FS.ReadFile(e.Name + "/Caddyfile"); err != nil {
			t.Errorf("example %s is not embedded: %v", e.Name, err)
		}
	}
	addr := freeLoopbackAddr(t)
	_, err := startDemo(demoOptions{Example: "partner-site", Listen: addr}, io.Discard)
	if err == nil || !strings.Contains(err.Error(), `"partner-site"`) || !strings.Contains(err.Error(), "partner-portal, member-site") {
		t.Fatalf("an unknown example: %v, want an error naming it and the known ones", err)
	}
	if err := portFree(strings.TrimPrefix(addr, "localhost:")); err != nil {
		t.Fatalf("a refused example left its port taken: %v", err)
	}
}

// startMemberSite runs `kgate demo --example member-site` on a free
// loopback port and checks that it introduces the example's own users.
func startMemberSite(t *testing.T) *demo {
	t.Helper()
	var out bytes.Buffer
	d, err := startDemo(demoOptions{Example: "member-site", Listen: freeLoopbackAddr(t)}, &out)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(d.Stop)
	users, _, _ := d.Example.Users()
	for _, u := range users {
		if !strings.Contains(out.String(), u.Email) {
			t.Errorf("the demo does not name its user %s:\n%s", u.Email, out.String())
		}
	}
	if strings.Contains(out.String(), "alice@acme.example") || !strings.Contains(out.String(), "user:u-gina") {
		t.Errorf("the member site's demo names the partner portal's users:\n%s", out.String())
	}
	return d
}

func TestMemberSiteDemoShowsEachMemberTheirMaterialsAndRequests(t *testing.T) {
	d := startMemberSite(t)
	materials := simRecords(t, d, "2", "ms-token-materials")
	requests := simRecords(t, d, "3", "ms-token-requests")
	members := map[string]kintone.Record{}
	for _, m := range simRecords(t, d, "1", "ms-token-members") {
		members[demoField(m, "sub")] = m
	}
	byLevel := map[string]int{}
	for _, r := range materials {
		byLevel[demoField(r, "level")]++
	}
	for level := range levelRank {
		if byLevel[level] == 0 {
			t.Fatalf("the seed has no %s material, so the levels cannot be told apart: %v", level, byLevel)
		}
	}
	var policyData struct {
		Apps map[string]struct {
			ClosedReason map[string]string `json:"closed_reason"`
		}
	}
	rawPolicy, _ := examples.FS.ReadFile("member-site/policies/data.json")
	if err := json.Unmarshal(rawPolicy, &policyData); err != nil {
		t.Fatal(err)
	}
	closed := policyData.Apps["members"].ClosedReason
	files := map[string][]byte{}
	raw, _ := examples.FS.ReadFile("member-site/seed.json")
	for _, f := range seedFiles(t, raw) {
		files[f.Name] = f.content
	}

	for _, sub := range []string{"u-gina", "u-sora", "u-ben", "u-hana", "u-tomo"} {
		m := members[sub]
		level, org := demoField(m, "level"), demoField(m, "org")
		t.Run(sub+" ("+level+")", func(t *testing.T) {
			var wantMaterials, wantRequests []string
			for _, r := range materials {
				if level == "staff" || levelRank[demoField(r, "level")] <= levelRank[level] {
					wantMaterials = append(wantMaterials, demoField(r, "$id"))
				}
			}
			for _, r := range requests {
				if level == "staff" || demoField(r, "org") == org {
					wantRequests = append(wantRequests, demoField(r, "$id"))
				}
			}
			b := newDemoBrowser(t)
			home := b.login(d, sub)
			for _, app := range []string{"materials", "requests"} {
				if !strings.Contains(home.Body, `href="/apps/`+app+`"`) {
					t.Errorf("the home page does not list %s", app)
				}
			}
			if got := listedIDs(t, b, d, "materials"); !slices.Equal(got, sorted(wantMaterials)) {
				t.Errorf("the materials list shows %v, want %v", got, sorted(wantMaterials))
			}
			if got := apiIDs(b, d, "2"); !slices.Equal(got, sorted(wantMaterials)) {
				t.Errorf("the API lists materials %v, want %v", got, sorted(wantMaterials))
			}
			if got := listedIDs(t, b, d, "requests"); !slices.Equal(got, sorted(wantRequests)) {
				t.Errorf("the requests list shows %v, want %v", got, sorted(wantRequests))
			}
			if got := apiIDs(b, d, "3"); !slices.Equal(got, sorted(wantRequests)) {
				t.Errorf("the API lists requests %v, want %v", got, sorted(wantRequests))
			}
			checkAppImages(t, b, d, home.Body)
			if got, want := csvTitles(t, b, d, "requests"), titles(pick(requests, wantRequests)); !slices.Equal(got, want) {
				t.Errorf("the requests' CSV export holds %q, want %q", got, want)
			}
			if level != "staff" {
				if strings.Contains(home.Body, `href="/apps/members"`) {
					t.Error("a partner's home page lists the members app")
				}
				// refused with the policy's reason, in the member's language
				lang := map[bool]string{true: "ja", false: "en"}[strings.Contains(home.Body, `<html lang="ja"`)]
				if p := b.Get(d.URL + "/apps/members"); p.Status != http.StatusForbidden || !strings.Contains(p.Body, html.EscapeString(closed[lang])) {
					t.Errorf("the members app for a partner: %d, want 403 with %q", p.Status, closed[lang])
				}
			}
			checkMaterialFiles(t, b, d, wantMaterials, files)
			checkGallery(t, b, d, pick(materials, wantMaterials), files)
			checkCharts(t, b, d, "materials", [][]kintone.Record{pick(materials, wantMaterials)}, "category")
			mine := pick(requests, wantRequests)
			checkCharts(t, b, d, "requests", [][]kintone.Record{mine, mine, mine}, "Status", "", "type:amount")
		})
	}
}

// csvTitles are the titles in an app's CSV export (its header is in the
// member's language), sorted.
func csvTitles(t *testing.T, b *demoBrowser, d *demo, app string) []string {
	t.Helper()
	p := b.Get(d.URL + "/apps/" + app + "/export.csv")
	rows, err := csv.NewReader(strings.NewReader(strings.TrimPrefix(p.Body, "\uFEFF"))).ReadAll()
	if p.Status != 200 || err != nil || len(rows) == 0 {
		t.Fatalf("/apps/%s/export.csv: %d %v %.200q", app, p.Status, err, p.Body)
	}
	col := slices.IndexFunc(rows[0], func(h string) bool { return h == "Title" || h == "件名" })
	if col < 0 {
		t.Fatalf("/apps/%s/export.csv has no title column: %q", app, rows[0])
	}
	var out []string
	for _, r := range rows[1:] {
		out = append(out, r[col])
	}
	slices.Sort(out)
	return out
}

func titles(recs []kintone.Record) []string {
	var out []string
	for _, r := range recs {
		out = append(out, demoField(r, "title"))
	}
	slices.Sort(out)
	return out
}

// checkGallery reads the materials' gallery: a card for exactly the
// materials the member may see; an image's card shows a thumbnail that
// opens its preview page, another file's card its download, and a
// material without a file no picture.
func checkGallery(t *testing.T, b *demoBrowser, d *demo, want []kintone.Record, files map[string][]byte) {
	t.Helper()
	p := b.Get(d.URL + "/apps/materials/gallery?size=100")
	if p.Status != 200 {
		t.Fatalf("the gallery: %d", p.Status)
	}
	cards := map[string]string{}
	for _, card := range strings.Split(p.Body, `<li class="card gallery-card">`)[1:] {
		card, _, _ = strings.Cut(card, "</li>")
		m := regexp.MustCompile(`<h2 class="card-title"><a href="/apps/materials/records/(\d+)">`).FindStringSubmatch(card)
		if m == nil {
			t.Fatalf("a card without a title link: %s", card)
		}
		cards[m[1]] = card
	}
	if len(cards) != len(want) {
		t.Errorf("the gallery shows %d cards, want %d", len(cards), len(want))
	}
	thumb := regexp.MustCompile(`<a href="(/previews/[^"]+)"><img src="(/thumbnails/card/[^"]+)" alt="([^"]+)">`)
	download := regexp.MustCompile(`<a href="(/files/[^"]+)" download="([^"]+)">`)
	for _, r := range want {
		id := demoField(r, "$id")
		card, ok := cards[id]
		if !ok {
			t.Errorf("the gallery lacks material %s", id)
			continue
		}
		var attached []struct{ Name, ContentType string }
		json.Unmarshal(r["file"].Value, &attached)
		switch {
		case len(attached) == 0:
			if strings.Contains(card, "card-media") {
				t.Errorf("material %s has no file but its card shows one", id)
			}
		case strings.HasPrefix(attached[0].ContentType, "image/"):
			m := thumb.FindStringSubmatch(card)
			if m == nil || html.UnescapeString(m[3]) != attached[0].Name {
				t.Errorf("material %s (%s): no thumbnail on its card", id, attached[0].Name)
				continue
			}
			img := b.Get(d.URL + html.UnescapeString(m[2]))
			if _, _, err := image.Decode(strings.NewReader(img.Body)); img.Status != 200 || err != nil {
				t.Errorf("material %s: the thumbnail answers %d, %v", id, img.Status, err)
			}
			if pv := b.Get(d.URL + html.UnescapeString(m[1])); pv.Status != 200 || !strings.Contains(pv.Body, `alt="`+html.EscapeString(attached[0].Name)+`"`) {
				t.Errorf("material %s: the preview page answers %d", id, pv.Status)
			}
		default:
			m := download.FindStringSubmatch(card)
			if m == nil || m[2] != attached[0].Name {
				t.Errorf("material %s (%s): no download on its card", id, attached[0].Name)
				continue
			}
			if f := b.Get(d.URL + html.UnescapeString(m[1])); f.Status != 200 || f.Body != string(files[attached[0].Name]) {
				t.Errorf("material %s: the card's download answers %d with %d bytes", id, f.Status, len(f.Body))
			}
		}
	}
}

// checkAppImages: the home page shows each app's picture of the
// example's media folder, as the Caddyfile's image settings name them.
func checkAppImages(t *testing.T, b *demoBrowser, d *demo, home string) {
	t.Helper()
	card := regexp.MustCompile(`<img class="app-image" src="([^"]+)"[^>]*>\s*<div class="app-body">\s*<h3><a href="/apps/(\w+)"`)
	shown := map[string]string{}
	for _, m := range card.FindAllStringSubmatch(home, -1) {
		shown[m[2]] = html.UnescapeString(m[1])
	}
	for _, app := range []string{"materials", "requests"} {
		want, err := examples.FS.ReadFile("member-site/media/" + app + ".png")
		if err != nil {
			t.Fatal(err)
		}
		src, ok := shown[app]
		if !ok {
			t.Errorf("the home page shows no picture for %s", app)
			continue
		}
		if img := b.Get(d.URL + src); img.Status != 200 || img.Body != string(want) {
			t.Errorf("%s's picture %s: %d, %d bytes, want media/%s.png (%d bytes)", app, src, img.Status, len(img.Body), app, len(want))
		}
	}
}

// checkMaterialFiles opens each material's page and downloads its file:
// it must be the seed's file, byte for byte.
func checkMaterialFiles(t *testing.T, b *demoBrowser, d *demo, ids []string, files map[string][]byte) {
	t.Helper()
	link := regexp.MustCompile(`<a href="(/files/[^"]+)" download="([^"]+)">`)
	downloaded := 0
	for _, id := range ids {
		p := b.Get(d.URL + "/apps/materials/records/" + id)
		if p.Status != 200 {
			t.Fatalf("material %s: %d", id, p.Status)
		}
		for _, m := range link.FindAllStringSubmatch(p.Body, -1) {
			href := strings.ReplaceAll(m[1], "&amp;", "&")
			f := b.Get(d.URL + href)
			if want, ok := files[m[2]]; !ok || f.Status != 200 || f.Body != string(want) {
				t.Errorf("material %s: %s answers %d with %d bytes, want the seed's %d", id, m[2], f.Status, len(f.Body), len(want))
			}
			downloaded++
		}
	}
	if downloaded == 0 {
		t.Error("no material's file could be downloaded")
	}
}

// checkCharts reads the tables of an app's chart page, in the order the
// Caddyfile gives the charts, and compares each with what the records
// the member may see add up to. A group is "field" (count per value),
// "field:number" (sum of number per value), or "" for a chart grouped by
// month of requested_on, of which only the months and the total are
// compared (the labels are month names in the member's language).
func checkCharts(t *testing.T, b *demoBrowser, d *demo, app string, recs [][]kintone.Record, groups ...string) {
	t.Helper()
	p := b.Get(d.URL + "/apps/" + app + "/charts")
	if p.Status != 200 {
		t.Fatalf("/apps/%s/charts: %d", app, p.Status)
	}
	tables := chartTables(p.Body)
	if len(tables) != len(groups) {
		t.Fatalf("/apps/%s/charts shows %d charts, want %d", app, len(tables), len(groups))
	}
	for i, group := range groups {
		field, sum, _ := strings.Cut(group, ":")
		want, total, months := map[string]string{}, 0, map[string]bool{}
		for _, r := range recs[i] {
			total++
			if field == "" {
				months[strings.Join(strings.Split(demoField(r, "requested_on"), "-")[:2], "-")] = true
				continue
			}
			n := 1
			if sum != "" {
				n, _ = strconv.Atoi(demoField(r, sum))
			}
			v, _ := strconv.Atoi(want[demoField(r, field)])
			want[demoField(r, field)] = strconv.Itoa(v + n)
		}
		got := map[string]string{}
		gotTotal := 0
		for label, v := range tables[i] {
			digits := strings.Map(func(r rune) rune {
				if r >= '0' && r <= '9' {
					return r
				}
				return -1
			}, v)
			got[label] = digits
			n, _ := strconv.Atoi(digits)
			gotTotal += n
		}
		switch {
		case field != "" && !maps.Equal(got, want):
			t.Errorf("%s chart %d (%s): %v, want %v", app, i, group, got, want)
		case field == "" && (len(got) != len(months) || gotTotal != total):
			t.Errorf("%s chart %d (by month): %v, want %d months and %d records", app, i, got, len(months), total)
		}
	}
}

// chartTables reads the chart page's tables: label → value, per chart.
func chartTables(body string) []map[string]string {
	var out []map[string]string
	for _, sec := range strings.Split(body, `<section class="card chart"`)[1:] {
		sec, _, _ = strings.Cut(sec, "</section>")
		rows := map[string]string{}
		for _, m := range regexp.MustCompile(`<th scope="row">([^<]*)</th><td class="num">([^<]*)</td>`).FindAllStringSubmatch(sec, -1) {
			rows[html.UnescapeString(m[1])] = html.UnescapeString(m[2])
		}
		out = append(out, rows)
	}
	return out
}

// pick returns the records with the given ids.
func pick(recs []kintone.Record, ids []string) []kintone.Record {
	var out []kintone.Record
	for _, r := range recs {
		if slices.Contains(ids, demoField(r, "$id")) {
			out = append(out, r)
		}
	}
	return out
}

// listedIDs are the record ids a list page of the portal links to.
func listedIDs(t *testing.T, b *demoBrowser, d *demo, app string) []string {
	t.Helper()
	p := b.Get(d.URL + "/apps/" + app + "?size=100")
	if p.Status != 200 {
		t.Fatalf("/apps/%s: %d", app, p.Status)
	}
	seen := map[string]bool{}
	var ids []string
	for _, m := range regexp.MustCompile(`href="/apps/`+app+`/records/(\d+)"`).FindAllStringSubmatch(p.Body, -1) {
		if !seen[m[1]] {
			seen[m[1]] = true
			ids = append(ids, m[1])
		}
	}
	return sorted(ids)
}

// apiIDs are the record ids kgate's kintone API gives the member.
func apiIDs(b *demoBrowser, d *demo, app string) []string {
	var ids []string
	for _, r := range b.records(d.URL + "/k/v1/records.json?app=" + app + "&query=" + url.QueryEscape("limit 500")) {
		ids = append(ids, demoField(r, "$id"))
	}
	return sorted(ids)
}

// simRecords reads every record of an app from the simulated kintone
// itself, with the operator's token: the ground truth.
func simRecords(t *testing.T, d *demo, app, token string) []kintone.Record {
	t.Helper()
	req, _ := http.NewRequest("GET", d.Kintone+"/k/v1/records.json?app="+app+"&query="+url.QueryEscape("limit 500"), nil)
	req.Header.Set("X-Cybozu-API-Token", token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out struct{ Records []kintone.Record }
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil || resp.StatusCode != 200 || len(out.Records) == 0 {
		t.Fatalf("the simulator's app %s: %d %v", app, resp.StatusCode, err)
	}
	return out.Records
}

type seedFile struct {
	Name, ContentType, Base64 string
	content                   []byte
}

func seedFiles(t *testing.T, raw []byte) []seedFile {
	t.Helper()
	var seed struct{ Files []seedFile }
	if err := json.Unmarshal(raw, &seed); err != nil {
		t.Fatal(err)
	}
	for i, f := range seed.Files {
		b, err := base64.StdEncoding.DecodeString(f.Base64)
		if err != nil {
			t.Fatalf("%s: %v", f.Name, err)
		}
		seed.Files[i].content = b
	}
	return seed.Files
}

func sorted(ids []string) []string {
	out := slices.Clone(ids)
	sort.Slice(out, func(i, j int) bool {
		if len(out[i]) != len(out[j]) {
			return len(out[i]) < len(out[j])
		}
		return out[i] < out[j]
	})
	return out
}
