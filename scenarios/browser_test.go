package scenarios_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/leakgate/leakgate/harness"
	"github.com/leakgate/leakgate/reports"
)

// Environment of the browser spec.
const (
	// envBrowser: "require" fails the browser spec when Chromium is
	// missing instead of skipping it (.ci/run sets it).
	envBrowser = "LEAKGATE_BROWSER"
	// envBrowserPage names the index.html to check (make browser sets it
	// to reports/out/index.html); unset, the spec renders its own from the
	// recorded report reports/testdata/scenarios.json.
	envBrowserPage = "LEAKGATE_BROWSER_PAGE"
	// chromiumBin is Debian's chromium (.ci/install-browser).
	chromiumBin = "/usr/bin/chromium"
)

// browserPart is the browser spec's optional part: Debian's chromium.
var browserPart = &optionalPart{what: "the browser", env: envBrowser, family: "browser"}

// screenshotDir is where the spec saves its screenshots: reports/out.
func screenshotDir() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "reports", "out")
}

var _ = Describe("the HTML report in a real browser", Label("browser"), func() {
	It("loads without console errors, shows every family's grid, and opens a leaky cell's chart and tree", SpecTimeout(2*time.Minute), func(ctx SpecContext) {
		if _, err := exec.LookPath(chromiumBin); err != nil {
			browserPart.require(fmt.Sprintf("%s is missing: install Debian's chromium (make install-browser)", chromiumBin))
		}
		s := newSpecRun(ctx, "browser")
		page, families := browserPage(s.dir)

		By("opening " + page + " in headless Chromium")
		c, err := startChromium(chromiumBin, s.dir, append(os.Environ(), s.run.Env()))
		Expect(err).NotTo(HaveOccurred())
		closed := false
		DeferCleanup(func() {
			if !closed {
				_ = c.close(10 * time.Second)
			}
		})
		session := openPage(ctx, c, "file://"+page)

		By("checking every family's grid is there, with one cell per spec")
		for _, f := range families {
			cells := 0
			for _, g := range f.Grids {
				for _, r := range g.Rows {
					for _, spec := range r.Cells {
						if spec != nil {
							cells++
						}
					}
				}
			}
			got := evaluate[[2]int](ctx, c, session, fmt.Sprintf(`(() => {
				const f = [...document.querySelectorAll("section.family")].find(s => s.dataset.family === %q);
				return f ? [f.querySelectorAll("table.grid").length, f.querySelectorAll("table.grid a.cell").length] : [0, 0];
			})()`, f.Name))
			Expect(got).To(Equal([2]int{len(f.Grids), cells}), "family %q: grids and cells", f.Name)
		}
		shoot(ctx, c, session, "report-grid.png", true)

		By("clicking a leaky cell: its detail shows the timeline chart and the process tree")
		id := evaluate[string](ctx, c, session, `(() => {
			for (const a of document.querySelectorAll("a.cell:not([data-leaked=clean]):not([data-leaked=none])")) {
				const d = document.getElementById(a.hash.slice(1));
				if (d && d.querySelector("svg.chart polyline") && d.querySelector("ul.tree li")) { a.click(); return d.id; }
			}
			return "";
		})()`)
		Expect(id).NotTo(BeEmpty(), "a leaky cell whose detail has a chart and a tree")
		Eventually(func() bool {
			return evaluate[bool](ctx, c, session, fmt.Sprintf(`(() => {
				const d = document.getElementById(%q), r = d.getBoundingClientRect();
				return location.hash === "#" + d.id && getComputedStyle(d).display !== "none" && r.width > 300 && r.height > 300;
			})()`, id))
		}).WithContext(ctx).WithTimeout(10*time.Second).Should(BeTrue(), "the detail of %s is shown", id)
		shown := evaluate[map[string]int](ctx, c, session, fmt.Sprintf(`(() => {
			const d = document.getElementById(%q), box = e => e ? e.getBoundingClientRect() : {width: 0, height: 0};
			const chart = d.querySelector("svg.chart");
			return {series: d.querySelectorAll("svg.chart polyline.series").length, chartW: Math.round(box(chart).width),
				chartH: Math.round(box(chart).height), procs: d.querySelectorAll("ul.tree li.proc").length,
				treeH: Math.round(box(d.querySelector("ul.tree")).height)};
		})()`, id))
		Expect(shown).To(And(HaveKeyWithValue("series", 4), HaveKeyWithValue("procs", BeNumerically(">", 0))), "chart series and tree nodes")
		Expect(shown["chartW"]).To(BeNumerically(">", 200), "the chart is drawn")
		Expect(shown["treeH"]).To(BeNumerically(">", 20), "the tree is drawn")
		shoot(ctx, c, session, "report-cell.png", false)

		Expect(c.consoleErrors()).To(BeEmpty(), "console errors")

		By("closing Chromium: it leaves nothing behind")
		closed = true
		Expect(c.close(10 * time.Second)).To(Succeed())
		// Its crash handlers are daemons outside its group: they quit when
		// it is gone. Nothing of the run may remain.
		Eventually(func(g Gomega) {
			now, err := harness.Take(harness.WithMarker(s.run.ID))
			g.Expect(err).NotTo(HaveOccurred())
			l := harness.Diff(s.before, now)
			g.Expect(l.Empty()).To(BeTrue(), "chromium's processes and our pipes are gone:\n%s", l)
		}).WithContext(ctx).WithTimeout(20 * time.Second).Should(Succeed())
		s.stopSampling() // the timeline: chromium's processes while it ran
	})
})

