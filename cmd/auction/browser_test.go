package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
)

// TestBrowser uses the web page the way people do, in a real browser: two
// separate browser profiles (their own storage, their own session), one
// seller who then switches to a new account, and one bidder. It checks that
// each sees the other's bids without reloading, that a refused bid says why,
// that the auction closes on its own, and that the winner finds the
// notification in the page. On failure it saves a screenshot of each
// profile to $AUCTION_TEST_ARTIFACTS (or auction-artifacts in the temporary
// folder). With AUCTION_SCREENSHOT=docs/web.png it also writes the
// screenshot of the item page mid-auction that the README shows.
func TestBrowser(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a 30 s auction in a browser")
	}
	exe := browserPath(t)
	p := startPlatform(t, map[string]string{"AUCTION_CLOSE_GRACE": "300ms"})
	b := startBrowser(t, exe)
	a := b.tab(t, "A") // Alice, then Dan
	c := b.tab(t, "B") // Bob

	a.signIn(t, p.base, "alice@example.com", demoPassword)
	// Bob uses the demo button, and lands on the list of auctions.
	c.do(t, "open the sign-in page", chromedp.Navigate(p.base+"/#/signin"),
		chromedp.Click(chromedp.CSS(`button[data-demo="bob@example.com"]`), chromedp.NodeVisible))
	c.until(t, "signed in as Bob on the list", `document.querySelector('#me')?.textContent === 'bob@example.com' && location.hash === '#/'`, 0)

	// Alice places an item. A duration below the minimum is refused by the
	// server, and the page shows why next to the field.
	a.open(t, "/sell")
	a.do(t, "fill the item form",
		chromedp.SendKeys(chromedp.ID("sell-title"), "Brass telescope", chromedp.NodeVisible),
		chromedp.SendKeys(chromedp.ID("sell-description"), "A 19th-century brass telescope with its case."),
		chromedp.SendKeys(chromedp.ID("sell-category"), "optics"),
		chromedp.SendKeys(chromedp.ID("sell-starting"), "100.00"),
		chromedp.SetValue(chromedp.ID("sell-duration"), "5"),
		chromedp.SetValue(chromedp.ID("sell-unit"), "1"),
		chromedp.Click(chromedp.ID("sell-submit")))
	a.until(t, "the refusal shown at the duration", `document.querySelector('#sell-duration')?.getAttribute('aria-invalid') === 'true' &&
		document.querySelector('#sell-duration-error')?.textContent.includes('10s')`, 0)
	a.do(t, "fix the duration and submit",
		chromedp.SetValue(chromedp.ID("sell-duration"), "30"),
		chromedp.Click(chromedp.ID("sell-submit")))
	a.until(t, "the new item's page", `location.hash.startsWith('#/items/') && document.querySelector('#price')?.dataset.amount === '10000'`, 0)
	item := evaluate[string](t, a, `decodeURIComponent(location.hash.slice('#/items/'.length))`)
	t.Logf("item %s placed through the page", item)

	// The item appears in Bob's list without a reload; he opens it.
	row := fmt.Sprintf(`#row-%s`, item)
	c.until(t, "the item in Bob's list", fmt.Sprintf(`!!document.querySelector(%s)`, js(row)), 0)
	c.do(t, "open the item", chromedp.Click(chromedp.CSS(row+" a")), chromedp.WaitVisible(chromedp.ID("bid-amount")))

	// Alice signs out and registers as Dan, coming back to the item.
	a.do(t, "sign out", chromedp.Click(chromedp.ID("signout")))
	a.until(t, "signed out", `!document.querySelector('#me') && !!document.querySelector('#signin-to-bid')`, 0)
	a.open(t, "/signin?next="+"/items/"+item)
	a.until(t, "the sign-in page, signed out, with nothing stray on it", `!!document.querySelector('#register-name') &&
		!/\bnull\b|undefined/.test(document.querySelector('main').innerText)`, 0)
	a.do(t, "register Dan",
		chromedp.SendKeys(chromedp.ID("register-name"), "Dan Dale", chromedp.NodeVisible),
		chromedp.SendKeys(chromedp.ID("register-email"), "dan@example.com"),
		chromedp.SendKeys(chromedp.ID("register-password"), "dan-secret-1"),
		chromedp.SendKeys(chromedp.ID("register-line1"), "4 High St"),
		chromedp.SendKeys(chromedp.ID("register-city"), "Leeds"),
		chromedp.SendKeys(chromedp.ID("register-postcode"), "LS1 1AA"),
		chromedp.SendKeys(chromedp.ID("register-country"), "GB"),
		chromedp.Click(chromedp.ID("register-submit")))
	a.until(t, "Dan signed in, back on the item", `document.querySelector('#me')?.textContent === 'dan@example.com' && !!document.querySelector('#bid-amount')`, 0)

	// From here on neither page may reload: a reload would lose the marks.
	for _, tb := range []*tab{a, c} {
		tb.do(t, "mark the page", chromedp.Evaluate[chromedp.Void](`window.__unreloaded = true`))
	}
	c.bid(t, "100.00", 10000, "accepted")
	a.until(t, "Bob's bid live on Dan's page", `document.querySelector('#price').dataset.amount === '10000'`, 0)
	a.bid(t, "120.00", 12000, "accepted")
	c.until(t, "Dan's bid live on Bob's page", `document.querySelector('#price').dataset.amount === '12000' &&
		!!document.querySelector('#feed li[data-event="bid-accepted"] [data-amount="12000"]')`, 0)
	// People are named, not shown as ids: the event names Dan by his id,
	// and the page asks his public profile for the name.
	c.until(t, "Dan named in Bob's feed", `[...document.querySelectorAll('#feed li[data-event="bid-accepted"]')].some(li =>
		li.querySelector('[data-amount="12000"]') && li.querySelector('.who')?.textContent === 'Dan Dale')`, 0)
	c.until(t, "the seller and the highest bidder named", `document.querySelector('.meta .who')?.textContent === 'Alice Archer' &&
		document.querySelector('#price-note')?.textContent.startsWith('by Dan Dale')`, 0)
	// Bob is told at once that Dan outbid him; Dan is not.
	c.until(t, "Bob told live he was outbid", `(() => {
		const n = document.querySelector('#outbid-notice');
		return !n.hidden && n.dataset.amount === '12000' && n.textContent === 'You have been outbid: Dan Dale bid €120.00, above your €100.00.';
	})()`, 0)
	if !evaluate[bool](t, a, `document.querySelector('#outbid-notice').hidden`) {
		t.Fatal("Dan's page says he was outbid, but his is the highest bid")
	}

	// A mistyped item link says so, without waiting for an item this page
	// did not place.
	c.open(t, "/items/no-such-item")
	c.until(t, "no such item", `document.querySelector('h1')?.textContent === 'No such item' && !document.querySelector('#item-loading')`, 0)
	c.open(t, "/items/"+item)
	c.until(t, "back on the item", `document.querySelector('#price')?.dataset.amount === '12000'`, 0)

	// Too small a raise: the processor rejects it, and the page says why.
	c.bid(t, "120.50", 12050, "rejected")
	msg := evaluate[string](t, c, `document.querySelector('#bid-message').textContent`)
	if !strings.Contains(msg, "bid at least") || !strings.Contains(msg, "below_minimum_increment") {
		t.Fatalf("rejected bid message: got %q, want the reason and its code", msg)
	}
	// The form offers the least the next bid may be (the problem's minimumNext).
	if next := evaluate[float64](t, c, `parseFloat(document.querySelector('#bid-amount').value)`); next <= 120.50 {
		t.Fatalf("amount offered after the refusal: got %v, want the minimum next bid, above 120.50", next)
	}
	a.until(t, "the rejection in Dan's live feed", `!!document.querySelector('#feed li[data-event="bid-rejected"] [data-amount="12050"]')`, 0)

	// Dan goes to the list and opens the item again: the bids decided so
	// far are its history, once the bid history read model has them (it
	// follows the verdicts by moments).
	var history struct{ Bids []struct{ BidID string } }
	for deadline := time.Now().Add(20 * time.Second); get(t, p.base+"/v1/items/"+item+"/bids", &history) != http.StatusOK || len(history.Bids) < 3; {
		if time.Now().After(deadline) {
			t.Fatalf("bid history of %s: %d bids after 20 s, want 3", item, len(history.Bids))
		}
		<-time.After(50 * time.Millisecond)
	}
	a.open(t, "/")
	a.until(t, "the list on Dan's page", `!!document.querySelector('#row-' + CSS.escape(`+js(item)+`))`, 0)
	a.open(t, "/items/"+item)
	a.until(t, "the history on Dan's reopened page", `document.querySelectorAll('#feed li[data-history]').length === 3`, 0)
	c.bid(t, "150.00", 15000, "accepted")
	a.until(t, "Bob's raise live on Dan's page", `document.querySelector('#price').dataset.amount === '15000'`, 0)
	a.until(t, "Dan told live he was outbid", `!document.querySelector('#outbid-notice').hidden &&
		document.querySelector('#outbid-notice').dataset.amount === '15000' &&
		document.querySelector('#outbid-notice').textContent.startsWith('You have been outbid: Bob Baker bid €150.00')`, 0)
	c.until(t, "Bob's notice gone, his the highest bid again", `document.querySelector('#outbid-notice').hidden`, 0)
	for _, tb := range []*tab{a, c} {
		if !evaluate[bool](t, tb, `window.__unreloaded === true`) {
			t.Fatalf("%s: the page reloaded during the auction", tb.name)
		}
	}
	if out := os.Getenv("AUCTION_SCREENSHOT"); out != "" {
		// Dan's page: the names, the history below the live feed, and
		// the notice that Bob outbid him.
		a.until(t, "the highlight of the new price to fade", `document.getAnimations().length === 0`, 0)
		if !filepath.IsAbs(out) {
			out = filepath.Join("..", "..", out) // relative to the repository
		}
		if err := os.WriteFile(out, a.screenshot(t), 0o644); err != nil {
			t.Fatal(err)
		}
		t.Logf("screenshot of the item page written to %s", out)
	}

	// The auction closes at endsAt + grace; both pages learn it live.
	c.until(t, "the auction closed, Bob the winner", `document.querySelector('#item-status').dataset.status === 'closed' &&
		document.querySelector('#result-text')?.textContent.startsWith('You won')`, 60*time.Second)
	a.until(t, "the auction closed on Dan's page", `document.querySelector('#item-status').dataset.status === 'closed'`, 0)

	// Opened again, the page shows the bids decided before it opened (the
	// bid history read model), each once and named.
	a.open(t, "/notifications")
	a.open(t, "/items/"+item)
	a.until(t, "the bid history on a reopened page", `(() => {
		const h = [...document.querySelectorAll('#feed li[data-history]')];
		const amounts = h.map(li => li.querySelector('[data-amount]')?.dataset.amount);
		return amounts.join(',') === '15000,12050,12000,10000' &&
			h[0].dataset.event === 'bid-accepted' && h[1].dataset.event === 'bid-rejected' &&
			h[0].querySelector('.who')?.textContent === 'Bob Baker' && h[2].querySelector('.who')?.textContent === 'Dan Dale (you)';
	})()`, 0)

	// The winner's notification, out of band, in the page.
	c.open(t, "/notifications")
	c.until(t, "Bob's notification that he won", `[...document.querySelectorAll('#notifications li[data-kind="won"]')].some(li => li.textContent.includes('Brass telescope'))`, 0)
	c.until(t, "Bob's outbid notice in his inbox", `[...document.querySelectorAll('#notifications li[data-kind="outbid"]')].some(li =>
		li.textContent.includes('Your bid of €100.00 on "Brass telescope" has been outbid: the highest bid is now €120.00.'))`, 0)
	a.open(t, "/notifications")
	a.until(t, "Dan's notification that he lost", `!!document.querySelector('#notifications li[data-kind="lost"]')`, 0)
	a.until(t, "Dan's outbid notice", `!!document.querySelector('#notifications li[data-kind="outbid"]')`, 0)

	// The item's lineage: a timeline of its events, or a clear message
	// where the gateway keeps none.
	c.open(t, "/items/"+item+"/lineage")
	c.until(t, "the lineage", `!!document.querySelector('#lineage-missing') ||
		!!document.querySelector('#lineage li[data-type="auction.item.placed.v1"]')`, 0)
	t.Logf("lineage: %s", evaluate[string](t, c, `document.querySelector('#lineage-view').innerText.split('\n')[0]`))

	// Analytics of the category, drawn as charts.
	a.open(t, "/analytics?category=optics")
	a.until(t, "the analytics of optics", `!!document.querySelector('[data-stat="completed"]') && document.querySelectorAll('svg.chart').length >= 3`, 0)

	for _, tb := range []*tab{a, c} {
		if errs := tb.exceptions(); len(errs) > 0 {
			t.Errorf("%s: uncaught exceptions in the page:\n%s", tb.name, strings.Join(errs, "\n"))
		}
	}
}

