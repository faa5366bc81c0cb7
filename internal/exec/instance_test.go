package exec_test

import (
	"strings"
	"testing"

	"github.com/fencecheck/fencecheck/internal/exec"
	"github.com/fencecheck/fencecheck/internal/explore"
	"github.com/fencecheck/fencecheck/internal/graph"
)

// heldAt returns the held set printed at the event for the step at line.
func heldAt(t *testing.T, sch *exec.Schedule, thread string, line int) []string {
	t.Helper()
	for _, ev := range sch.Events {
		if ev.Thread == thread && ev.Pos.Line == line {
			return ev.Held
		}
	}
	t.Fatalf("no event of %s at line %d", thread, line)
	return nil
}

// Issue 10, item 3: lock resvs a then b in one ticket, unlock a. The
// executor must drop a (it dropped b, the last taken), and relocking a must
// not look like the thread deadlocking on itself.
const outOfOrderUnlock = `fencecheck: 1
devices:
  - name: gpu
buffers:
  - {name: a, device: gpu}
  - {name: b, device: gpu}
paths:
  - name: validate
    context: ioctl
    steps:
      - ww_acquire_init: ctx
      - {lock: a, ctx: ctx}
      - {lock: b, ctx: ctx}
      - unlock: a
      - {lock: a, ctx: ctx}
      - unlock: a
      - unlock: b
      - ww_acquire_fini: ctx
workload:
  - run: validate
  - {run: validate, thread: validate2}
`

func TestUnlockReleasesTheNamedInstance(t *testing.T) {
	p := compile(t, outOfOrderUnlock)
	res := exec.Run(p, exec.Options{Schedules: 1000, Seed: 1, Only: -1, Trace: true})
	if len(res.Findings) != 0 {
		t.Fatalf("false findings: %+v", res.Findings)
	}
	sch := res.Schedules[0]
	if got := strings.Join(heldAt(t, sch, "validate", 14), ","); got != "reservation_ww_class_acquire,resv(b)" {
		t.Errorf("after unlock: a the thread holds %s, want resv(b) only", got)
	}
	if got := strings.Join(heldAt(t, sch, "validate", 15), ","); got != "reservation_ww_class_acquire,resv(b),resv(a)" {
		t.Errorf("after relocking a the thread holds %s", got)
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

// A nested acquisition (*_lock_nested) of a class the thread holds takes a
// second instance; "unlock: X" releases the exact instance first.
const nestedSubclass = `fencecheck: 1
locks:
  - {name: "&inode->lock", kind: mutex}
paths:
  - name: rename
    context: ioctl
    steps:
      - lock: "&inode->lock"
      - {lock: "&inode->lock", subclass: 1}
      - unlock: "&inode->lock"
      - unlock: "&inode->lock"
workload:
  - run: rename
  - run: rename
`

func TestSubclassIsAnotherInstanceEverywhere(t *testing.T) {
	p := compile(t, nestedSubclass)
	res := exec.Run(p, exec.Options{Schedules: 200, Seed: 2, Only: -1, Trace: true})
	if len(res.Findings) != 0 {
		t.Fatalf("false findings: %+v", res.Findings)
	}
	if got := strings.Join(heldAt(t, res.Schedules[0], "rename", 10), ","); got != "&inode->lock/1" {
		t.Errorf("unlock released the nested instance: holds %s", got)
	}
	g, ds := graph.Build(p, graph.Precise)
	if len(ds)+len(g.Findings("t.yaml")) != 0 {
		t.Errorf("graph reports %v %v", ds, g.Findings("t.yaml"))
	}
}

// Issue 10, item 2: an unpublished acquisition makes no class-level edge in
// the graph, and the executor must agree: no other thread can contend it.
const unpublishedLock = `fencecheck: 1
locks:
  - {name: "&obj->lock", kind: mutex}
fences:
  - {name: ready}
paths:
  - name: user
    context: ioctl
    steps:
      - lock: "&obj->lock"
      - wait: ready
      - unlock: "&obj->lock"
  - name: create
    context: ioctl
    signals: ready
    steps:
      - {lock: "&obj->lock", unpublished: true}
      - unlock: "&obj->lock"
      - signal: ready
workload:
  - run: user
  - run: create
`

func TestUnpublishedAgreesWithGraph(t *testing.T) {
	p := compile(t, unpublishedLock)
	g, ds := graph.Build(p, graph.Precise)
	if fs := append(ds, g.Findings("t.yaml")...); len(fs) != 0 {
		t.Fatalf("graph: %+v", fs)
	}
	res := exec.Run(p, exec.Options{Schedules: 200, Seed: 3, Only: -1})
	if len(res.Findings) != 0 {
		t.Fatalf("executor disagrees with the graph: %+v", res.Findings)
	}
	// The same design with a published object is a real hang, and both say so.
	p = compile(t, strings.Replace(unpublishedLock, ", unpublished: true", "", 1))
	g, ds = graph.Build(p, graph.Precise)
	if len(append(ds, g.Findings("t.yaml")...)) == 0 {
		t.Errorf("graph misses the published cycle")
	}
	res = exec.Run(p, exec.Options{Schedules: 1, Only: -1})
	if len(res.Findings) == 0 || res.Schedules[0].Outcome != "hang" {
		t.Errorf("executor misses the published hang: %+v", res.Findings)
	}
}
