package explore_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/fencecheck/fencecheck/internal/diag"
	"github.com/fencecheck/fencecheck/internal/exec"
	"github.com/fencecheck/fencecheck/internal/explore"
	"github.com/fencecheck/fencecheck/internal/kernel"
	"github.com/fencecheck/fencecheck/internal/model"
	"github.com/fencecheck/fencecheck/internal/rules"
)

func compile(t *testing.T, src string) *kernel.Program {
	t.Helper()
	sc, ds := model.Load("t.yaml", []byte(src), model.Options{})
	if sc == nil || len(ds) > 0 {
		t.Fatalf("scenario does not load: %+v", ds)
	}
	return kernel.Compile(sc)
}

func byRule(ds []diag.Diagnostic, rule string) []diag.Diagnostic {
	var out []diag.Diagnostic
	for _, d := range ds {
		if d.Rule == rule {
			out = append(out, d)
		}
	}
	return out
}

// A design whose bug needs an exact interleaving, and its fix.
type racy struct {
	name       string
	bad, fixed string
	rule       string
	preempt    string // "N preemption(s)" of the shortest counterexample
}

var racyDesigns = []racy{
	{
		// One preemption: t1 takes A and is preempted; t3 takes C and
		// blocks on A, and switching away from a blocked thread is free
		// (CHESS counts preemptions only), so t2 takes B and blocks on C,
		// and t1 blocks on B. A cycle of any length needs one.
		name: "three-thread deadlock",
		bad: `fencecheck: 1
locks: [{name: A, kind: mutex}, {name: B, kind: mutex}, {name: C, kind: mutex}]
paths:
  - {name: t1, context: ioctl, steps: [{lock: A}, {lock: B}, {unlock: B}, {unlock: A}]}
  - {name: t2, context: ioctl, steps: [{lock: B}, {lock: C}, {unlock: C}, {unlock: B}]}
  - {name: t3, context: ioctl, steps: [{lock: C}, {lock: A}, {unlock: A}, {unlock: C}]}
workload: [{run: t1}, {run: t2}, {run: t3}]
`,
		rule: rules.Hang, preempt: "1 preemption",
	},
	{
		// The revalidation maps the userptr's pages without checking the
		// notifier sequence: if it runs after the invalidation zapped and
		// flushed, the core mm frees pages the GPU maps (R20).
		name: "golden rule: notifier vs revalidation",
		bad: `fencecheck: 1
devices: [{name: gpu}]
vms: [{name: vm, device: gpu}]
locks: [{name: notifier_lock, kind: mutex}]
userptrs: [{name: uptr, device: gpu, vm: vm, notifier: invalidate}]
paths:
  - name: invalidate
    context: notifier
    steps: [{lock: notifier_lock}, {set_seq: uptr}, {zap_ptes: uptr}, {tlb_flush: vm}, {unlock: notifier_lock}]
  - name: rebind
    context: ioctl
    steps: [{lock: notifier_lock}, {map_pages: uptr}, {unlock: notifier_lock}]
workload: [{munmap: uptr}, {run: rebind}]
`,
		rule: rules.GoldenRule, preempt: "1 preemption",
	},
	{
		// Two fences of one context signalled by two threads: the second
		// can overtake the first only if the first thread is preempted
		// after releasing the second (R14).
		name: "out-of-order signal",
		bad: `fencecheck: 1
fences:
  - {name: go}
  - {name: f1, context: ring, seqno: 1}
  - {name: f2, context: ring, seqno: 2}
paths:
  - {name: first, context: ioctl, steps: [{signal: go}, {signal: f1}]}
  - {name: second, context: ioctl, steps: [{wait: go}, {signal: f2}]}
workload: [{run: first}, {run: second}]
`,
		rule: rules.OutOfOrderSignal, preempt: "1 preemption",
	},
}