// browserPath finds Chromium or Chrome. Without one the test is skipped on
// a laptop and fails in CI, where the browser is part of the toolchain.
func browserPath(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if os.Getenv("CI") != "" {
		t.Fatal("no chromium, chromium-browser or google-chrome on PATH, and CI is set: install Debian's chromium")
	}
	t.Skip("no chromium, chromium-browser or google-chrome on PATH; install one (Debian: apt-get install chromium) to run this test")
	return ""
}

// stepTimeout bounds every step of a browser test.
const stepTimeout = 30 * time.Second

type browser struct{ ctx context.Context }

// startBrowser starts a headless browser with a profile of its own, and
// stops it when the test ends.
func startBrowser(t *testing.T, exe string) *browser {
	t.Helper()
	profile := t.TempDir() // removed after the browser stops: cleanups run last-in, first-out
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(exe), chromedp.NoSandbox, chromedp.UserDataDir(profile),
		chromedp.WindowSize(1280, 900), chromedp.Flag("disable-gpu", true), chromedp.Flag("lang", "en-US"))
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(allocCtx)
	t.Cleanup(func() {
		cancel()
		cancelAlloc()
	})
	attach(t, ctx, "start "+exe)
	return &browser{ctx: ctx}
}

// attach makes the first call on a chromedp context, which starts its
// browser or opens its tab and ties that to the context it is given: so the
// call gets no deadline of its own, and the wait for it does.
func attach(t *testing.T, ctx context.Context, what string) {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- chromedp.Do(ctx) }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	case <-time.After(stepTimeout):
		t.Fatalf("%s: not done within %s", what, stepTimeout)
	}
}

