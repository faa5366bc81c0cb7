package graph_test

import (
	"fmt"
	"regexp"
	"strings"
	"testing"

	"github.com/fencecheck/fencecheck/internal/diag"
	"github.com/fencecheck/fencecheck/internal/graph"
	"github.com/fencecheck/fencecheck/internal/group"
	"github.com/fencecheck/fencecheck/internal/kernel"
	"github.com/fencecheck/fencecheck/internal/model"
	"github.com/fencecheck/fencecheck/internal/rules"
)

func analyse(t *testing.T, src string, mode graph.Mode) (*graph.Graph, []diag.Diagnostic) {
	t.Helper()
	sc, ds := model.Load("t.yaml", []byte("fencecheck: 1\n"+src), model.Options{})
	if sc == nil || len(ds) > 0 {
		t.Fatalf("scenario does not load: %+v", ds)
	}
	g, fs := graph.Build(kernel.Compile(sc), mode)
	return g, append(fs, g.Findings("t.yaml")...)
}

func rulesOf(ds []diag.Diagnostic) string {
	var out []string
	for _, d := range ds {
		s := d.Rule
		if len(d.Cycle) > 0 {
			s += "[" + strings.Join(d.Cycle, ",") + "]"
		}
		out = append(out, s)
	}
	return strings.Join(out, " ")
}

const twoLocks = `locks:
  - {name: A, kind: KIND}
  - {name: B, kind: KIND}
paths:
  - name: t1
    context: ioctl
    steps: [{lock: A, MODE1}, {lock: B, MODE2}, {unlock: B}, {unlock: A}]
  - name: t2
    context: ioctl
    steps: [{lock: B, MODE3}, {lock: A, MODE4}, {unlock: A}, {unlock: B}]
`

func variant(kind string, modes ...string) string {
	s := strings.ReplaceAll(twoLocks, "KIND", kind)
	for i, m := range modes {
		s = strings.Replace(s, ", MODE"+string(rune('1'+i)), m, 1)
	}
	return s
}

// TestLockdepSemantics checks the acquisition rules of K16 on ABBA
// variants: which ones lockdep reports and which it must not.
func TestLockdepSemantics(t *testing.T) {
	cases := []struct {
		name  string
		src   string
		cycle bool
	}{
		{"mutex ABBA", variant("mutex", "", "", "", ""), true},
		{"trylock adds no edge", strings.Replace(variant("mutex", "", "", "", ""), "{lock: A}, {unlock: A}, {unlock: B}", "{trylock: A}, {unlock: A}, {unlock: B}", 1), false},
		{"rwsem read/read is still a deadlock (non-recursive readers)", variant("rwsem", ", mode: read", ", mode: read", ", mode: read", ", mode: read"), true},
		{"recursive rwlock readers: R-R inversion is fine", variant("rwlock", ", mode: recursive_read", ", mode: recursive_read", ", mode: recursive_read", ", mode: recursive_read"), false},
		// Queued rwlocks: read_lock() outside interrupts is a non-recursive
		// reader (read_lock_is_recursive()), so R-R inversion is reported.
		{"queued rwlock readers in process context are not recursive", variant("rwlock", ", mode: read", ", mode: read", ", mode: read", ", mode: read"), true},
		{"rwlock read vs write inversion deadlocks", variant("rwlock", ", mode: read", "", "", ""), true},
		{"subclasses are distinct classes: A->B/1 and B->A/1 do not invert", strings.ReplaceAll(variant("mutex", "", ", subclass: 1", "", ""), "{lock: B}, {lock: A}", "{lock: B}, {lock: A, subclass: 1}"), false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			for _, mode := range []graph.Mode{graph.Precise, graph.Lockdep} {
				_, ds := analyse(t, c.src, mode)
				got := false
				for _, d := range ds {
					if d.Rule == rules.Cycle {
						got = true
					}
				}
				if got != c.cycle {
					t.Errorf("%s mode: cycle=%v, want %v (%s)", mode, got, c.cycle, rulesOf(ds))
				}
			}
		})
	}
}