func init() {
	racyDesigns = append(racyDesigns, racy{
		// B reserves a slot on bo's resv without holding its lock. If A's
		// whole critical section runs between B's reserve and B's add,
		// A's unlock drops B's reservation (dma_resv_unlock resets the
		// reserved slots, R13) and B's add has no slot: B must be
		// preempted after its reserve.
		name: "missing-slot race",
		bad: `fencecheck: 1
devices: [{name: gpu}]
buffers: [{name: bo, device: gpu}]
fences: [{name: fa}, {name: fb}]
paths:
  - name: a
    context: ioctl
    steps: [{lock: bo}, {reserve_fences: bo}, {add_fence: bo, fence: fa}, {unlock: bo}]
  - name: b
    context: ioctl
    steps: [{reserve_fences: bo}, {add_fence: bo, fence: fb}]
workload: [{run: a}, {run: b}]
`,
		rule: rules.MissingSlot, preempt: "1 preemption",
	})
	racyDesigns = append(racyDesigns, racy{
		// The same race when B can only start once A holds the lock (A
		// signals go): A must be preempted after the signal, and B after
		// its reserve, so that A's unlock lands between B's reserve and
		// add. Two preemptions; no interleaving with one shows it.
		name: "missing-slot race needing two preemptions",
		bad: `fencecheck: 1
devices: [{name: gpu}]
buffers: [{name: bo, device: gpu}]
fences: [{name: go}, {name: fa}, {name: fb}]
paths:
  - name: a
    context: ioctl
    steps: [{lock: bo}, {signal: go}, {reserve_fences: bo}, {add_fence: bo, fence: fa}, {unlock: bo}]
  - name: b
    context: ioctl
    steps: [{wait: go}, {reserve_fences: bo}, {add_fence: bo, fence: fb}]
workload: [{run: a}, {run: b}]
`,
		rule: rules.MissingSlot, preempt: "2 preemptions",
	})
	racyDesigns[4].fixed = strings.Replace(racyDesigns[4].bad, "steps: [{wait: go}, {reserve_fences: bo}, {add_fence: bo, fence: fb}]",
		"steps: [{wait: go}, {lock: bo}, {reserve_fences: bo}, {add_fence: bo, fence: fb}, {unlock: bo}]", 1)
	racyDesigns[3].fixed = strings.Replace(racyDesigns[3].bad, "steps: [{reserve_fences: bo}, {add_fence: bo, fence: fb}]",
		"steps: [{lock: bo}, {reserve_fences: bo}, {add_fence: bo, fence: fb}, {unlock: bo}]", 1)
	racyDesigns[0].fixed = strings.Replace(racyDesigns[0].bad, "[{lock: C}, {lock: A}, {unlock: A}, {unlock: C}]", "[{lock: A}, {lock: C}, {unlock: C}, {unlock: A}]", 1)
	racyDesigns[1].fixed = strings.Replace(racyDesigns[1].bad, "steps: [{lock: notifier_lock}, {map_pages: uptr}, {unlock: notifier_lock}]",
		"steps: [{read_begin: uptr}, {lock: notifier_lock}, {read_retry: uptr}, {map_pages: uptr}, {unlock: notifier_lock}]", 1)
	racyDesigns[2].fixed = strings.Replace(racyDesigns[2].bad, "[{signal: go}, {signal: f1}]", "[{signal: f1}, {signal: go}]", 1)
}