// tab is a page in a browser context of its own: separate cookies and
// storage, as a second person on another computer.
type tab struct {
	name string
	ctx  context.Context

	mu   sync.Mutex
	errs []string // uncaught exceptions
	logs []string // console errors and warnings
}

func (b *browser) tab(t *testing.T, name string) *tab {
	t.Helper()
	tb := &tab{name: name}
	ctx, cancel := chromedp.NewContext(b.ctx, chromedp.WithNewBrowserContext(), chromedp.WithListener(tb.listen))
	t.Cleanup(cancel)
	tb.ctx = ctx
	attach(t, ctx, name+": open a tab")
	t.Cleanup(func() {
		if t.Failed() {
			tb.saveScreenshot(t)
		}
	})
	return tb
}

// listen keeps what the page reports; it runs in chromedp's read loop, so
// it only appends.
func (tb *tab) listen(ev any) {
	switch ev := ev.(type) {
	case *runtime.EventExceptionThrown:
		d := ev.ExceptionDetails
		text := d.Text
		if d.Exception != nil && d.Exception.Description != "" {
			text = d.Exception.Description
		}
		tb.mu.Lock()
		tb.errs = append(tb.errs, fmt.Sprintf("%s (%s:%d)", text, d.URL, d.LineNumber+1))
		tb.mu.Unlock()
	case *runtime.EventConsoleAPICalled:
		if ev.Type != runtime.ConsoleAPICalledTypeError && ev.Type != runtime.ConsoleAPICalledTypeWarning {
			return
		}
		var parts []string
		for _, a := range ev.Args {
			if a.Description != "" {
				parts = append(parts, a.Description)
			} else {
				parts = append(parts, string(a.Value))
			}
		}
		tb.mu.Lock()
		tb.logs = append(tb.logs, fmt.Sprintf("console.%s: %s", ev.Type, strings.Join(parts, " ")))
		tb.mu.Unlock()
	}
}

