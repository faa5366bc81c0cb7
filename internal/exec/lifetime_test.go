package exec_test

import (
	"strings"
	"testing"

	"github.com/fencecheck/fencecheck/internal/exec"
	"github.com/fencecheck/fencecheck/internal/explore"
	"github.com/fencecheck/fencecheck/internal/graph"
)

// Issue 10, items 4 and 5: a purgeable BO is released by userspace while
// direct reclaim and kswapd both scan it. The scan takes a reference only
// if the object is not dying (kref_get_unless_zero), so the finalizer runs
// exactly once, in whichever thread drops the last reference.
var purgeable = mustRead("testdata/purgeable.yaml")

func finalizations(sch *exec.Schedule) int {
	n := 0
	for _, ev := range sch.Events {
		if ev.Kind == "free" && strings.Contains(ev.Text, "free_pages: bo") {
			n++
		}
	}
	return n
}

func TestFinalizerRunsOnce(t *testing.T) {
	p := compile(t, purgeable)
	res := exec.Run(p, exec.Options{Schedules: 300, Seed: 2, Only: -1, Trace: true, Invariants: true})
	if len(res.Findings) != 0 || len(res.Violations) != 0 {
		t.Fatalf("findings %+v violations %v", res.Findings, res.Violations)
	}
	for _, s := range res.Schedules {
		if n := finalizations(s); n != 1 {
			t.Fatalf("schedule %d finalizes bo %d times", s.Index, n)
		}
	}
	if r := explore.Run(p, explore.Options{Exhaustive: true}); !r.Complete || len(r.Findings) != 0 {
		t.Fatalf("explorer: %s %+v", r.Coverage(), r.Findings)
	}
	// With a plain get, a scan can take a reference on a dying object and
	// drop it again: the object is finalized twice in some schedule.
	bad := compile(t, strings.Replace(purgeable, "{get: $obj, unless_zero: true, on_fail: return}", "get: $obj", 1))
	res = exec.Run(bad, exec.Options{Schedules: 300, Seed: 2, Only: -1, Trace: true})
	twice := false
	for _, s := range res.Schedules {
		twice = twice || finalizations(s) > 1
	}
	if !twice {
		t.Fatal("a plain get on a dying object never finalizes it twice")
	}
}

// The finalizer runs in the putting thread, under what it holds: dropping
// the last reference while holding a lock the finalizer takes is a cycle
// the graph sees (the put may be the last one).
func TestPutUnderLockTheFinalizerTakes(t *testing.T) {
	src := `fencecheck: 1
devices: [{name: gpu}]
locks: [{name: "&mgr->lock", kind: mutex}]
buffers:
  - {name: bo, device: gpu, free: bo_free}
paths:
  - name: bo_free
    context: process
    param: obj
    steps: [{lock: "&mgr->lock"}, {unlock: "&mgr->lock"}]
  - name: evict_all
    context: ioctl
    steps: [{lock: "&mgr->lock"}, {put: bo}, {unlock: "&mgr->lock"}]
workload: [{run: evict_all}]
`
	p := compile(t, src)
	_, ds := graph.Build(p, graph.Precise)
	if len(ds) == 0 || !strings.Contains(ds[0].Message, "&mgr->lock") {
		t.Fatalf("want recursive locking of &mgr->lock through the finalizer, got %+v", ds)
	}
	res := exec.Run(p, exec.Options{Schedules: 1, Only: -1})
	if len(res.Findings) == 0 {
		t.Fatal("the executor should hang: the last put runs the finalizer, which locks &mgr->lock again")
	}
}
