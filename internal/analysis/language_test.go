package analysis_test

import (
	"strings"
	"testing"

	"github.com/fencecheck/fencecheck/internal/graph"
	"github.com/fencecheck/fencecheck/internal/kernel"
	"github.com/fencecheck/fencecheck/internal/model"
)

// flush_work from a work item of an ordered workqueue on another item of
// the same queue: start_flush_work() touches the queue's map, which the
// flushing work already holds (process_one_work), so lockdep reports
// recursive locking on (wq_completion)NAME. cancel_work_sync() does not
// touch the queue's map, and flushing a work of an unordered queue without
// a rescuer touches only the work's own map: both are clean.
func TestOrderedWorkqueueFlushWork(t *testing.T) {
	src := func(ordered, op string) string {
		return `workqueues:
  - {name: "i915", ` + ordered + `}
paths:
  - name: retire
    context: worker
    workqueue: i915
  - name: idle
    context: worker
    workqueue: i915
    steps:
      - ` + op + `: retire
`
	}
	for _, mode := range []graph.Mode{graph.Lockdep, graph.Precise} {
		ds, out := run(t, src("ordered: true", "flush_work"), mode)
		if rulesIn(ds) != "FC002" || !strings.Contains(out, "(wq_completion)i915") {
			t.Fatalf("%s mode: want FC002 on (wq_completion)i915, got %s\n%s", mode, rulesIn(ds), out)
		}
		if !strings.Contains(out, ":12:21:") {
			t.Errorf("%s mode: the report should point at the flush_work step (12:21):\n%s", mode, out)
		}
		wantClean(t, src("ordered: true", "cancel_work_sync"), mode)
		wantClean(t, src("ordered: false", "flush_work"), mode)
		ds, _ = run(t, src("mem_reclaim: true", "flush_work"), mode)
		if rulesIn(ds) != "FC002" {
			t.Fatalf("%s mode: a rescuer queue's map is touched too: want FC002, got %s", mode, rulesIn(ds))
		}
	}
}

// wait_for_completion sleeps: in a fence callback (hardirq) it is a
// sleep in atomic context in both modes, although lockdep records no
// dependency for it.
func TestCompletionWaitInAtomic(t *testing.T) {
	src := `completions:
  - {name: done}
paths:
  - name: cb
    context: fence_callback
    steps:
      - wait_for_completion: done
  - name: w
    context: worker
    steps:
      - complete: done
`
	for _, mode := range []graph.Mode{graph.Lockdep, graph.Precise} {
		ds, out := run(t, src, mode)
		if rulesIn(ds) != "FC009" || !strings.Contains(out, "wait_for_completion(done)") {
			t.Fatalf("%s mode: want FC009 for wait_for_completion, got %s\n%s", mode, rulesIn(ds), out)
		}
	}
}

// A completion makes the waiter depend on what the completer does before
// complete() and nothing after: a lock taken after complete() is no cycle.
func TestCompletionSectionEndsAtComplete(t *testing.T) {
	src := func(before bool) string {
		steps := "      - complete: done\n      - lock: m\n      - unlock: m\n"
		if before {
			steps = "      - lock: m\n      - unlock: m\n      - complete: done\n"
		}
		return `locks:
  - {name: m, kind: mutex}
completions:
  - {name: done}
paths:
  - name: waiter
    context: ioctl
    steps:
      - lock: m
      - wait_for_completion: done
      - unlock: m
  - name: completer
    context: worker
    steps:
` + steps
	}
	ds, out := run(t, src(true), graph.Precise)
	if rulesIn(ds) != "FC001" || !strings.Contains(out, "m --> completion(done) --> m") && !strings.Contains(out, "completion(done) --> m --> completion(done)") {
		t.Fatalf("precise mode: want the cycle m <-> completion(done), got %s\n%s", rulesIn(ds), out)
	}
	if !strings.Contains(out, "a completion's waiter depends on what its completer does before complete()") {
		t.Errorf("the cycle should be classified as a completion wait:\n%s", out)
	}
	wantClean(t, src(true), graph.Lockdep) // lockdep has no completions since v4.15
	wantClean(t, src(false), graph.Precise)
}