func (tb *tab) exceptions() []string {
	tb.mu.Lock()
	defer tb.mu.Unlock()
	return append([]string(nil), tb.errs...)
}

// do runs steps with a deadline.
func (tb *tab) do(t *testing.T, what string, steps ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	ctx, cancel := context.WithTimeout(tb.ctx, stepTimeout)
	defer cancel()
	if err := chromedp.Do(ctx, steps...); err != nil {
		t.Fatalf("%s: %s: %v\npage: %s", tb.name, what, err, tb.mainText())
	}
}

// until polls a JavaScript condition until it holds, for at most timeout
// (stepTimeout when 0).
func (tb *tab) until(t *testing.T, what, cond string, timeout time.Duration) {
	t.Helper()
	if timeout == 0 {
		timeout = stepTimeout
	}
	ctx, cancel := context.WithTimeout(tb.ctx, timeout+5*time.Second)
	defer cancel()
	err := chromedp.Do(ctx, chromedp.Poll[chromedp.Void](cond,
		chromedp.WithPollingTimeout(timeout), chromedp.WithPollingInterval(50*time.Millisecond)))
	if err != nil {
		t.Fatalf("%s: waiting for %s: %v\npage: %s", tb.name, what, err, tb.mainText())
	}
}

// open shows another view of the page, as following a link does.
func (tb *tab) open(t *testing.T, path string) {
	t.Helper()
	tb.do(t, "open "+path, chromedp.Evaluate[chromedp.Void](`location.hash = `+js("#"+path)))
}