func TestRecursiveLocking(t *testing.T) {
	src := `locks: [{name: A, kind: mutex}, {name: R, kind: rwlock}]
buffers: [{name: bo1}, {name: bo2}]
paths:
  - name: aa
    context: ioctl
    steps: [{lock: A}, {lock: A}, {unlock: A}, {unlock: A}]
  - name: nested
    context: ioctl
    steps: [{lock: A}, {lock: A, subclass: 1}, {unlock: A}, {unlock: A}]
  - name: rr
    context: ioctl
    steps: [{lock: R, mode: recursive_read}, {lock: R, mode: recursive_read}, {unlock: R}, {unlock: R}]
  - name: ww
    context: ioctl
    steps: [{ww_acquire_init: c}, {lock: bo1, ctx: c}, {lock: bo2, ctx: c}, {ww_acquire_fini: c}]
  - name: ww_no_ctx
    context: ioctl
    steps: [{lock: bo1}, {lock: bo2}, {unlock: bo2}, {unlock: bo1}]
`
	_, ds := analyse(t, src, graph.Lockdep)
	var aa []int
	for _, d := range ds {
		if d.Rule == rules.RecursiveLocking {
			aa = append(aa, d.Pos.Line)
		}
	}
	// Line 7: A twice. Line 19: two resvs without a ww context (same class,
	// no nest_lock). Not: subclass (10), recursive read (13), ww ctx (16).
	if len(aa) != 2 || aa[0] != 7 || aa[1] != 19 {
		t.Errorf("recursive locking at lines %v, want [7 19]; all: %s", aa, rulesOf(ds))
	}
	for _, d := range ds {
		if d.Rule == rules.WWMisuse {
			t.Errorf("ww misuse reported without an active context: %s", d.Message)
		}
	}
}

// TestSignallingSectionIsATrylock: entering a section under a lock makes no
// edge (case 29); waiting on the fence under the lock does (C1).
func TestSignallingSectionIsATrylock(t *testing.T) {
	base := `locks: [{name: L, kind: mutex}]
fences: [{name: f}]
paths:
  - name: upper
    context: ioctl
    steps: [{lock: L}, {OP: f}, {unlock: L}]
  - name: signaller
    context: worker
    signals: [f]
    steps: [{lock: L}, {unlock: L}]
`
	for _, mode := range []graph.Mode{graph.Precise, graph.Lockdep} {
		_, ds := analyse(t, strings.Replace(base, "{OP: f}", "{begin_signalling: f}, {end_signalling: f}", 1), mode)
		if len(ds) != 0 {
			t.Errorf("%s: begin_signalling under L must add no dependency: %s", mode, rulesOf(ds))
		}
		_, ds = analyse(t, strings.Replace(base, "{OP: f}", "{wait: f}", 1), mode)
		if len(ds) != 1 || ds[0].Rule != rules.Cycle || !strings.Contains(ds[0].Canonical, "C1") {
			t.Errorf("%s: wait under L must be C1: %s", mode, rulesOf(ds))
		}
	}
}

// TestGFPTable follows K11: which allocations in a signalling section
// are cycles.
func TestGFPTable(t *testing.T) {
	for gfp, want := range map[string]bool{
		"GFP_KERNEL": true, "GFP_NOFS": true, "GFP_NOIO": true, "GFP_KERNEL | __GFP_NORETRY": true,
		"GFP_NOWAIT": false, "GFP_ATOMIC": false, "__GFP_KSWAPD_RECLAIM": false, "GFP_KERNEL | __GFP_NOLOCKDEP": false,
	} {
		src := "fences: [{name: f}]\npaths:\n  - {name: p, context: worker, signals: [f], steps: [{alloc: \"" + gfp + "\"}]}\n"
		for _, mode := range []graph.Mode{graph.Precise, graph.Lockdep} {
			_, ds := analyse(t, src, mode)
			if got := len(ds) > 0; got != want {
				t.Errorf("%s in a signalling section (%s mode): cycle=%v, want %v %s", gfp, mode, got, want, rulesOf(ds))
			}
		}
	}
	// A memalloc_noreclaim scope makes GFP_KERNEL safe; nofs does not.
	scoped := "fences: [{name: f}]\npaths:\n  - {name: p, context: worker, signals: [f], steps: [{memalloc_save: SCOPE}, {alloc: GFP_KERNEL}, {memalloc_restore: SCOPE}]}\n"
	if _, ds := analyse(t, strings.ReplaceAll(scoped, "SCOPE", "noreclaim"), graph.Lockdep); len(ds) != 0 {
		t.Errorf("noreclaim scope: %s", rulesOf(ds))
	}
	if _, ds := analyse(t, strings.ReplaceAll(scoped, "SCOPE", "nofs"), graph.Lockdep); len(ds) == 0 {
		t.Error("nofs scope still direct-reclaims and must be reported (R4)")
	}
}

