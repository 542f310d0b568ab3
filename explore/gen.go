package explore

import (
	"math/rand/v2"
	"path"
	"slices"
	"strings"
	"time"

	"github.com/leakgate/leakgate/faults"
)

// Space is what plans are drawn over: the handles of the objects a subject
// reads or writes (relative to the bucket root, as fakecli's journal names
// them) and the most rules a plan may hold.
//
//	sp := explore.Space{Handles: []string{"metadata/e0-7.meta", "e0-.a8af/0-.chunk"}, MaxRules: 3}
//	plan := explore.Generate(sp, 42, 7) // run 7 of seed 42: always the same plan
type Space struct {
	Handles  []string // sorted; may be empty (plans then target listings, categories and everything)
	MaxRules int      // 1..MaxRules rules per plan; 0 means DefaultMaxRules
	// Network limits plans to faults objserver can act out on the wire:
	// no exit, no truncate with exit=.
	Network bool
	// Writes aims plans at the write path: uploads (op=write) and the
	// other calls of a backup (op=other, op=move) rather than reads.
	Writes bool
}

// DefaultMaxRules is Space.MaxRules when it is 0.
const DefaultMaxRules = 3

// generator draws one plan from one random stream.
type generator struct {
	r  *rand.Rand
	sp Space
}

// Generate draws run index's plan of seed from sp: 1 to sp.MaxRules rules
// of the fault language, each of a random kind with random parameters and a
// random target (the metadata listing, metadata files, manifests, chunks,
// uploads, one handle, or everything; sometimes a call range or a
// probability). The same (sp, seed, index) always gives the same plan, in
// canonical form (its String parses back to an equal plan).
//
//	plan := explore.Generate(sp, 1, 0)
//	fmt.Println(plan) // e.g. "stall after=4KiB for=1s on=\"*/8-.chunk\"; exit code=3 after=none op=list"
func Generate(sp Space, seed int64, index int) *faults.Plan {
	g := generator{r: rand.New(rand.NewPCG(uint64(seed), uint64(index))), sp: sp}
	max := sp.MaxRules
	if max <= 0 {
		max = DefaultMaxRules
	}
	n := 1 + g.r.IntN(max)
	p := &faults.Plan{}
	for range n {
		p.Rules = append(p.Rules, g.rule())
	}
	return canonical(p)
}

// canonical parses p's text back, so that a plan built by hand compares
// equal to what a person pasting its text gets. A plan that does not parse
// is a bug in the generator or shrinker: it panics.
func canonical(p *faults.Plan) *faults.Plan {
	q, err := faults.Parse("plan", p.String())
	if err != nil {
		panic("explore: generated plan does not parse: " + err.Error())
	}
	return q
}

// kinds draws a fault of each kind; the order is fixed (faults.Kinds is
// sorted), so a seed means the same thing from run to run.
var kinds = map[string]func(g *generator) faults.Fault{
	"corrupt": func(g *generator) faults.Fault {
		modes := []faults.CorruptMode{faults.CorruptPayload, faults.CorruptTrailing, faults.CorruptLength}
		return faults.Corrupt{Record: 1 + g.r.IntN(4), Mode: pick(g, modes)}
	},
	"exit": func(g *generator) faults.Fault {
		after := pick(g, []faults.ExitPoint{faults.AfterAll, faults.AfterNone, 100, 4 << 10})
		return faults.Exit{Code: pick(g, []int{1, 2, 3, 141}), After: after}
	},
	"reset": func(g *generator) faults.Fault { return faults.Reset{After: pick(g, []faults.Size{0, 100, 1 << 10})} },
	"slow": func(g *generator) faults.Fault {
		return faults.Slow{Rate: pick(g, []faults.Size{16 << 10, 64 << 10, 1 << 20})}
	},
	"stall": func(g *generator) faults.Fault {
		return faults.Stall{After: pick(g, []faults.Size{0, 512, 4 << 10}),
			For: pick(g, []time.Duration{100 * time.Millisecond, time.Second, faults.Forever})}
	},
	"status": func(g *generator) faults.Fault { return faults.Status{Code: pick(g, []int{403, 404, 500, 503})} },
	"truncate": func(g *generator) faults.Fault {
		t := faults.Truncate{Exit: pick(g, []int{0, 0, 1, 3})}
		if g.r.IntN(2) == 0 {
			t.Record = 1 + g.r.IntN(4)
		} else {
			t.After = pick(g, []faults.Size{1, 100, 1 << 10, 4 << 10})
		}
		return t
	},
}