// synchronize_srcu inside the same srcu's read section deadlocks; lockdep
// reports it as recursive locking since v6.4 (lock_sync()), not before.
func TestSynchronizeSRCUInReadSection(t *testing.T) {
	src := func(version string) string {
		return `kernel: {version: "` + version + `"}
locks:
  - {name: s, kind: srcu}
paths:
  - name: p
    context: ioctl
    steps:
      - lock: s
      - synchronize_srcu: s
      - unlock: s
`
	}
	for _, mode := range []graph.Mode{graph.Lockdep, graph.Precise} {
		if ds, out := run(t, src("6.8"), mode); rulesIn(ds) != "FC002" {
			t.Fatalf("%s mode, v6.8: want FC002, got %s\n%s", mode, rulesIn(ds), out)
		}
	}
	wantClean(t, src("6.1"), graph.Lockdep)
	if ds, _ := run(t, src("6.1"), graph.Precise); rulesIn(ds) != "FC002" {
		t.Fatalf("precise mode keeps its semantics on v6.1: want FC002, got %s", rulesIn(ds))
	}
}

// The rmap walk calls notifiers under i_mmap_rwsem (kernel knowledge): a
// notifier that takes a lock held around unmap_mapping_range()
// (i_mmap_lock_write) closes a cycle in both modes, and a migrate: of the
// range runs the notifier under i_mmap_rwsem in the executor.
func TestRmapOrderIsKernelKnowledge(t *testing.T) {
	src := `locks:
  - {name: "&bo->move_lock", kind: mutex}
devices:
  - name: gpu
userptrs:
  - {name: u, device: gpu, notifier: inval}
paths:
  - name: inval
    context: notifier
    steps:
      - lock: "&bo->move_lock"
      - unlock: "&bo->move_lock"
  - name: move
    context: ioctl
    steps:
      - lock: "&bo->move_lock"
      - lock: i_mmap_rwsem            # unmap_mapping_range
      - unlock: i_mmap_rwsem
      - unlock: "&bo->move_lock"
`
	for _, mode := range []graph.Mode{graph.Lockdep, graph.Precise} {
		ds, out := run(t, src, mode)
		if rulesIn(ds) != "FC001" || !strings.Contains(out, "the rmap walk invalidates mappings under i_mmap_rwsem") {
			t.Fatalf("%s mode: want FC001 through the built-in rmap order, got %s\n%s", mode, rulesIn(ds), out)
		}
	}
}

// Core-mm events differ in the lock they hold and whether they free: fork
// and mprotect hold mmap_lock for write, madvise(DONTNEED) and THP splits
// for read, migration holds i_mmap_rwsem; only madvise and migration free
// the pages, so only they violate the golden rule for a notifier that does
// not zap the GPU's PTEs.
func TestCoreMMEvents(t *testing.T) {
	base := `devices:
  - name: gpu
    engines: [{name: gfx}]
vms:
  - {name: vm, device: gpu}
userptrs:
  - {name: u, device: gpu, vm: vm, notifier: inval}
paths:
  - name: bind
    context: ioctl
    steps:
      - map_pages: u
  - name: inval
    context: notifier
    steps:
      - sleep: nothing            # forgets to zap the PTEs
workload:
  - run: bind
`
	for ev, frees := range map[string]bool{"fork": false, "mprotect": false, "thp_split": false, "madvise_dontneed": true, "migrate": true} {
		ds, out := run(t, base+"  - "+ev+": u\n", graph.Precise)
		got := rulesIn(ds)
		if frees && got != "FC005" {
			t.Errorf("%s frees the pages the GPU still maps: want FC005, got %q\n%s", ev, got, out)
		}
		if !frees && got != "" {
			t.Errorf("%s frees nothing: want clean, got %s\n%s", ev, got, out)
		}
	}
}