func TestSleepInAtomic(t *testing.T) {
	src := `locks: [{name: M, kind: mutex}, {name: S, kind: spinlock}, {name: SI, kind: spinlock, irq_safe: true}]
fences: [{name: f}]
paths:
  - name: cb
    context: fence_callback
    signals: [f]
    steps: [{lock: SI}, {unlock: SI}, {lock: S}, {unlock: S}, {lock: M}, {unlock: M}, {alloc: GFP_ATOMIC}, {alloc: GFP_KERNEL}]
  - name: process
    context: ioctl
    steps: [{lock: S}, {unlock: S}, {lock: SI}, {unlock: SI}]
`
	_, ds := analyse(t, src, graph.Precise)
	line := strings.Split(src, "\n")[6] // the callback's steps, line 8 of the loaded file
	// Findings point at the step's value: the 1-based column of value
	// inside step, where step first occurs on the line.
	col := func(step, value string) int { return strings.Index(line, step) + strings.Index(step, value) + 1 }
	got := map[string][]int{}
	for _, d := range ds {
		got[d.Rule] = append(got[d.Rule], d.Pos.Col)
	}
	// S is taken in the callback and with interrupts on elsewhere; SI is
	// declared irq_safe; M and GFP_KERNEL sleep; GFP_ATOMIC does not.
	want := map[string][]int{
		// fs_reclaim too: a GFP_KERNEL allocation in the callback uses it in
		// hardirq context, while the boot-time priming took it with
		// interrupts on (lockdep's "inconsistent lock state" on fs_reclaim).
		rules.IRQUnsafeLock: {col("{lock: S}", "S"), col("{alloc: GFP_KERNEL}", "GFP_KERNEL")},
		rules.SleepInAtomic: {col("{lock: M}", "M"), col("{alloc: GFP_KERNEL}", "GFP_KERNEL")},
	}
	for rule, cols := range want {
		if fmt.Sprint(got[rule]) != fmt.Sprint(cols) {
			t.Errorf("%s at columns %v, want %v", rule, got[rule], cols)
		}
	}
}

// TestDeterministicWitness: the same graph yields the same cycles and
// fingerprints across runs, whatever map order gonum iterates in.
func TestDeterministicWitness(t *testing.T) {
	src := `locks: [{name: A, kind: mutex}, {name: B, kind: mutex}, {name: C, kind: mutex}, {name: D, kind: mutex}]
paths:
  - {name: p1, context: ioctl, steps: [{lock: A}, {lock: B}, {unlock: B}, {unlock: A}]}
  - {name: p2, context: ioctl, steps: [{lock: B}, {lock: C}, {unlock: C}, {unlock: B}]}
  - {name: p3, context: ioctl, steps: [{lock: C}, {lock: A}, {unlock: A}, {unlock: C}]}
  - {name: p4, context: ioctl, steps: [{lock: C}, {lock: D}, {unlock: D}, {unlock: C}]}
  - {name: p5, context: ioctl, steps: [{lock: D}, {lock: A}, {unlock: A}, {unlock: D}]}
`
	_, first := analyse(t, src, graph.Precise)
	// One SCC: the shortest witness through the smallest node, and the
	// shortest cycle through the edges it leaves out (C->D, D->A), so that
	// every offending site is reported. The second shares A->B and B->C
	// with the first: one bug, the second cycle a related witness.
	if len(first) != 1 || len(first[0].Related) != 1 {
		t.Fatalf("one SCC, one finding with one related witness: %s", rulesOf(first))
	}
	if got := strings.Join(first[0].Cycle, ",") + " " + strings.Join(first[0].Related[0].Cycle, ","); got != "A,B,C A,B,C,D" {
		t.Errorf("witnesses: got %s, want A,B,C A,B,C,D", got)
	}
	for i := 0; i < 20; i++ {
		_, again := analyse(t, src, graph.Precise)
		if again[0].Fingerprint != first[0].Fingerprint || strings.Join(again[0].Cycle, ",") != strings.Join(first[0].Cycle, ",") ||
			strings.Join(again[0].Related[0].Cycle, ",") != "A,B,C,D" {
			t.Fatal("witness or fingerprint changed between runs")
		}
	}
}