func pick[T any](g *generator, xs []T) T { return xs[g.r.IntN(len(xs))] }

// rule draws one rule: a kind, a target, sometimes a call range and a
// probability.
func (g *generator) rule() faults.Rule {
	names := faults.Kinds()
	if g.sp.Network {
		names = slices.DeleteFunc(names, func(k string) bool { return k == "exit" })
	}
	r := faults.Rule{Fault: kinds[pick(g, names)](g)}
	if t, ok := r.Fault.(faults.Truncate); ok && g.sp.Network {
		t.Exit = 0
		r.Fault = t
	}
	g.target(&r)
	if g.r.IntN(5) == 0 {
		from := 1 + g.r.IntN(2*len(g.sp.Handles)+2)
		r.Calls = []faults.Range{{From: from, To: from + g.r.IntN(4)}}
	}
	if g.r.IntN(5) == 0 {
		r.P, r.Seed = 0.5, int64(g.r.IntN(100))
	}
	return r
}

// Target categories a rule may aim at, by glob over handles.
var categories = []string{"*.meta", "*.manifest", "*.chunk"}

// target sets r's on= and op=: the metadata listing, uploads, a category of
// reads, one handle, or every read.
func (g *generator) target(r *faults.Rule) {
	if g.sp.Writes {
		g.writeTarget(r)
		return
	}
	switch g.r.IntN(6) {
	case 0:
		r.Ops = []faults.Op{faults.OpList}
	case 1:
		r.Ops = []faults.Op{faults.OpWrite}
		if g.r.IntN(2) == 0 {
			r.On = pick(g, categories)
		}
	case 2, 3:
		r.On = pick(g, categories)
	case 4:
		if len(g.sp.Handles) > 0 {
			r.On = handleGlob(pick(g, g.sp.Handles))
		}
	}
}

// writeTarget sets r's on= and op= for the write path: uploads of a
// category or of one handle, or the backup's other calls.
func (g *generator) writeTarget(r *faults.Rule) {
	r.Ops = []faults.Op{faults.OpWrite}
	switch g.r.IntN(5) {
	case 0:
		r.Ops = []faults.Op{pick(g, []faults.Op{faults.OpOther, faults.OpMove})}
	case 1, 2:
		r.On = pick(g, categories)
	case 3:
		if len(g.sp.Handles) > 0 {
			r.On = handleGlob(pick(g, g.sp.Handles))
		}
	}
}

// handleGlob is a glob matching handle h however the config prefixes it
// (a sub dir, a bucket name): "*" and the handle's last two path elements,
// with glob metacharacters escaped.
func handleGlob(h string) string {
	dir, base := path.Split(strings.TrimSuffix(h, "/"))
	tail := base
	if d := path.Base(dir); dir != "" && d != "." && d != "/" {
		tail = d + "/" + base
	}
	var b strings.Builder
	b.WriteString("*")
	for _, c := range tail {
		if strings.ContainsRune(`*?[]\`, c) {
			b.WriteByte('\\')
		}
		b.WriteRune(c)
	}
	return b.String()
}

// SortedHandles returns hs sorted, without duplicates.
func SortedHandles(hs []string) []string {
	out := slices.Clone(hs)
	slices.Sort(out)
	return slices.Compact(out)
}
