package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/gitfleet/gitfleet/internal/netnstest"
	"github.com/gitfleet/gitfleet/internal/testenv"
)

var updateScreenshot = flag.Bool("update-screenshot", false, "copy the dashboard browser test's screenshot to docs/dashboard.png")

// screenshotEnv carries -update-screenshot into the test's network namespace, whose process
// gets only the test flags netnstest passes.
const screenshotEnv = "GITFLEET_UPDATE_SCREENSHOT"

// TestDashboardBrowser opens the dashboard of the built `up` in headless Chromium and, without
// reloading the page, sees a pushed commit applied and its Pods' health change, presses
// rollback and sees the pin, resumes, and sees a bad commit's file:line.
func TestDashboardBrowser(t *testing.T) {
	if *updateScreenshot {
		t.Setenv(screenshotEnv, "1")
	}
	if !netnstest.Run(t) {
		return
	}
	chromium := testenv.RequireChromium(t)
	testenv.RequireContainerd(t)
	c, remote := newCluster(t, "--http-listen", "127.0.0.1:0")
	a := remote.Head()
	c.start()
	b := openBrowser(t, chromium, c.dashboardURL())
	b.wait("the first commit applied and web Healthy 2/2", 120*time.Second,
		appliedIs(a)+` && `+webRowHas("Healthy", "2/2 ready"))
	b.eval(watchPage)

	web := readFile(t, "../../examples/manifests/web.yaml")
	remote.Write("deploy/web.yaml", strings.Replace(web, "replicas: 2", "replicas: 3", 1))
	scaled := remote.CommitAndPush("scale web to 3")
	pushed := time.Now()
	b.wait("the pushed commit applied", 60*time.Second, appliedIs(scaled))
	shown := b.evalInt(`window.__appliedAt[` + jsString(scaled) + `]`)
	t.Logf("push to the page showing %s: %d ms", short(scaled), shown-pushed.UnixMilli())
	b.wait("web Healthy with 3 ready Pods", 90*time.Second, webRowHas("Healthy", "3/3 ready")+
		` && document.querySelectorAll('tr.pod[data-pod^="default/web-"]').length === 3`)
	seen := b.evalString(`window.__seen.join(" | ")`)
	t.Logf("web's health as the page showed it: %s", seen)
	if !strings.Contains(seen, "2/3 ready") && !strings.Contains(seen, "Progressing") {
		t.Errorf("the page never showed web on its way to 3 Pods: %s", seen)
	}

	b.eval(`window.confirm = () => true`) // the rollback button asks first
	b.click(`button.rollback[data-hash="` + a + `"]`)
	b.wait("the pin at the first commit, applied", 60*time.Second,
		`document.querySelector('#pin[data-hash="`+a+`"]') !== null && `+appliedIs(a))
	b.click(`#resume-button`)
	b.wait("the branch followed again", 60*time.Second, `document.querySelector('#pin') === null && `+appliedIs(scaled))

	remote.Write("deploy/web.yaml", strings.Replace(web, "replicas: 2", "replicas: two", 1))
	bad := remote.CommitAndPush("break web")
	b.wait("the bad commit seen, failed, with its file:line", 60*time.Second,
		`document.querySelector('#seen-commit[data-hash="`+bad+`"]') !== null && `+
			`/deploy\/web\.yaml:\d+/.test(document.querySelector('#errors')?.textContent || '') && `+
			`document.querySelector('#sync-result')?.textContent === 'Failed' && `+appliedIs(scaled))
	errorsText := b.evalString(`document.querySelector('#errors').textContent`)
	t.Logf("errors on the page: %s", errorsText)
	b.wait("the pending commit's errors and the last sync's diff", 30*time.Second,
		`/deploy\/web\.yaml:\d+/.test(document.querySelector('#diff-pending')?.textContent || '') && `+
			`(document.querySelector('#diff-last')?.textContent || '').includes('+  replicas: 3')`)
	b.wait("the failed attempt in history, and web Healthy again (for the picture)", 90*time.Second,
		`document.querySelector('tr[data-hash="`+bad+`"]') !== null && `+webRowHas("Healthy", "3/3 ready"))
	if b.evalString(`window.__marker`) != "not reloaded" {
		t.Fatal("the page was reloaded")
	}
	b.screenshot()
}

// dashboardURL is where up serves the dashboard, as its log says.
func (c *cluster) dashboardURL() string {
	c.t.Helper()
	re := regexp.MustCompile(`serving the dashboard.* url=(\S+)`)
	var url string
	c.waitFor("the dashboard's address in the log", 60*time.Second, func() error {
		m := re.FindStringSubmatch(c.logs.String())
		if m == nil {
			return errors.New("not logged yet")
		}
		url = m[1]
		return nil
	})
	return url
}