// TestRacyDesigns: each bug is found by the bounded explorer at the
// smallest bound that shows it (not below), with that many preemptions in
// its counterexample, by exhaustive DPOR too, and its replay ID reproduces
// it; each fix is proven clean (complete) in both modes.
func TestRacyDesigns(t *testing.T) {
	for _, d := range racyDesigns {
		t.Run(d.name, func(t *testing.T) {
			p := compile(t, d.bad)
			if fifo := exec.Run(p, exec.Options{Schedules: 1, Only: -1}); len(byRule(fifo.Findings, d.rule)) != 0 {
				t.Fatalf("the FIFO schedule already shows it; the test would prove nothing")
			}
			want := int(d.preempt[0] - '0')
			below := explore.Run(p, explore.Options{Bound: want - 1})
			if !below.Complete || len(byRule(below.Findings, d.rule)) != 0 {
				t.Errorf("bound %d: %s, findings %v", want-1, below.Coverage(), below.Findings)
			}
			res := explore.Run(p, explore.Options{Bound: 2})
			fs := byRule(res.Findings, d.rule)
			if !res.Complete || len(fs) != 1 {
				t.Fatalf("bounded: %s, findings %+v", res.Coverage(), res.Findings)
			}
			id := res.Witness[fs[0].Rule+"\x00"+fs[0].Fingerprint+"\x00"+fs[0].Message]
			if id == "" {
				t.Fatalf("no replay ID for %v", fs[0])
			}
			sch, err := explore.Replay(p, id)
			if err != nil || len(byRule(sch.Findings, d.rule)) != 1 {
				t.Fatalf("replaying %s: %v %+v", id, err, sch)
			}
			if got := sch.Outcome; !strings.Contains(got, d.preempt) {
				t.Errorf("counterexample %s is not the shortest: %s, want %s", id, got, d.preempt)
			}
			// The default exploration (exhaustive) shows it too, with an
			// interleaving of as few preemptions as the bounded search's.
			ex := explore.Run(p, explore.Options{Exhaustive: true})
			efs := byRule(ex.Findings, d.rule)
			if !ex.Complete || len(efs) != 1 {
				t.Fatalf("exhaustive: %s, findings %+v", ex.Coverage(), ex.Findings)
			}
			eid := ex.Witness[efs[0].Rule+"\x00"+efs[0].Fingerprint+"\x00"+efs[0].Message]
			esch, err := explore.Replay(p, eid)
			if err != nil || len(byRule(esch.Findings, d.rule)) != 1 || !strings.Contains(esch.Outcome, d.preempt) {
				t.Errorf("exhaustive counterexample %s: %v, want %s: %+v", eid, err, d.preempt, esch)
			}
			fixed := compile(t, d.fixed)
			for _, opt := range []explore.Options{{Bound: 2}, {Exhaustive: true}} {
				r := explore.Run(fixed, opt)
				if !r.Complete || len(r.Findings) != 0 {
					t.Errorf("fixed (%+v): %s, findings %+v", opt, r.Coverage(), r.Findings)
				}
			}
		})
	}
}

// TestExhaustiveFindsWhatRandomFinds: on every library scenario that the
// exhaustive explorer completes, each finding of 64 random schedules is
// among its findings (DPOR may not prune an interleaving that matters).
func TestExhaustiveFindsWhatRandomFinds(t *testing.T) {
	files, _ := filepath.Glob("../../scenarios/*/*.yaml")
	checked := 0
	for _, f := range files {
		data, _ := os.ReadFile(f)
		sc, ds := model.Load(f, data, model.Options{})
		if sc == nil || len(ds) > 0 {
			t.Fatal(f, ds)
		}
		p := kernel.Compile(sc)
		ex := explore.Run(p, explore.Options{Exhaustive: true, Budget: 1500, Invariants: true})
		for _, v := range ex.Violations {
			t.Errorf("%s: %s", f, v)
		}
		if !ex.Complete {
			continue
		}
		checked++
		got := map[string]bool{}
		for _, d := range ex.Findings {
			got[d.Rule+"\x00"+d.Fingerprint+"\x00"+d.Pos.String()] = true
		}
		rnd := exec.Run(p, exec.Options{Schedules: 64, Seed: 11, Only: -1})
		for _, d := range rnd.Findings {
			if d.Rule == rules.Hang && d.Fingerprint == "" {
				continue
			}
			if !got[d.Rule+"\x00"+d.Fingerprint+"\x00"+d.Pos.String()] {
				t.Errorf("%s: random schedules find %s (%s) that exhaustive exploration (%s) missed", f, d.Rule, d.Message, ex.Coverage())
			}
		}
	}
	if checked < 60 {
		t.Fatalf("only %d library scenarios completed", checked)
	}
}

// TestTooDeepIsSaid: an execution longer than the depth cap stops the
// exploration with a coverage line that says so (and why).
func TestTooDeepIsSaid(t *testing.T) {
	p := compile(t, racyDesigns[0].bad)
	r := explore.Run(p, explore.Options{Exhaustive: true, MaxDepth: 3})
	if r.Complete || !strings.Contains(r.Coverage(), "not explored: an execution has more than 3 steps") {
		t.Fatalf("%s", r.Coverage())
	}
}