// A job's prepare_job callback is signalling code for its fence (it runs
// before run_job in the scheduler's work): an allocation there closes the
// reclaim cycle through a notifier that waits for the fence. Without the
// job's prepare_job: key the same path is analysed on its own and stays
// clean, as before (its section is for a fence nobody waits on).
func TestPrepareJobIsSignallingCode(t *testing.T) {
	src := func(link string) string {
		return `devices:
  - name: gpu
    engines: [{name: gfx}]
    schedulers:
      - {name: sched, engine: gfx, entities: [{name: q}]}
userptrs:
  - {name: u, device: gpu, notifier: inval}
jobs:
  - name: job
    entity: q
    buffers: [{buffer: u, usage: BOOKKEEP}]
` + link + `
paths:
  - name: prep
    context: prepare_job
    steps:
      - alloc: GFP_KERNEL
  - name: inval
    context: notifier
    steps:
      - wait_resv: u
workload:
  - submit: job
`
	}
	ds, out := run(t, src("    prepare_job: prep"), graph.Precise)
	if rulesIn(ds) != "FC001" || !strings.Contains(out, "job.finished") || !strings.Contains(out, "prepare_job") {
		t.Fatalf("want the reclaim cycle through job.finished and prepare_job, got %s\n%s", rulesIn(ds), out)
	}
	wantClean(t, src(""), graph.Precise)
}

// A job that uses recoverable page faults gates its dma_fence on the fault
// handler (R19), so an allocation there closes the reclaim cycle; the same
// job in long-running mode (dma_fence: false) publishes no fence, and the
// handler may allocate (dma-buf.rst, "Recoverable Hardware Page Faults
// Implications").
func TestNoDmaFenceJobs(t *testing.T) {
	src := func(fence string) string {
		return `devices:
  - name: gpu
    engines: [{name: compute, kind: compute}]
    schedulers:
      - {name: s, engine: compute, entities: [{name: q}]}
    mmu: {recoverable_faults: true, fault_handler: fault}
vms:
  - {name: vm, device: gpu}
userptrs:
  - {name: u, device: gpu, notifier: inval}
jobs:
  - name: job
    entity: q
    faults: vm
    buffers: [{buffer: u, usage: BOOKKEEP}]
` + fence + `
paths:
  - name: fault
    context: fault_handler
    steps:
      - alloc: GFP_KERNEL
  - name: inval
    context: notifier
    steps:
      - wait_resv: u
workload:
  - submit: job
`
	}
	if ds, out := run(t, src(""), graph.Precise); rulesIn(ds) != "FC001" || !strings.Contains(out, "job.finished") {
		t.Fatalf("a faulting dma_fence job: want the R19 cycle through job.finished, got %s\n%s", rulesIn(ds), out)
	}
	wantClean(t, src("    dma_fence: false"), graph.Precise)
	wantClean(t, src("    dma_fence: false"), graph.Lockdep)
}

// assert_held is checked in every caller's expansion, per instance: a
// caller that holds another buffer's resv does not satisfy it, and
// lockdep mode reports it too (lockdep_assert_held WARNs).
func TestAssertHeldInEveryCaller(t *testing.T) {
	src := `devices:
  - name: gpu
buffers:
  - {name: a, device: gpu}
  - {name: b, device: gpu}
paths:
  - name: move_locked
    context: helper
    steps:
      - assert_held: a
  - name: good
    context: ioctl
    steps:
      - lock: a
      - call: move_locked
      - unlock: a
  - name: bad
    context: ioctl
    steps:
      - lock: b
      - call: move_locked
      - unlock: b
`
	for _, mode := range []graph.Mode{graph.Lockdep, graph.Precise} {
		ds, out := run(t, src, mode)
		if rulesIn(ds) != "FC019" || !strings.Contains(out, "thread bad does not hold it") || strings.Contains(out, "thread good") {
			t.Fatalf("%s mode: want one FC019 in caller bad, got %s\n%s", mode, rulesIn(ds), out)
		}
	}
}

