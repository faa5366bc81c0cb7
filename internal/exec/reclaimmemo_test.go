package exec

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/fencecheck/fencecheck/internal/diag"
	"github.com/fencecheck/fencecheck/internal/gen"
	"github.com/fencecheck/fencecheck/internal/kernel"
	"github.com/fencecheck/fencecheck/internal/model"
	"github.com/fencecheck/fencecheck/internal/rules"
	"github.com/fencecheck/fencecheck/internal/scenariotest"
)

// The FIFO schedule skips quiet reclaim callbacks (reclaimmemo.go); these
// tests check that it changes nothing: the outcome, the step count and
// every finding (rule, position, message, chain, fix) are those of running
// every callback, on the library, the driver family and random designs
// built to make reclaim interact with everything else.

// fifoBoth runs p's FIFO schedule with and without skipping and reports
// any difference; it returns how many callbacks were skipped.
func fifoBoth(t *testing.T, name string, p *kernel.Program) int {
	t.Helper()
	with := Run(p, Options{Schedules: 1, Only: -1})
	without := Run(p, Options{Schedules: 1, Only: -1, noReclaimMemo: true})
	a, b := with.Schedules[0], without.Schedules[0]
	if b.skipped != 0 {
		t.Fatalf("%s: skipped %d callbacks with skipping off", name, b.skipped)
	}
	if a.Outcome != b.Outcome || a.Steps != b.Steps {
		t.Errorf("%s: skipping changed the schedule: %s in %d steps, %s in %d without", name, a.Outcome, a.Steps, b.Outcome, b.Steps)
	}
	fa, fb := fmt.Sprintf("%+v", with.Findings), fmt.Sprintf("%+v", without.Findings)
	if fa != fb {
		t.Errorf("%s: skipping changed the findings:\n%s\nwithout:\n%s", name, fa, fb)
	}
	return a.skipped
}

func TestReclaimSkipChangesNothingOnLibrary(t *testing.T) {
	skipped := 0
	scenariotest.EachLibrary(t, 50, func(path string, sc *model.Scenario) {
		skipped += fifoBoth(t, path, kernel.Compile(sc))
	})
	t.Logf("library: %d callbacks skipped", skipped)
}

func TestReclaimSkipChangesNothingOnDriverFamily(t *testing.T) {
	for _, scale := range []int{1, 2, 3, 5, 8, 13} {
		name := fmt.Sprintf("driver x%d", scale)
		p := scenariotest.Compile(t, name, gen.Driver(scale))
		// From two devices on, most allocation sites find most callbacks
		// quiet: if none is skipped, skipping is broken.
		if n := fifoBoth(t, name, p); scale >= 2 && n == 0 {
			t.Errorf("%s: no callback skipped", name)
		}
	}
}

func TestReclaimSkipChangesNothingOnRandomDesigns(t *testing.T) {
	skipped, hangs := 0, 0
	for seed := uint64(1); seed <= 400; seed++ {
		name := fmt.Sprintf("reclaim%d.yaml", seed)
		p := scenariotest.Compile(t, name, reclaimDesign(seed))
		skipped += fifoBoth(t, name, p)
		if Run(p, Options{Schedules: 1, Only: -1}).Schedules[0].Outcome != "completed" {
			hangs++
		}
	}
	// The generator must exercise both sides: designs whose callbacks are
	// skipped, and designs that hang (where a wrong skip would show).
	if skipped == 0 || hangs == 0 {
		t.Fatalf("random designs exercise too little: %d callbacks skipped, %d hangs", skipped, hangs)
	}
	t.Logf("random designs: %d callbacks skipped, %d hang", skipped, hangs)
}

