package exec_test

import (
	"strings"
	"testing"

	"github.com/fencecheck/fencecheck/internal/exec"
	"github.com/fencecheck/fencecheck/internal/explore"
	"github.com/fencecheck/fencecheck/internal/graph"
	"github.com/fencecheck/fencecheck/internal/rules"
)

// Issue 10, item 4: the shrinker trylocks a purgeable BO, purges it, unlocks
// and drops the last reference (whose release locks the dying BO). Direct
// reclaim entered with the BO's resv held makes the trylock fail; the
// shrinker must give up on the object, not run on to the release path and
// lock the resv its own thread holds.
const shrinkerTrylock = `fencecheck: 1
devices:
  - name: gpu
buffers:
  - {name: bo, device: gpu}
shrinkers:
  - {name: purge, scan: purge_scan}
paths:
  - name: exec_ioctl
    context: ioctl
    steps:
      - lock: bo
      - alloc: GFP_KERNEL
      - unlock: bo
  - name: purge_scan
    context: shrinker_scan
    steps:
      - {trylock: bo, on_fail: return}
      - free_pages: bo
      - unlock: bo
      - call: bo_release
  - name: bo_release
    context: process
    steps:
      - {lock: bo, unpublished: true}
      - unlock: bo
workload:
  - run: exec_ioctl
  - memory_pressure: true
`

func TestFailedTrylockTakesItsBranch(t *testing.T) {
	p := compile(t, shrinkerTrylock)
	res := exec.Run(p, exec.Options{Schedules: 1000, Seed: 1, Only: -1, Trace: true})
	if len(res.Findings) != 0 {
		t.Fatalf("false findings: %+v", res.Findings)
	}
	// FIFO: exec_ioctl enters direct reclaim holding bo; the trylock fails
	// and the scan returns without purging or releasing anything.
	var after []string
	failed := false
	for _, ev := range res.Schedules[0].Events {
		if ev.Thread != "exec_ioctl" {
			continue
		}
		if strings.HasPrefix(ev.Text, "trylock: bo (contended: fails); the path continues at") {
			failed = true
			continue
		}
		if failed && ev.Kind == "reclaim" {
			break
		}
		if failed {
			after = append(after, ev.Kind+" "+ev.Text)
		}
	}
	if !failed {
		t.Fatal("no failed trylock in the FIFO trace")
	}
	for _, e := range after {
		if strings.Contains(e, "bo") {
			t.Errorf("after its trylock failed the scan still ran %q", e)
		}
	}
	for _, s := range res.Schedules {
		if s.Outcome != "completed" {
			t.Fatalf("schedule %d: %s", s.Index, s.Outcome)
		}
	}
	if r := explore.Run(p, explore.Options{Exhaustive: true, Invariants: true}); !r.Complete || len(r.Findings)+len(r.Violations) != 0 {
		t.Fatalf("explorer: %s %+v %v", r.Coverage(), r.Findings, r.Violations)
	}
}

// on_fail: LABEL continues at a later step with the locks held at the
// trylock; the graph walks that branch too, so an edge made only when the
// trylock fails (A held at C) is seen.
const failBranchEdge = `fencecheck: 1
locks:
  - {name: A, kind: mutex}
  - {name: B, kind: mutex}
  - {name: C, kind: mutex}
paths:
  - name: t1
    context: ioctl
    steps:
      - lock: A
      - {trylock: B, on_fail: slow}
      - unlock: A
      - unlock: B
      - {lock: C, label: slow}
      - unlock: C
  - name: t2
    context: ioctl
    steps: [{lock: C}, {lock: A}, {unlock: A}, {unlock: C}]
workload:
  - run: t1
  - run: t2
`

func TestGraphWalksFailureBranches(t *testing.T) {
	p := compile(t, failBranchEdge)
	g, _ := graph.Build(p, graph.Precise)
	fs := byRule(g.Findings("t.yaml"), rules.Cycle)
	if len(fs) != 1 || !strings.Contains(strings.Join(fs[0].Cycle, " "), "A") || !strings.Contains(strings.Join(fs[0].Cycle, " "), "C") {
		t.Fatalf("want the A -> C -> A cycle made by the failure branch, got %+v", fs)
	}
	// Without the failure branch (trylock succeeds, A is released first)
	// there is no such edge.
	p = compile(t, strings.Replace(failBranchEdge, "{trylock: B, on_fail: slow}", "lock: B", 1))
	g, _ = graph.Build(p, graph.Precise)
	if fs := g.Findings("t.yaml"); len(fs) != 0 {
		t.Fatalf("no failure branch, no cycle; got %+v", fs)
	}
}

// Pinned pages (issue 10, item 5): munmap cannot free pages a driver holds
// with pin_user_pages; they are freed at the last unpin, and that is where
// the golden rule is checked.
const pinnedUserptr = `fencecheck: 1
devices: [{name: gpu}]
vms: [{name: vm, device: gpu}]
userptrs: [{name: uptr, device: gpu, vm: vm, notifier: invalidate}]
paths:
  - name: invalidate
    context: notifier
    steps: [{sleep: nothing to do}]
  - name: bind
    context: ioctl
    steps: [{pin: uptr}, {map_pages: uptr}, {sleep: use}, {zap_ptes: uptr}, {tlb_flush: vm}, {unpin: uptr}]
workload: [{run: bind}, {munmap: uptr}]
`

func TestPinnedPagesAreFreedAtUnpin(t *testing.T) {
	p := compile(t, pinnedUserptr)
	res := exec.Run(p, exec.Options{Schedules: 200, Seed: 4, Only: -1})
	if len(res.Findings) != 0 {
		t.Fatalf("pinned pages freed by munmap: %+v", res.Findings)
	}
	// Unpinning before the zap frees mapped pages: the golden rule, at the
	// unpin, in some interleaving where munmap ran first.
	bad := compile(t, strings.Replace(pinnedUserptr, "{zap_ptes: uptr}, {tlb_flush: vm}, {unpin: uptr}", "{unpin: uptr}, {zap_ptes: uptr}, {tlb_flush: vm}", 1))
	res = exec.Run(bad, exec.Options{Schedules: 200, Seed: 4, Only: -1})
	g := byRule(res.Findings, rules.GoldenRule)
	if len(g) == 0 || !strings.Contains(g[0].Message, "the last unpin freeing the pages of uptr") {
		t.Fatalf("want the golden rule at the unpin, got %+v", res.Findings)
	}
}