// A path declared fence_callback keeps its context when a worker also
// calls it: analysed on its own as hardirq code, a lock it shares with
// process context without irqsave is inconsistent lock state. Callbacks
// can hang off any declared fence (fences: callback:).
func TestCalledPathKeepsItsContext(t *testing.T) {
	src := func(how string) string {
		return `locks:
  - {name: "&q->lock", kind: spinlock}
fences:
  - {name: f` + how + `}
paths:
  - name: cb
    context: fence_callback
    steps:
      - lock: "&q->lock"
      - unlock: "&q->lock"
  - name: retire
    context: worker
    steps:
      - lock: "&q->lock"
      - unlock: "&q->lock"
      - call: cb
`
	}
	for _, how := range []string{"", ", callback: cb"} {
		for _, mode := range []graph.Mode{graph.Lockdep, graph.Precise} {
			ds, out := run(t, src(how), mode)
			if rulesIn(ds) != "FC015" {
				t.Fatalf("%s mode (%q): want FC015 for the callback's lock, got %s\n%s", mode, how, rulesIn(ds), out)
			}
		}
	}
}

// repeat: expands a step in place: locking a mutex twice is recursive
// locking, and the loader's balance check counts each copy.
func TestRepeatStep(t *testing.T) {
	src := `locks:
  - {name: m, kind: mutex}
paths:
  - name: p
    context: ioctl
    steps:
      - lock: m
        repeat: 2
      - unlock: m
        repeat: 2
`
	for _, mode := range []graph.Mode{graph.Lockdep, graph.Precise} {
		if ds, out := run(t, src, mode); rulesIn(ds) != "FC002" {
			t.Fatalf("%s mode: want FC002, got %s\n%s", mode, rulesIn(ds), out)
		}
	}
	_, ds := model.Load("t.yaml", []byte("fencecheck: 1\n"+strings.Replace(src, "repeat: 2\n      - unlock: m\n        repeat: 2", "repeat: 2\n      - unlock: m\n        repeat: 3", 1)), model.Options{})
	if len(ds) != 1 || !strings.Contains(ds[0].Message, "does not hold") {
		t.Fatalf("a third unlock of a lock taken twice must be refused: %+v", ds)
	}
}

// A struct semaphore sleeps and deadlocks like a mutex, but has no lockdep
// map: precise mode finds the ABBA, lockdep mode does not (console_lock is
// console_sem plus console_lock_dep_map, written as a semaphore and a map).
func TestSemaphoreInvisibleToLockdep(t *testing.T) {
	src := `locks:
  - {name: sem, kind: semaphore}
  - {name: m, kind: mutex}
paths:
  - name: a
    context: ioctl
    steps: [{lock: sem}, {lock: m}, {unlock: m}, {unlock: sem}]
  - name: b
    context: ioctl
    steps: [{lock: m}, {lock: sem}, {unlock: sem}, {unlock: m}]
`
	if ds, out := run(t, src, graph.Precise); rulesIn(ds) != "FC001" {
		t.Fatalf("precise mode: want FC001, got %s\n%s", rulesIn(ds), out)
	}
	wantClean(t, src, graph.Lockdep)
}

// kfree of memory a GPU PTE still maps is the golden rule violation, as
// free_pages is.
func TestKfreeGoldenRule(t *testing.T) {
	src := func(zap string) string {
		return `devices:
  - name: gpu
vms:
  - {name: vm, device: gpu}
buffers:
  - {name: pt, device: gpu, vm: vm}
paths:
  - name: unbind
    context: ioctl
    steps:
      - map_pages: pt
` + zap + `      - kfree: pt
workload:
  - run: unbind
`
	}
	if ds, out := run(t, src(""), graph.Precise); rulesIn(ds) != "FC005" || !strings.Contains(out, "kfree(pt)") {
		t.Fatalf("want FC005 at kfree(pt), got %s\n%s", rulesIn(ds), out)
	}
	wantClean(t, src("      - zap_ptes: pt\n      - tlb_flush: vm\n"), graph.Precise)
}