// reclaimDesign writes a random design in which direct reclaim meets
// everything the skipped callbacks read: shrinkers and notifiers that take
// locks the allocating paths hold, wait on fences jobs signal, evict
// buffers jobs use, zap and flush page tables other paths map, bump
// sequences that read_begin/read_retry loops watch, and allocations under
// every kind of held lock, in several contexts.
func reclaimDesign(seed uint64) string {
	r := rand.New(rand.NewPCG(seed, 0x5eed))
	devs := 1 + r.IntN(3)
	var b strings.Builder
	b.WriteString("fencecheck: 1\nlocks:\n  - {name: G, kind: mutex}\n")
	for d := 0; d < devs; d++ {
		fmt.Fprintf(&b, "  - {name: L%d, kind: mutex}\n  - {name: N%d, kind: rwsem}\n", d, d)
	}
	b.WriteString("devices:\n")
	for d := 0; d < devs; d++ {
		fmt.Fprintf(&b, "  - name: dev%d\n    engines: [{name: gfx%d}]\n    schedulers:\n      - {name: sched%d, engine: gfx%d, entities: [{name: q%d}]}\n", d, d, d, d, d)
	}
	b.WriteString("vms:\n")
	for d := 0; d < devs; d++ {
		fmt.Fprintf(&b, "  - {name: vm%d, device: dev%d}\n", d, d)
	}
	b.WriteString("buffers:\n")
	for d := 0; d < devs; d++ {
		fmt.Fprintf(&b, "  - {name: bo%d_0, device: dev%d}\n  - {name: bo%d_1, device: dev%d}\n", d, d, d, d)
	}
	b.WriteString("userptrs:\n")
	for d := 0; d < devs; d++ {
		fmt.Fprintf(&b, "  - {name: up%d, device: dev%d, vm: vm%d, notifier: inv%d}\n", d, d, d, d)
	}
	b.WriteString("shrinkers:\n")
	for d := 0; d < devs; d++ {
		fmt.Fprintf(&b, "  - {name: shr%d, scan: scan%d}\n", d, d)
	}
	b.WriteString("jobs:\n")
	var jobs []string
	for d := 0; d < devs; d++ {
		for j := 0; j < 1+r.IntN(2); j++ {
			jobs = append(jobs, fmt.Sprintf("job%d_%d", d, j))
			fmt.Fprintf(&b, "  - {name: job%d_%d, entity: q%d, submit: submit%d, run_job: run%d, buffers: [{buffer: vm%d, usage: BOOKKEEP}, {buffer: bo%d_%d, usage: WRITE}]}\n", d, j, d, d, d, d, d, j)
		}
	}
	b.WriteString("paths:\n")
	other := func() int { return r.IntN(devs) }
	for d := 0; d < devs; d++ {
		// The notifier: a random selection of what notifiers do.
		fmt.Fprintf(&b, "  - name: inv%d\n    context: notifier\n    steps:\n", d)
		fmt.Fprintf(&b, "      - {lock: N%d}\n      - {set_seq: up%d}\n      - {unlock: N%d}\n", d, d, d)
		if r.IntN(3) == 0 {
			l := other()
			fmt.Fprintf(&b, "      - {lock: L%d}\n      - {unlock: L%d}\n", l, l)
		}
		if r.IntN(2) == 0 {
			fmt.Fprintf(&b, "      - {wait_resv: vm%d, usage: BOOKKEEP}\n", d)
		}
		zap := fmt.Sprintf("      - {zap_ptes: vm%d}\n", d)
		if r.IntN(2) == 0 {
			zap = fmt.Sprintf("      - {zap_ptes: up%d}\n", d)
		}
		switch flush := fmt.Sprintf("      - {tlb_flush: vm%d}\n", d); r.IntN(4) {
		case 0:
			b.WriteString(zap) // the TLB keeps the entries
		case 1:
			b.WriteString(flush + zap) // flushes what the last run zapped
		default:
			b.WriteString(zap + flush)
		}
		// The shrinker: trylock and evict, sometimes a plain lock.
		// It evicts an idle buffer or the one run_job maps, and sometimes
		// zaps it after evicting (the next run's eviction finds the TLB).
		o, k := other(), r.IntN(2)
		fmt.Fprintf(&b, "  - name: scan%d\n    context: shrinker_scan\n    steps:\n", d)
		fmt.Fprintf(&b, "      - {trylock: bo%d_%d, on_fail: out%d}\n      - {evict: bo%d_%d}\n", o, k, d, o, k)
		if r.IntN(3) == 0 {
			fmt.Fprintf(&b, "      - {zap_ptes: bo%d_%d}\n", o, k)
		}
		fmt.Fprintf(&b, "      - {unlock: bo%d_%d}\n", o, k)
		if r.IntN(4) == 0 {
			fmt.Fprintf(&b, "      - {lock: G}\n      - {unlock: G}\n")
		}
		fmt.Fprintf(&b, "      - {sleep: done, label: out%d}\n", d)
		// Submission: allocations under the vm's resv, the userptr loop.
		fmt.Fprintf(&b, "  - name: submit%d\n    context: ioctl\n    steps:\n", d)
		if r.IntN(2) == 0 {
			fmt.Fprintf(&b, "      - {read_begin: up%d}\n", d)
		}
		held := []string{}
		if r.IntN(3) == 0 {
			l := fmt.Sprintf("L%d", other())
			fmt.Fprintf(&b, "      - {lock: %s}\n", l)
			held = append(held, l)
		}
		fmt.Fprintf(&b, "      - {alloc: GFP_KERNEL}\n      - {ww_acquire_init: x}\n      - {lock: vm%d, ctx: x}\n      - {reserve_fences: vm%d}\n", d, d)
		if r.IntN(3) == 0 {
			fmt.Fprintf(&b, "      - {lock: N%d, mode: read}\n      - {alloc: GFP_KERNEL}\n      - {unlock: N%d}\n", d, d)
		}
		fmt.Fprintf(&b, "      - {alloc: GFP_KERNEL}\n")
		if r.IntN(2) == 0 {
			fmt.Fprintf(&b, "      - {lock: N%d, mode: read}\n      - {read_retry: up%d}\n      - {unlock: N%d}\n", d, d, d)
		}
		for i := len(held) - 1; i >= 0; i-- {
			fmt.Fprintf(&b, "      - {unlock: %s}\n", held[i])
		}
		// run_job maps pages and sometimes takes a lock reclaim takes.
		fmt.Fprintf(&b, "  - name: run%d\n    context: run_job\n    steps:\n      - {map_pages: bo%d_0, vm: vm%d}\n", d, d, d)
		if r.IntN(3) == 0 {
			fmt.Fprintf(&b, "      - {alloc: GFP_KERNEL}\n")
		}
		if r.IntN(3) == 0 {
			fmt.Fprintf(&b, "      - {lock: L%d}\n      - {unlock: L%d}\n", d, d)
		}
	}
	// A worker that allocates holding G.
	worker := r.IntN(2) == 0
	if worker {
		b.WriteString("  - name: w\n    context: worker\n    steps:\n      - {lock: G}\n      - {alloc: GFP_KERNEL}\n      - {unlock: G}\n")
	}
	b.WriteString("workload:\n")
	r.Shuffle(len(jobs), func(i, j int) { jobs[i], jobs[j] = jobs[j], jobs[i] })
	for _, j := range jobs {
		fmt.Fprintf(&b, "  - submit: %s\n", j)
	}
	if worker {
		b.WriteString("  - run: w\n")
	}
	if r.IntN(4) == 0 {
		fmt.Fprintf(&b, "  - munmap: up%d\n", other())
	}
	b.WriteString("  - memory_pressure: true\n")
	return b.String()
}