func (tb *tab) signIn(t *testing.T, base, email, password string) {
	t.Helper()
	tb.do(t, "sign in as "+email, chromedp.Navigate(base+"/#/signin"),
		chromedp.SendKeys(chromedp.ID("signin-email"), email, chromedp.NodeVisible),
		chromedp.SendKeys(chromedp.ID("signin-password"), password),
		chromedp.Click(chromedp.ID("signin-submit")))
	tb.until(t, "signed in as "+email, `document.querySelector('#me')?.textContent === `+js(email), 0)
}

// bid types an amount into the item page's form, sends it and waits for
// the page to show the outcome.
func (tb *tab) bid(t *testing.T, amount string, minor int64, outcome string) {
	t.Helper()
	// Focused first, as a person's click would: the page then leaves the
	// field to the typist instead of refreshing its suggested amount.
	tb.do(t, "bid "+amount,
		chromedp.Focus(chromedp.ID("bid-amount")),
		chromedp.Evaluate[chromedp.Void](`document.querySelector('#bid-amount').value = ''`),
		chromedp.SendKeys(chromedp.ID("bid-amount"), amount),
		chromedp.Click(chromedp.ID("bid-submit")))
	tb.until(t, "the answer to the bid of "+amount, fmt.Sprintf(
		`(m => m?.dataset.input === %s && m.dataset.outcome !== 'sending')(document.querySelector('#bid-message'))`, js(amount)), 0)
	got := evaluate[[]string](t, tb, `(m => [m.dataset.outcome, m.dataset.amount, m.textContent])(document.querySelector('#bid-message'))`)
	if got[0] != outcome || got[1] != fmt.Sprint(minor) {
		t.Fatalf("%s: bid %s: got %s for %s minor units (%q), want %s for %d", tb.name, amount, got[0], got[1], got[2], outcome, minor)
	}
}

// mainText is what the page shows, for failure messages.
func (tb *tab) mainText() string {
	ctx, cancel := context.WithTimeout(tb.ctx, 5*time.Second)
	defer cancel()
	s, err := chromedp.Run(ctx, chromedp.Evaluate[string](`location.hash + ' | ' + (document.querySelector('#flash')?.innerText || '') + ' | ' + (document.querySelector('main')?.innerText || '')`))
	if err != nil {
		return "(unreadable: " + err.Error() + ")"
	}
	return strings.Join(strings.Fields(s), " ")
}

func (tb *tab) screenshot(t *testing.T) []byte {
	t.Helper()
	ctx, cancel := context.WithTimeout(tb.ctx, stepTimeout)
	defer cancel()
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatalf("%s: screenshot: %v", tb.name, err)
	}
	return png
}

// saveScreenshot keeps a full-page picture of a failed test, and what the
// page logged, outside the repository.
func (tb *tab) saveScreenshot(t *testing.T) {
	dir := os.Getenv("AUCTION_TEST_ARTIFACTS")
	if dir == "" {
		dir = filepath.Join(os.TempDir(), "auction-artifacts")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Logf("artifacts: %v", err)
		return
	}
	ctx, cancel := context.WithTimeout(tb.ctx, 10*time.Second)
	defer cancel()
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Logf("%s: no screenshot: %v", tb.name, err)
		return
	}
	name := regexp.MustCompile(`[^A-Za-z0-9_.-]+`).ReplaceAllString(t.Name(), "_") + "-" + tb.name + ".png"
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, png, 0o644); err != nil {
		t.Logf("artifacts: %v", err)
		return
	}
	t.Logf("%s: screenshot saved to %s", tb.name, path)
	tb.mu.Lock()
	defer tb.mu.Unlock()
	for _, l := range append(tb.errs, tb.logs...) {
		t.Logf("%s: %s", tb.name, l)
	}
}

// evaluate runs a JavaScript expression in the tab and decodes its value.
func evaluate[T any](t *testing.T, tb *tab, expr string) T {
	t.Helper()
	ctx, cancel := context.WithTimeout(tb.ctx, stepTimeout)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](expr))
	if err != nil {
		t.Fatalf("%s: evaluate %s: %v", tb.name, expr, err)
	}
	return v
}

// js quotes s as a JavaScript string literal.
func js(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}