// flush_work waits for a worker the workload starts with run: as for one
// queued with queue_work: the flush under a mutex the worker takes hangs.
func TestFlushWorkWaitsForRunWorker(t *testing.T) {
	src := `locks:
  - {name: m, kind: mutex}
paths:
  - name: w
    context: worker
    steps: [{lock: m}, {unlock: m}]
  - name: stop
    context: ioctl
    steps: [{lock: m}, {flush_work: w}, {unlock: m}]
workload:
  - run: stop
  - run: w
`
	ds, out := run(t, src, graph.Precise)
	if rulesIn(ds) != "FC001" || !strings.Contains(out, "execution hangs") {
		t.Fatalf("want the flush cycle with its hang as a consequence, got %s\n%s", rulesIn(ds), out)
	}
}

// A dma_fence_array signals once all its fences have: a wait on it
// completes after both are signalled and hangs, naming the missing
// component, when one never is.
func TestFenceArray(t *testing.T) {
	src := func(second string) string {
		return `fences:
  - {name: f1}
  - {name: f2}
  - {name: arr, array: [f1, f2]}
paths:
  - name: waiter
    context: ioctl
    steps: [{wait: arr}]
  - name: signaller
    context: ioctl
    steps:
      - signal: f1
` + second + `workload:
  - run: waiter
  - run: signaller
`
	}
	wantClean(t, src("      - signal: f2\n"), graph.Precise)
	ds, out := run(t, src(""), graph.Precise)
	if !strings.Contains(rulesIn(ds), "FC003") || !strings.Contains(out, "arr signals only after f2") {
		t.Fatalf("want a hang explained by the unsignalled component f2, got %s\n%s", rulesIn(ds), out)
	}
}

// A dma_fence_chain link signals from irq_work, so its callbacks run in
// hardirq context: a lock they share with process context taken without
// irqsave is inconsistent lock state. The same callback on an array runs
// in the last signaller's fence_callback context, also hardirq.
func TestFenceChainCallbackContext(t *testing.T) {
	src := `locks:
  - {name: "&syncobj->lock", kind: spinlock}
fences:
  - {name: f1}
  - {name: link, chain: [f1], callback: syncobj_cb}
paths:
  - name: syncobj_cb
    context: fence_callback
    steps: [{lock: "&syncobj->lock"}, {unlock: "&syncobj->lock"}]
  - name: syncobj_ioctl
    context: ioctl
    steps: [{lock: "&syncobj->lock"}, {unlock: "&syncobj->lock"}]
`
	ds, out := run(t, src, graph.Lockdep)
	if rulesIn(ds) != "FC015" {
		t.Fatalf("want FC015 for the callback's lock, got %s\n%s", rulesIn(ds), out)
	}
	sc, lds := model.Load("t.yaml", []byte("fencecheck: 1\n"+src), model.Options{})
	if len(lds) > 0 {
		t.Fatal(lds)
	}
	found := false
	for _, th := range kernel.Compile(sc).Threads {
		if th.Name == "fence_cb(link)" {
			found = true
			if th.Context != model.CtxIRQWork || !th.Atomic {
				t.Errorf("a chain's callback runs from irq_work: got context %s, atomic %v", th.Context, th.Atomic)
			}
		}
	}
	if !found {
		t.Error("no callback thread for the chain link")
	}
}

