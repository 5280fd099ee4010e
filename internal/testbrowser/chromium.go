package testbrowser

import (
	"context"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/kgate/kgate/internal/testenv"
)

// Chromium starts Debian's Chromium headless with a profile of its own and
// returns a chromedp context on it; the browser ends with the test. Without
// Chromium the test is skipped, or fails under KGATE_REQUIRE_ALL=1. The
// flags keep the browser off the network: a closed sandbox refuses its
// background connections.
func Chromium(t testing.TB, extra ...chromedp.ExecAllocatorOption) context.Context {
	t.Helper()
	bin := testenv.LookPath(t, "chromium", "chromium-browser", "google-chrome")
	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(bin), chromedp.NoSandbox,
		chromedp.Flag("disable-gpu", true), chromedp.Flag("disable-component-update", true),
		chromedp.UserDataDir(t.TempDir()))
	actx, cancel := chromedp.NewExecAllocator(context.Background(), append(opts, extra...)...)
	t.Cleanup(cancel)
	ctx, cancel := chromedp.NewContext(actx)
	t.Cleanup(cancel)
	// The first run starts the browser and must not carry a timeout.
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("starting Chromium: %v", err)
	}
	return ctx
}