// TestNotifierHeavyDesignsComplete: designs whose every reclaiming
// allocation runs the userptr notifier inline (case 25), and a self-test
// of seven threads whose interrupt-state steps matter to the graph only,
// explore completely within the budget: footprints no coarser than the
// state (no-op zaps and flushes only read, invalidation counts are
// commuting updates, local_irq is private). Both designs are clean.
func TestNotifierHeavyDesignsComplete(t *testing.T) {
	for _, f := range []string{
		"../../scenarios/cases/25-vm-bind-userptr-safe-design.yaml",
		"../../scenarios/lockdep-selftest/other/hardirq-deadlock-softirq-not-deadlock.yaml",
	} {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		sc, ds := model.Load(f, data, model.Options{})
		if sc == nil || len(ds) > 0 {
			t.Fatal(f, ds)
		}
		r := explore.Run(kernel.Compile(sc), explore.Options{Exhaustive: true, Budget: 2000})
		if !r.Complete {
			t.Errorf("%s: %s", f, r.Coverage())
		}
		if len(r.Findings) != 0 {
			t.Errorf("%s: the executor finds %+v", f, r.Findings)
		}
	}
}

// TestBudgetIsSaid: an exploration stopped by either budget says so and
// is not complete; the same design within the budget is.
func TestBudgetIsSaid(t *testing.T) {
	p := compile(t, racyDesigns[0].bad)
	full := explore.Run(p, explore.Options{Exhaustive: true})
	if !full.Complete || full.Total < 3 {
		t.Fatalf("the design explores completely in %d interleavings: %s", full.Total, full.Coverage())
	}
	for _, opt := range []explore.Options{
		{Exhaustive: true, Budget: 2},
		{Exhaustive: true, StepBudget: 5},
		{Bound: 2, Budget: 2},
	} {
		r := explore.Run(p, opt)
		if r.Complete || !strings.HasPrefix(r.Coverage(), "stopped at budget after ") {
			t.Errorf("%+v: complete=%v, %s", opt, r.Complete, r.Coverage())
		}
	}
}

// TestFootprintGapsFromTheAudit: two steps declared less than they touch,
// so exhaustive exploration treated them as independent of steps they
// race with and missed bugs that random schedules found (an audit of
// every step kind's footprint against its transition). Each design has
// one bug; exhaustive exploration must find it.
func TestFootprintGapsFromTheAudit(t *testing.T) {
	for _, c := range []struct{ name, src, rule string }{
		{
			// A locked section run as one transition ended in a put that
			// drops the last reference: the finalizer's free_pages ran in
			// the section's transition, outside its footprint.
			"section with a finalizer", `fencecheck: 1
locks:
  - {name: L, kind: mutex}
devices:
  - {name: gpu}
buffers:
  - {name: bo, device: gpu, free: bo_free}
paths:
  - name: bo_free
    context: process
    param: obj
    steps:
      - free_pages: $obj
      - sleep: x
  - name: dropper
    context: ioctl
    steps:
      - sleep: start
      - lock: L
      - put: bo
      - unlock: L
  - name: mapper
    context: ioctl
    steps:
      - map_pages: bo
workload:
  - run: dropper
  - run: mapper
`, rules.GoldenRule,
		},
		{
			// Signalling f1 signals the array arr (its only component) in
			// the same step, and arr shares a fence context with d: the
			// signal's footprint named only f1's context.
			"composite signal", `fencecheck: 1
fences:
  - {name: f1}
  - {name: arr, array: [f1], context: tl, seqno: 1}
  - {name: d, context: tl, seqno: 2}
paths:
  - {name: t1, context: ioctl, signals: [f1], steps: [{signal: f1}]}
  - {name: td, context: ioctl, signals: [d], steps: [{signal: d}]}
workload:
  - run: t1
  - run: td
`, rules.OutOfOrderSignal,
		},
	} {
		p := compile(t, c.src)
		ex := explore.Run(p, explore.Options{Exhaustive: true})
		if !ex.Complete {
			t.Fatalf("%s: exploration did not complete: %s", c.name, ex.Coverage())
		}
		if len(byRule(ex.Findings, c.rule)) == 0 {
			t.Errorf("%s: exhaustive exploration (%s) misses %s: %+v", c.name, ex.Coverage(), c.rule, ex.Findings)
		}
	}
}