// drm_sched's timeout handler is the scheduler's work_tdr work item:
// cancelling it synchronously under a lock the handler takes is a cycle
// through its work map, in lockdep mode too (the workqueue annotates it
// whether or not drm_sched annotates the signalling section).
func TestTimeoutHandlerIsAWorkItem(t *testing.T) {
	src := `locks:
  - {name: "&gpu->reset_lock", kind: mutex}
devices:
  - name: gpu
    engines: [{name: gfx}]
    schedulers:
      - {name: s, engine: gfx, entities: [{name: q}], timedout_job: tdr}
paths:
  - name: tdr
    context: timedout_job
    steps: [{lock: "&gpu->reset_lock"}, {unlock: "&gpu->reset_lock"}]
  - name: teardown
    context: ioctl
    steps: [{lock: "&gpu->reset_lock"}, {cancel_work_sync: tdr}, {unlock: "&gpu->reset_lock"}]
`
	for _, mode := range []graph.Mode{graph.Lockdep, graph.Precise} {
		ds, out := run(t, src, mode)
		if rulesIn(ds) != "FC001" || !strings.Contains(out, "(work_completion)(tdr)") {
			t.Fatalf("%s mode: want the cycle through (work_completion)(tdr), got %s\n%s", mode, rulesIn(ds), out)
		}
	}
}

// count: on a job expands to NAME[0..N-1] in order: submit: NAME pushes
// them all, each queued behind the previous on the entity (FIFO), and an
// instance of a per-job lock keeps the copy's brackets whole.
func TestJobCount(t *testing.T) {
	src := `fencecheck: 1
devices:
  - name: gpu
    engines: [{name: gfx}]
    schedulers:
      - {name: s, engine: gfx, entities: [{name: q}]}
jobs:
  - {name: resubmit, entity: q, count: 3}
workload:
  - submit: resubmit
`
	sc, ds := model.Load("t.yaml", []byte(src), model.Options{})
	if len(ds) > 0 {
		t.Fatal(ds)
	}
	p := kernel.Compile(sc)
	if got := strings.Join(p.JobOrder, " "); got != "resubmit[0] resubmit[1] resubmit[2]" {
		t.Fatalf("jobs: %s", got)
	}
	var deps []string
	for _, d := range p.Jobs["resubmit[2]"].Deps {
		deps = append(deps, d.Kind+":"+d.On)
	}
	if strings.Join(deps, " ") != "entity-order:resubmit[1].finished" {
		t.Errorf("resubmit[2] must be queued behind resubmit[1]: %v", deps)
	}
	if c := kernel.ClassOf("&job->lock[resubmit[1]]"); c != "&job->lock" {
		t.Errorf("ClassOf of a counted job's lock instance: %q", c)
	}
	if c := kernel.ClassOf("&js->queue[j].lock"); c != "&js->queue[j].lock" {
		t.Errorf("a class name with brackets is not an instance: %q", c)
	}
}

// A fence callback runs under the fence's lock (fence: lock:): a callback
// that takes a lock held elsewhere around the fence's lock is an ABBA.
func TestFenceCallbackUnderFenceLock(t *testing.T) {
	src := func(lock string) string {
		return `locks:
  - {name: "&fence->lock", kind: spinlock, irq_safe: true}
  - {name: "&ring->lock", kind: spinlock, irq_safe: true}
fences:
  - {name: f, callback: cb` + lock + `}
paths:
  - name: cb
    context: fence_callback
    steps: [{lock: "&ring->lock"}, {unlock: "&ring->lock"}]
  - name: submit
    context: ioctl
    steps:
      - lock: "&ring->lock"
      - lock: "&fence->lock"          # dma_fence_add_callback under the ring lock
      - unlock: "&fence->lock"
      - unlock: "&ring->lock"
`
	}
	for _, mode := range []graph.Mode{graph.Lockdep, graph.Precise} {
		ds, out := run(t, src(`, lock: "&fence->lock"`), mode)
		if rulesIn(ds) != "FC001" || !strings.Contains(out, "&fence->lock") {
			t.Fatalf("%s mode: want the ABBA through the fence's lock, got %s\n%s", mode, rulesIn(ds), out)
		}
		wantClean(t, src(""), mode)
	}
}
