package reports

import (
	"fmt"
	"html"
	"html/template"
	"math"
	"strings"
	"time"

	"github.com/leakgate/leakgate/harness"
)

// series are the timeline's counts as drawn: name, colour, value.
var series = []struct {
	name, colour string
	value        func(harness.Point) int
}{
	{"children", "#d95f02", func(p harness.Point) int { return p.Children }},
	{"zombies", "#7570b3", func(p harness.Point) int { return p.Zombies }},
	{"escaped", "#e7298a", func(p harness.Point) int { return p.Escaped }},
	{"fds", "#1b9e77", func(p harness.Point) int { return p.FDs }},
}

// Chart geometry, in SVG user units.
const (
	chartW, chartH             = 640, 240
	padL, padR, padT, padB     = 40, 16, 28, 36
	plotW, plotH               = chartW - padL - padR, chartH - padT - padB
	chartTicks                 = 5
	eventColour, gridlineColor = "#444", "#ddd"
)

// Chart renders a timeline as an inline SVG step chart: children, zombies,
// escaped and fds over time, one line each, with events (first error,
// abort) as labelled vertical lines. It needs no script and no network:
//
//	svg := reports.Chart(tl, []reports.Event{{Name: "abort", At: 2 * time.Second}})
func Chart(tl harness.Timeline, events []Event) template.HTML {
	end, top := extent(tl, events)
	x := func(d time.Duration) float64 { return padL + float64(d)/float64(end)*plotW }
	y := func(v int) float64 { return padT + plotH - float64(v)/float64(top)*plotH }
	var b strings.Builder
	fmt.Fprintf(&b, `<svg class="chart" viewBox="0 0 %d %d" width="%d" height="%d" role="img" aria-label="timeline">`, chartW, chartH, chartW, chartH)
	axes(&b, end, top, x, y)
	for _, s := range series {
		fmt.Fprintf(&b, `<polyline class="series %s" fill="none" stroke="%s" stroke-width="2" points="`, s.name, s.colour)
		for i, p := range tl.Points {
			if i > 0 { // a step: hold the previous value until this sample
				fmt.Fprintf(&b, "%.1f,%.1f ", x(p.At), y(s.value(tl.Points[i-1])))
			}
			fmt.Fprintf(&b, "%.1f,%.1f ", x(p.At), y(s.value(p)))
		}
		b.WriteString(`"><title>` + s.name + `</title></polyline>`)
	}
	for i, e := range events {
		ex := x(e.At)
		fmt.Fprintf(&b, `<line class="event" x1="%.1f" x2="%.1f" y1="%d" y2="%d" stroke="%s" stroke-dasharray="4 3"><title>%s at %s</title></line>`,
			ex, ex, padT, padT+plotH, eventColour, html.EscapeString(e.Name), e.At.Round(time.Millisecond))
		anchor := "start"
		if ex > padL+plotW*0.6 {
			anchor = "end"
		}
		fmt.Fprintf(&b, `<text x="%.1f" y="%d" font-size="11" text-anchor="%s" fill="%s">%s</text>`,
			ex, padT-14+12*(i%2), anchor, eventColour, html.EscapeString(e.Name))
	}
	legend(&b)
	b.WriteString(`</svg>`)
	return template.HTML(b.String())
}

// extent is the chart's time span and largest count (at least 1 each).
func extent(tl harness.Timeline, events []Event) (time.Duration, int) {
	end, top := time.Millisecond, 1
	for _, p := range tl.Points {
		end = max(end, p.At)
		for _, s := range series {
			top = max(top, s.value(p))
		}
	}
	for _, e := range events {
		end = max(end, e.At)
	}
	return end, top
}

func axes(b *strings.Builder, end time.Duration, top int, x func(time.Duration) float64, y func(int) float64) {
	step := niceStep(float64(top) / 4)
	for v := 0.0; v <= float64(top); v += step {
		yy := y(int(v))
		fmt.Fprintf(b, `<line x1="%d" x2="%d" y1="%.1f" y2="%.1f" stroke="%s"/><text x="%d" y="%.1f" font-size="11" text-anchor="end">%d</text>`,
			padL, padL+plotW, yy, yy, gridlineColor, padL-4, yy+4, int(v))
	}
	tstep := time.Duration(niceStep(float64(end) / chartTicks))
	for t := time.Duration(0); t <= end; t += tstep {
		fmt.Fprintf(b, `<text x="%.1f" y="%d" font-size="11" text-anchor="middle">%s</text>`, x(t), padT+plotH+14, t.Round(time.Millisecond))
	}
	fmt.Fprintf(b, `<line x1="%d" x2="%d" y1="%d" y2="%d" stroke="#888"/>`, padL, padL+plotW, padT+plotH, padT+plotH)
}

func legend(b *strings.Builder) {
	for i, s := range series {
		lx := padL + i*90
		fmt.Fprintf(b, `<rect x="%d" y="%d" width="12" height="4" fill="%s"/><text x="%d" y="%d" font-size="11">%s</text>`,
			lx, chartH-10, s.colour, lx+16, chartH-5, s.name)
	}
}

// niceStep rounds raw up to 1, 2 or 5 times a power of ten (at least 1).
func niceStep(raw float64) float64 {
	if raw <= 1 {
		return 1
	}
	pow := math.Pow(10, math.Floor(math.Log10(raw)))
	for _, m := range []float64{1, 2, 5, 10} {
		if m*pow >= raw {
			return m * pow
		}
	}
	return 10 * pow
}