// browserPage is the page to check and the families it must show: the
// file LEAKGATE_BROWSER_PAGE names (its families read from scenarios.json
// beside it), or a page rendered into dir from the recorded report.
func browserPage(dir string) (string, []reports.Family) {
	if page := os.Getenv(envBrowserPage); page != "" {
		results, err := reports.ReadAll(filepath.Join(filepath.Dir(page), "scenarios.json"))
		Expect(err).NotTo(HaveOccurred(), "the report %s was made from", page)
		return page, reports.Families(results.Specs)
	}
	_, file, _, _ := runtime.Caller(0)
	results, err := reports.ReadAll(filepath.Join(filepath.Dir(file), "..", "reports", "testdata", "scenarios.json"))
	Expect(err).NotTo(HaveOccurred())
	page := filepath.Join(dir, "index.html")
	Expect(reports.WriteHTML(page, results)).To(Succeed())
	return page, reports.Families(results.Specs)
}

// openPage attaches to Chromium's first page, enables the events the spec
// reads (exceptions, console, log) and loads url.
func openPage(ctx context.Context, c *chromium, url string) string {
	var targets struct {
		TargetInfos []struct{ TargetID, Type string } `json:"targetInfos"`
	}
	Eventually(func() int {
		Expect(c.call(ctx, "", "Target.getTargets", struct{}{}, &targets)).To(Succeed())
		n := 0
		for _, t := range targets.TargetInfos {
			if t.Type == "page" {
				n++
			}
		}
		return n
	}).WithContext(ctx).WithTimeout(30*time.Second).Should(BeNumerically(">", 0), "chromium opened a page")
	var target string
	for _, t := range targets.TargetInfos {
		if t.Type == "page" {
			target = t.TargetID
			break
		}
	}
	var attached struct{ SessionID string }
	Expect(c.call(ctx, "", "Target.attachToTarget", map[string]any{"targetId": target, "flatten": true}, &attached)).To(Succeed())
	for _, m := range []string{"Runtime.enable", "Log.enable", "Page.enable"} {
		Expect(c.call(ctx, attached.SessionID, m, struct{}{}, nil)).To(Succeed())
	}
	from := c.eventCount()
	var nav struct{ ErrorText string }
	Expect(c.call(ctx, attached.SessionID, "Page.navigate", map[string]any{"url": url}, &nav)).To(Succeed())
	Expect(nav.ErrorText).To(BeEmpty(), "navigating to %s", url)
	_, err := c.waitEvent(ctx, "Page.loadEventFired", from)
	Expect(err).NotTo(HaveOccurred())
	return attached.SessionID
}

// evaluate runs a JavaScript expression in the page and returns its value.
func evaluate[T any](ctx context.Context, c *chromium, session, expr string) T {
	var res struct {
		Result           struct{ Value json.RawMessage }
		ExceptionDetails json.RawMessage
	}
	Expect(c.call(ctx, session, "Runtime.evaluate", map[string]any{"expression": expr, "returnByValue": true}, &res)).To(Succeed())
	Expect(res.ExceptionDetails).To(BeEmpty(), "evaluating %s", expr)
	var v T
	Expect(json.Unmarshal(res.Result.Value, &v)).To(Succeed(), "the value of %s: %s", expr, res.Result.Value)
	return v
}

// shoot saves a PNG screenshot under reports/out: the viewport, or the
// whole page (up to 8000 px high).
func shoot(ctx context.Context, c *chromium, session, name string, whole bool) {
	params := map[string]any{"format": "png"}
	if whole {
		var m struct {
			CSSContentSize struct{ Width, Height float64 } `json:"cssContentSize"`
		}
		Expect(c.call(ctx, session, "Page.getLayoutMetrics", struct{}{}, &m)).To(Succeed())
		params["captureBeyondViewport"] = true
		params["clip"] = map[string]any{"x": 0, "y": 0, "width": m.CSSContentSize.Width, "height": min(m.CSSContentSize.Height, 8000), "scale": 1}
	}
	var shot struct{ Data string }
	Expect(c.call(ctx, session, "Page.captureScreenshot", params, &shot)).To(Succeed())
	png, err := base64.StdEncoding.DecodeString(shot.Data)
	Expect(err).NotTo(HaveOccurred())
	Expect(os.MkdirAll(screenshotDir(), 0o755)).To(Succeed())
	path := filepath.Join(screenshotDir(), name)
	Expect(os.WriteFile(path, png, 0o644)).To(Succeed())
	AddReportEntry("screenshot", fmt.Sprintf("%s (%d bytes)", path, len(png)))
}