// shrinkerDesign is a design around one shrinker, scan, whose steps are
// given, on a buffer bo that paths may map in vm0; ev evicts bo. paths and
// workload are the rest (memory pressure is added).
func shrinkerDesign(scan, paths, workload string) string {
	return `fencecheck: 1
devices: [{name: gpu}]
vms: [{name: vm0, device: gpu}]
buffers: [{name: bo, device: gpu}]
shrinkers: [{name: shr, scan: scan}]
paths:
  - {name: scan, context: shrinker_scan, steps: [` + scan + `]}
  - {name: ev, context: ioctl, steps: [{lock: bo}, {evict: bo}, {unlock: bo}]}
` + paths + "workload:\n" + workload + "  - memory_pressure: true\n"
}

// lineOf is the line of src where text first appears.
func lineOf(src, text string) int {
	return strings.Count(src[:strings.Index(src, text)], "\n") + 1
}

// TestReclaimSkipCounterexamples: designs where skipping a callback is
// easy to get wrong; most were found by reviews of earlier versions of
// the rule. Each must give, with skipping, the findings of running every
// callback (fifoBoth), and the golden-rule findings below: how many, and
// for each the eviction it reports (ev's line) and, when asked, the zap
// its chain names (the shrinker's, in the given context).
func TestReclaimSkipCounterexamples(t *testing.T) {
	for _, c := range []struct {
		name, src string
		golden    int    // golden-rule findings FIFO reports
		zapCtx    string // if set: the chain starts at scan's zap, run in this context
		skips     bool   // the design needs a callback skipped to test anything
	}{
		// The shrinker zaps and leaves the TLB unflushed; reclaim runs it
		// three times from an ioctl (the last two equal: it may be
		// skipped), then from a worker, with nothing touching the page
		// tables in between. The worker's run changes nothing but the
		// recorded zapping context, which the report names: the worker's.
		{name: "zapping-context", src: shrinkerDesign(`{zap_ptes: bo}`, `  - {name: mapper, context: ioctl, steps: [{map_pages: bo, vm: vm0}, {alloc: GFP_KERNEL}, {alloc: GFP_NOFS}, {alloc: GFP_NOIO}]}
  - {name: w, context: worker, steps: [{alloc: GFP_KERNEL}]}
`, "  - run: mapper\n  - run: w\n  - run: ev\n"), golden: 1, zapCtx: "worker"},
		// The flush runs before the zap: the first run zaps and leaves the
		// entry in the TLB, the second flushes it. Skipping the second
		// after one quiet run left the eviction a false golden-rule bug.
		{name: "flush-before-zap", src: shrinkerDesign(`{tlb_flush: vm0}, {zap_ptes: bo}`, `  - {name: mapper, context: ioctl, steps: [{map_pages: bo, vm: vm0}, {alloc: GFP_KERNEL}]}
  - {name: w, context: ioctl, steps: [{alloc: GFP_KERNEL}]}
`, "  - run: mapper\n  - run: w\n  - run: ev\n"), golden: 0},
		// The eviction runs before the zap: the second run's eviction finds
		// the zapped entry still in the TLB, a golden-rule bug that skipping
		// it after one quiet run lost (with the one the first run's
		// eviction reports while bo is still mapped).
		{name: "evict-before-zap", src: shrinkerDesign(`{evict: bo}, {zap_ptes: bo}`, `  - {name: m1, context: ioctl, steps: [{map_pages: bo, vm: vm0}, {alloc: GFP_KERNEL}]}
  - {name: m2, context: ioctl, steps: [{map_pages: bo, vm: vm0}, {alloc: GFP_KERNEL}]}
  - {name: w, context: ioctl, steps: [{alloc: GFP_KERNEL}]}
`, "  - run: m1\n  - run: m2\n  - run: w\n"), golden: 2},
		// Another thread's zap records itself as the last zap site; the
		// shrinker's run after it (skipped: two equal runs came before)
		// records the shrinker again, although its zap clears nothing and
		// conflicts with nothing.
		{name: "zap-site", src: shrinkerDesign(`{zap_ptes: bo}`, `  - {name: mapper, context: ioctl, steps: [{map_pages: bo, vm: vm0}, {alloc: GFP_KERNEL}, {alloc: GFP_NOFS}, {alloc: GFP_NOIO}]}
  - {name: x, context: ioctl, steps: [{zap_ptes: bo}]}
  - {name: w, context: ioctl, steps: [{alloc: GFP_KERNEL}]}
`, "  - run: mapper\n  - run: x\n  - run: w\n  - run: ev\n"), golden: 1, zapCtx: "ioctl", skips: true},
		// The shrinker flushes every VM's TLB while no VM exists. A later
		// flush (or zap) of vm0 creates vm0 (hw.MMU.VM), which then gets a
		// zapped entry: the shrinker's next run drops it, so the skip must
		// see the creation ("+vms" against "?vms"), and the eviction is
		// clean.
		{name: "vm-created-by-flush", src: shrinkerDesign(`{tlb_flush: gpu}`, `  - {name: a, context: ioctl, steps: [{alloc: GFP_KERNEL}, {alloc: GFP_NOFS}, {alloc: GFP_NOIO}, {tlb_flush: vm0}, {map_pages: bo, vm: vm0}, {zap_ptes: bo}]}
  - {name: w, context: ioctl, steps: [{alloc: GFP_KERNEL}]}
`, "  - run: a\n  - run: w\n  - run: ev\n"), golden: 0, skips: true},
		{name: "vm-created-by-zap", src: shrinkerDesign(`{tlb_flush: gpu}`, `  - {name: a, context: ioctl, steps: [{alloc: GFP_KERNEL}, {alloc: GFP_NOFS}, {alloc: GFP_NOIO}, {zap_ptes: vm0}, {map_pages: bo, vm: vm0}, {zap_ptes: bo}]}
  - {name: w, context: ioctl, steps: [{alloc: GFP_KERNEL}]}
`, "  - run: a\n  - run: w\n  - run: ev\n"), golden: 0, skips: true},
	} {
		p := scenariotest.Compile(t, c.name+".yaml", c.src)
		if n := fifoBoth(t, c.name, p); c.skips && n == 0 {
			t.Errorf("%s: no callback was skipped; the design needs one skipped", c.name)
		}
		var golden []diag.Diagnostic
		for _, d := range Run(p, Options{Schedules: 1, Only: -1}).Findings {
			if d.Rule == rules.GoldenRule {
				golden = append(golden, d)
			}
		}
		if len(golden) != c.golden {
			t.Errorf("%s: %d golden-rule findings, want %d: %+v", c.name, len(golden), c.golden, golden)
			continue
		}
		if c.zapCtx == "" {
			continue
		}
		d := golden[0]
		evict, zap := lineOf(c.src, "{evict: bo}"), lineOf(c.src, "{name: scan")
		if d.Pos.Line != evict || len(d.Chain) == 0 || d.Chain[0].Path != "scan" || d.Chain[0].Pos.Line != zap || d.Chain[0].Context != c.zapCtx {
			t.Errorf("%s: golden-rule finding at %v with chain %+v; want the eviction (line %d) after scan's zap (line %d) in %s", c.name, d.Pos, d.Chain, evict, zap, c.zapCtx)
		}
	}
}
