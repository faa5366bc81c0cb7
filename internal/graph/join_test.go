package graph

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/fencecheck/fencecheck/internal/diag"
	"github.com/fencecheck/fencecheck/internal/gen"
	"github.com/fencecheck/fencecheck/internal/kernel"
	"github.com/fencecheck/fencecheck/internal/model"
	"github.com/fencecheck/fencecheck/internal/scenariotest"
)

// A walk that reaches a branch target in the state a branch already
// walked it from stops (run). These tests check that this changes nothing
// the graph reports, and that it is what keeps the walk linear.

// sameWithoutJoin builds p both ways in mode and compares the exported
// graph and the findings; it returns the ops walked with and without.
func sameWithoutJoin(t *testing.T, name string, p *kernel.Program, mode Mode) (int, int) {
	t.Helper()
	g1, d1, w1 := build(p, mode, false)
	g2, d2, w2 := build(p, mode, true)
	e1, _ := json.Marshal(g1.Export(false))
	e2, _ := json.Marshal(g2.Export(false))
	if string(e1) != string(e2) {
		t.Errorf("%s (%s): stopping at joins changed the graph", name, mode)
	}
	f1, _ := json.Marshal([][]diag.Diagnostic{d1, g1.Findings(p.File)})
	f2, _ := json.Marshal([][]diag.Diagnostic{d2, g2.Findings(p.File)})
	if string(f1) != string(f2) {
		t.Errorf("%s (%s): stopping at joins changed the findings:\n%s\nwithout:\n%s", name, mode, f1, f2)
	}
	if w1 > w2 {
		t.Errorf("%s (%s): walked %d ops stopping at joins, %d without", name, mode, w1, w2)
	}
	return w1, w2
}

func TestJoinChangesNothingOnLibrary(t *testing.T) {
	scenariotest.EachLibrary(t, 50, func(path string, sc *model.Scenario) {
		p := kernel.Compile(sc)
		for _, mode := range []Mode{Precise, Lockdep} {
			sameWithoutJoin(t, path, p, mode)
		}
	})
}

// shrinkers writes a design whose reclaim thread runs n shrinkers, each
// trylocking a buffer with a failure branch, under a lock held around
// allocations.
func shrinkers(n int) string {
	var b strings.Builder
	b.WriteString("fencecheck: 1\nlocks:\n  - {name: L, kind: mutex}\ndevices:\n  - name: gpu\nbuffers:\n")
	for i := 0; i < n; i++ {
		fmt.Fprintf(&b, "  - {name: bo%d, device: gpu}\n", i)
	}
	b.WriteString("shrinkers:\n")
	for i := 0; i < n; i++ {
		fmt.Fprintf(&b, "  - {name: s%d, scan: scan%d}\n", i, i)
	}
	b.WriteString("paths:\n  - name: ioctl\n    context: ioctl\n    steps:\n      - lock: L\n      - alloc: GFP_KERNEL\n      - unlock: L\n")
	for i := 0; i < n; i++ {
		fmt.Fprintf(&b, "  - name: scan%d\n    context: shrinker_scan\n    steps:\n      - {trylock: bo%d, on_fail: out}\n      - {lock: L}\n      - {unlock: L}\n      - {evict: bo%d}\n      - {unlock: bo%d}\n      - {sleep: done, label: out}\n", i, i, i, i)
	}
	b.WriteString("workload:\n  - run: ioctl\n  - memory_pressure: true\n")
	return b.String()
}

func TestJoinKeepsTrylockForksLinear(t *testing.T) {
	walked := map[int]int{}
	for _, n := range []int{20, 40, 80} {
		p := scenariotest.Compile(t, fmt.Sprint("shrinkers", n), shrinkers(n))
		w1, w2 := sameWithoutJoin(t, fmt.Sprint("shrinkers ", n), p, Precise)
		walked[n] = w1
		t.Logf("%d shrinkers: %d ops walked, %d without stopping at joins", n, w1, w2)
	}
	// Doubling the shrinkers doubles the reclaim thread: the walk may
	// grow a little more than 2x (the other threads), never 4x.
	for _, n := range []int{40, 80} {
		if r := float64(walked[n]) / float64(walked[n/2]); r > 2.5 {
			t.Errorf("%d -> %d shrinkers: the walk grew %.2fx", n/2, n, r)
		}
	}
}

func TestJoinChangesNothingOnDriverFamily(t *testing.T) {
	for _, scale := range []int{1, 3, 10} {
		p := scenariotest.Compile(t, fmt.Sprint("driver", scale), gen.Driver(scale))
		for _, mode := range []Mode{Precise, Lockdep} {
			sameWithoutJoin(t, fmt.Sprint("driver ", scale), p, mode)
		}
	}
}

// TestForkKeepsInterruptState: a trylock's failure branch runs with the
// interrupt state the trylock ran with. Here the dependency A -> B is first
// recorded on the branch, with hardirqs on and softirqs off (bh disabled):
// lockdep's report prints that state (HE1:SE0), not a zeroed one.
func TestForkKeepsInterruptState(t *testing.T) {
	src := `fencecheck: 1
locks:
  - {name: A, kind: spinlock}
  - {name: B, kind: spinlock}
  - {name: T, kind: spinlock}
paths:
  - name: sirq
    context: softirq
    steps:
      - lock: A
      - unlock: A
  - name: p
    context: kthread
    steps:
      - lock: B
      - unlock: B
  - name: q
    context: kthread
    steps:
      - local_bh: disable
      - lock: A
      - {trylock: T, on_fail: busy}
      - unlock: T
      - {lock: B, label: busy}
      - unlock: B
      - unlock: A
      - local_bh: enable
workload:
  - run: sirq
  - run: p
  - run: q
`
	p := scenariotest.Compile(t, "fork-irq.yaml", src)
	g, ds, _ := build(p, Lockdep, false)
	var out string
	for _, d := range append(ds, g.Findings(p.File)...) {
		if d.Splat != nil {
			out += d.Splat.Title + "\n" + strings.Join(d.Splat.Body, "\n") + "\n"
		}
	}
	if !strings.Contains(out, "SOFTIRQ-safe -> SOFTIRQ-unsafe") {
		t.Fatalf("no SOFTIRQ-safe -> SOFTIRQ-unsafe report:\n%s", out)
	}
	if !strings.Contains(out, "q [HC0[0]:SC0[0]:HE1:SE0] is trying to acquire") {
		t.Errorf("the report does not print q's interrupt state (HE1:SE0):\n%s", out)
	}
}