// TestIndefiniteAndRegistration covers FC013 (a signalling path waits on an
// indefinite fence, R18) and FC014 (notifier registration under mmap_lock,
// R27), each with its fixed counterpart.
func TestIndefiniteAndRegistration(t *testing.T) {
	cases := []struct {
		name, src, rule string
		want            bool
	}{
		{"wait on a user fence in signalling code", "fences: [{name: f}, {name: user_fence, indefinite: true}]\npaths:\n  - {name: p, context: worker, signals: [f], steps: [{wait: user_fence}]}\n", rules.IndefiniteFence, true},
		{"wait on the user fence in the ioctl, before publication", "fences: [{name: f}, {name: user_fence, indefinite: true}]\npaths:\n  - {name: p, context: ioctl, steps: [{wait: user_fence}, {begin_signalling: f}, {end_signalling: f}]}\n", rules.IndefiniteFence, false},
		{"register under mmap_lock", "devices: [{name: gpu}]\nuserptrs: [{name: u, device: gpu, notifier: inv}]\npaths:\n  - {name: inv, context: notifier, steps: []}\n  - {name: p, context: ioctl, steps: [{lock: mmap_lock}, {register_notifier: u}, {unlock: mmap_lock}]}\n", rules.RegisterUnderMM, true},
		{"register before taking mmap_lock", "devices: [{name: gpu}]\nuserptrs: [{name: u, device: gpu, notifier: inv}]\npaths:\n  - {name: inv, context: notifier, steps: []}\n  - {name: p, context: ioctl, steps: [{register_notifier: u}, {lock: mmap_lock}, {unlock: mmap_lock}]}\n", rules.RegisterUnderMM, false},
	}
	for _, c := range cases {
		_, ds := analyse(t, c.src, graph.Precise)
		got := false
		for _, d := range ds {
			if d.Rule == c.rule {
				got = true
			}
		}
		if got != c.want {
			t.Errorf("%s: %s reported=%v, want %v (%s)", c.name, c.rule, got, c.want, rulesOf(ds))
		}
	}
}

// TestCanonicalClassification: one minimal design per canonical cycle of
// docs/kernel-rules.md (C1–C15), each classified as that shape.
func TestCanonicalClassification(t *testing.T) {
	cases := []struct{ shape, src string }{
		{"C1", `locks: [{name: A, kind: mutex}]
fences: [{name: f}]
paths:
  - {name: waiter, context: ioctl, steps: [{lock: A}, {wait: f}, {unlock: A}]}
  - {name: signaller, context: worker, signals: [f], steps: [{lock: A}, {unlock: A}]}
`},
		{"C2", `buffers: [{name: bo}]
fences: [{name: f}]
paths:
  - {name: signaller, context: worker, signals: [f], steps: [{lock: bo}, {unlock: bo}]}
`},
		{"C3", `fences: [{name: f}]
paths:
  - {name: signaller, context: worker, signals: [f], steps: [{alloc: GFP_KERNEL}]}
`},
		{"C4", `fences: [{name: f}]
paths:
  - {name: signaller, context: worker, signals: [f], steps: [{alloc: GFP_NOIO}]}
`},
		{"C6/C9", `locks: [{name: notifier_lock, kind: rwsem}]
devices: [{name: gpu}]
userptrs: [{name: u, device: gpu, notifier: inv}]
paths:
  - {name: inv, context: notifier, steps: [{lock: notifier_lock}, {unlock: notifier_lock}]}
  - {name: exec, context: ioctl, steps: [{lock: notifier_lock, mode: read}, {alloc: GFP_KERNEL}, {unlock: notifier_lock}]}
`},
		{"C7", `buffers: [{name: bo}]
paths:
  - {name: gup_under_resv, context: ioctl, steps: [{lock: bo}, {lock: mmap_lock, mode: read}, {unlock: mmap_lock}, {unlock: bo}]}
`},
		{"C8", `buffers: [{name: bo}]
shrinkers: [{name: s, scan: scan}]
paths:
  - {name: scan, context: shrinker_scan, steps: [{lock: bo}, {unlock: bo}]}
`},
		{"C13", `locks: [{name: L, kind: mutex}]
paths:
  - {name: work, context: worker, steps: [{lock: L}, {unlock: L}]}
  - {name: teardown, context: ioctl, steps: [{lock: L}, {flush_work: work}, {unlock: L}]}
`},
		{"lock-order inversion", `locks: [{name: A, kind: mutex}, {name: B, kind: mutex}]
paths:
  - {name: p, context: ioctl, steps: [{lock: A}, {lock: B}, {unlock: B}, {unlock: A}]}
  - {name: q, context: ioctl, steps: [{lock: B}, {lock: A}, {unlock: A}, {unlock: B}]}
`},
	}
	for _, c := range cases {
		_, ds := analyse(t, c.src, graph.Precise)
		var got []string
		ok := false
		for _, d := range ds {
			if d.Rule == rules.Cycle {
				got = append(got, d.Canonical)
				if strings.HasPrefix(d.Canonical, c.shape) {
					ok = true
				}
			}
		}
		if !ok {
			t.Errorf("%s: classified as %q (%s)", c.shape, got, rulesOf(ds))
		}
	}
}