// watchPage records, from inside the page, every text web's row shows and when each applied
// commit first appears, and marks the page so that a reload would show.
const watchPage = `
window.__marker = "not reloaded";
window.__seen = [];
window.__appliedAt = {};
window.__builtAt = {};
const record = () => {
  const row = document.querySelector('tr[data-key="Deployment/default/web"]');
  if (row) {
    const text = row.children[1].textContent + " " + row.children[2].textContent;
    if (window.__seen[window.__seen.length - 1] !== text) window.__seen.push(text);
  }
  const a = document.getElementById("applied-commit");
  if (a && a.dataset.hash && !(a.dataset.hash in window.__appliedAt)) {
    window.__appliedAt[a.dataset.hash] = Date.now();
    window.__builtAt[a.dataset.hash] = Date.parse(page.st.time); // when the server built that state
  }
};
new MutationObserver(record).observe(document.body, { subtree: true, childList: true });
record();
true`

func appliedIs(commit string) string {
	return `document.querySelector('#applied-commit')?.dataset.hash === ` + jsString(commit)
}

// webRowHas is true when web's row shows health and ready.
func webRowHas(health, ready string) string {
	return `(() => { const r = document.querySelector('tr[data-key="Deployment/default/web"]');` +
		` return !!r && r.children[1].textContent === ` + jsString(health) + ` && r.children[2].textContent === ` + jsString(ready) + `; })()`
}

func jsString(s string) string { return fmt.Sprintf("%q", s) }

// browser is one headless Chromium tab.
type browser struct {
	t   testing.TB
	ctx context.Context
}

// openBrowser starts Chromium (as root it needs --no-sandbox) and opens url.
func openBrowser(t testing.TB, path, url string) *browser {
	t.Helper()
	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(path), chromedp.NoSandbox,
		chromedp.WindowSize(1280, 1000), chromedp.Flag("disable-dev-shm-usage", true))
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(actx)
	t.Cleanup(func() {
		cancel()
		cancelAlloc()
	})
	if err := chromedp.Do(ctx, chromedp.Navigate(url)); err != nil {
		t.Fatalf("open %s in chromium: %v", url, err)
	}
	return &browser{t: t, ctx: ctx}
}

// wait polls the page until expr is true.
func (b *browser) wait(what string, timeout time.Duration, expr string) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, timeout+5*time.Second)
	defer cancel()
	if _, err := chromedp.Run(ctx, chromedp.Poll[bool](expr, chromedp.WithPollingTimeout(timeout), chromedp.WithPollingInterval(50*time.Millisecond))); err != nil {
		text, _ := chromedp.Run(b.ctx, chromedp.Evaluate[string](`document.body.innerText`))
		b.t.Fatalf("%s: not on the page in %s: %v\n--- the page:\n%s", what, timeout, err, text)
	}
}

func (b *browser) eval(expr string) {
	b.t.Helper()
	if _, err := chromedp.Run(b.ctx, chromedp.Evaluate[chromedp.Void](expr)); err != nil {
		b.t.Fatalf("evaluate %q: %v", expr, err)
	}
}

func (b *browser) evalString(expr string) string {
	b.t.Helper()
	s, err := chromedp.Run(b.ctx, chromedp.Evaluate[string](expr))
	if err != nil {
		b.t.Fatalf("evaluate %q: %v", expr, err)
	}
	return s
}

func (b *browser) evalInt(expr string) int64 {
	b.t.Helper()
	n, err := chromedp.Run(b.ctx, chromedp.Evaluate[int64](expr))
	if err != nil {
		b.t.Fatalf("evaluate %q: %v", expr, err)
	}
	return n
}

// click presses the element sel names, as a user's mouse does.
func (b *browser) click(sel string) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 30*time.Second)
	defer cancel()
	for {
		err := chromedp.Do(ctx, chromedp.Click(chromedp.CSS(sel)))
		// A state that arrived between finding the node and clicking it re-rendered it; the
		// click failed before any event was sent, so it is tried again on the new node.
		if err != nil && strings.Contains(err.Error(), "Could not find node with given id") && ctx.Err() == nil {
			continue
		}
		if err != nil {
			b.t.Fatalf("click %s: %v", sel, err)
		}
		return
	}
}

// screenshot writes the whole page to a temp file and, with -update-screenshot, to
// docs/dashboard.png.
func (b *browser) screenshot() {
	b.t.Helper()
	png, err := chromedp.Run(b.ctx, chromedp.FullScreenshot(100))
	if err != nil {
		b.t.Fatalf("screenshot: %v", err)
	}
	path := filepath.Join(b.t.TempDir(), "dashboard.png")
	if os.Getenv(screenshotEnv) == "1" {
		path = "../../docs/dashboard.png"
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			b.t.Fatal(err)
		}
	}
	if err := os.WriteFile(path, png, 0o644); err != nil {
		b.t.Fatal(err)
	}
	b.t.Logf("screenshot: %s (%d bytes)", path, len(png))
}
