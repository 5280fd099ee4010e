package testbrowser

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// errorLog is a testing.TB that keeps what Axe reports instead of failing.
type errorLog struct {
	testing.TB
	errors []string
}

func (l *errorLog) Errorf(format string, args ...any) {
	l.errors = append(l.errors, fmt.Sprintf(format, args...))
}

func TestAxeReportsEachViolationAndNothingOnACleanPage(t *testing.T) {
	if testing.Short() {
		t.Skip("starts Chromium; run without -short")
	}
	pages := map[string]string{
		"/clean": `<!doctype html><html lang="en"><head><title>Clean</title></head>
<body><main><h1>Clean</h1><img src="data:," alt="A dot"></main></body></html>`,
		"/faulty": `<!doctype html><html><head><title>Faulty</title></head>
<body><main><h1>Faulty</h1><img src="data:,"><a href="/x"></a></main></body></html>`,
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprint(w, pages[r.URL.Path])
	}))
	defer srv.Close()
	browser := Chromium(t)
	ctx, cancel := context.WithTimeout(browser, 60*time.Second)
	defer cancel()

	for _, tc := range []struct {
		path string
		want []string // axe rule ids
	}{
		{"/clean", nil},
		{"/faulty", []string{"html-has-lang", "image-alt", "link-name"}},
	} {
		t.Run(tc.path, func(t *testing.T) {
			if err := chromedp.Do(ctx, chromedp.Navigate(srv.URL+tc.path)); err != nil {
				t.Fatal(err)
			}
			log := &errorLog{TB: t}
			Axe(log, ctx)
			if len(log.errors) != len(tc.want) {
				t.Fatalf("axe reported %d violations, want %d (%v):\n%s", len(log.errors), len(tc.want), tc.want, strings.Join(log.errors, "\n"))
			}
			for _, id := range tc.want {
				if !strings.Contains(strings.Join(log.errors, "\n"), ": "+id+" (") {
					t.Errorf("axe did not report %s:\n%s", id, strings.Join(log.errors, "\n"))
				}
			}
		})
	}
}