// TestEveryOffendingSite: every edge the design made inside a strongly
// connected component is on some reported witness, so fixing the reported
// sites removes the component; built-in kernel edges need no cover.
func TestEveryOffendingSite(t *testing.T) {
	// Two independent inversions sharing lock A: one component, two bugs.
	two := `locks: [{name: A, kind: mutex}, {name: B, kind: mutex}, {name: C, kind: mutex}]
paths:
  - {name: p1, context: ioctl, steps: [{lock: A}, {lock: B}, {unlock: B}, {unlock: A}]}
  - {name: p2, context: ioctl, steps: [{lock: B}, {lock: A}, {unlock: A}, {unlock: B}]}
  - {name: p3, context: ioctl, steps: [{lock: A}, {lock: C}, {unlock: C}, {unlock: A}]}
  - {name: p4, context: ioctl, steps: [{lock: C}, {lock: A}, {unlock: A}, {unlock: C}]}
`
	_, ds := analyse(t, two, graph.Precise)
	var cycles []string
	for _, d := range ds {
		cycles = append(cycles, strings.Join(d.Cycle, ","))
	}
	if strings.Join(cycles, " ") != "A,B A,C" {
		t.Errorf("two inversions in one component: got %q, want both", cycles)
	}
	// Three allocation sites in signalling sections: each is reported.
	three := `locks: [{name: L, kind: mutex}]
fences: [{name: f}]
paths:
  - name: s1
    context: ioctl
    signals: f
    steps: [{begin_signalling: f}, {alloc: GFP_KERNEL}, {end_signalling: f}]
  - name: s2
    context: ioctl
    signals: f
    steps: [{begin_signalling: f}, {lock: L}, {alloc: GFP_NOFS}, {unlock: L}, {end_signalling: f}]
  - name: s3
    context: ioctl
    signals: f
    steps: [{begin_signalling: f}, {alloc: GFP_KERNEL | __GFP_NOWARN}, {end_signalling: f}]
`
	_, ds = analyse(t, three, graph.Precise)
	ds = group.Flatten(ds)
	sites := map[int]bool{}
	alsoAt := regexp.MustCompile(`also made at ([0-9:, ]+)\)`)
	for _, d := range ds {
		for _, st := range d.Chain {
			if st.Kind != "alloc" {
				continue
			}
			sites[st.Pos.Line] = true
			if m := alsoAt.FindStringSubmatch(st.Message); m != nil {
				for _, p := range strings.Split(m[1], ", ") {
					var l, c int
					fmt.Sscanf(p, "%d:%d", &l, &c)
					sites[l] = true
				}
			}
		}
	}
	if len(sites) != 3 {
		t.Errorf("allocation sites reported: %v, want lines of s1, s2 and s3\n%s", sites, rulesOf(ds))
	}
}
