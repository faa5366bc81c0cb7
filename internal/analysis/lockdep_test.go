package analysis_test

import (
	"strings"
	"testing"

	"github.com/fencecheck/fencecheck/internal/analysis"
	"github.com/fencecheck/fencecheck/internal/diag"
	"github.com/fencecheck/fencecheck/internal/graph"
	"github.com/fencecheck/fencecheck/internal/group"
	"github.com/fencecheck/fencecheck/internal/model"
	"github.com/fencecheck/fencecheck/internal/report"
)

// run analyses a scenario in one mode and returns its findings and the
// text report.
func run(t *testing.T, src string, mode graph.Mode) ([]diag.Diagnostic, string) {
	t.Helper()
	data := []byte("fencecheck: 1\n" + src)
	sc, ds := model.Load("t.yaml", data, model.Options{})
	if sc == nil || len(ds) > 0 {
		t.Fatalf("scenario does not load: %+v", ds)
	}
	res := analysis.Run(sc, analysis.Options{Mode: mode})
	var b strings.Builder
	if err := report.Write(&b, "text", []report.FileResult{{Path: "t.yaml", Source: data, Diags: res.Diags, Scenario: true}}, report.Options{Quiet: true}); err != nil {
		t.Fatal(err)
	}
	return res.Diags, b.String()
}

// splat cuts the kernel-shaped part of a lockdep-mode report: from the
// "=====" bar to the end of the held-locks list.
func splat(t *testing.T, out string) string {
	t.Helper()
	i := strings.Index(out, "\n=")
	j := strings.Index(out, "\nshape: ")
	if i < 0 || j < i {
		t.Fatalf("no splat in:\n%s", out)
	}
	return out[i+1 : j]
}

func rulesIn(ds []diag.Diagnostic) string {
	var out []string
	for _, d := range ds {
		out = append(out, d.Rule)
	}
	return strings.Join(out, " ")
}

func wantClean(t *testing.T, src string, mode graph.Mode) {
	t.Helper()
	if ds, out := run(t, src, mode); len(ds) != 0 {
		t.Fatalf("%s mode: want clean, got %s\n%s", mode, rulesIn(ds), out)
	}
}

// The three lockdep false positives of issue 12: lockdep works on classes
// and cannot know an instance is private, so lockdep mode reports them with
// lockdep's chain; precise mode, which knows, stays clean.
func TestLockdepFalsePositivesReproduce(t *testing.T) {
	cases := []struct {
		name, src, want string
	}{
		{"lock held while creating a devfreq", `locks:
  - {name: "&gpu->lock", kind: mutex}
  - {name: "&devfreq->lock", kind: mutex}
paths:
  - name: gpu_init
    context: init
    steps:
      - lock: "&gpu->lock"
      - lock: "&devfreq->lock"
        unpublished: true
      - unlock: "&devfreq->lock"
      - unlock: "&gpu->lock"
  - name: devfreq_monitor
    context: worker
    steps:
      - lock: "&devfreq->lock"
      - lock: "&gpu->lock"
      - unlock: "&gpu->lock"
      - unlock: "&devfreq->lock"
`, `======================================================
WARNING: possible circular locking dependency detected
kernel 7.0 (fencecheck lockdep mode) t.yaml
------------------------------------------------------
devfreq_monitor is trying to acquire lock:
(&gpu->lock){+.+.}-{4:4}, at: t.yaml:18:15 (devfreq_monitor)

but task is already holding lock:
(&devfreq->lock){+.+.}-{4:4}, at: t.yaml:17:15 (devfreq_monitor)

which lock already depends on the new lock.


the existing dependency chain (in reverse order) is:

-> #1 (&devfreq->lock){+.+.}-{4:4}:
       (lock) &gpu->lock --> &devfreq->lock: lock: &devfreq->lock [gpu_init in init]
       at t.yaml:10:15
             - lock: "&devfreq->lock"
                     ^

-> #0 (&gpu->lock){+.+.}-{4:4}:
       (lock) &devfreq->lock --> &gpu->lock: lock: &gpu->lock [devfreq_monitor in worker]
       at t.yaml:18:15
             - lock: "&gpu->lock"
                     ^

other info that might help us debug this:

 Possible unsafe locking scenario:

       CPU0                    CPU1
       ----                    ----
  lock(&devfreq->lock);
                               lock(&gpu->lock);
                               lock(&devfreq->lock);
  lock(&gpu->lock);

 *** DEADLOCK ***

2 locks held by devfreq_monitor:
 #0: ((work_completion)(devfreq_monitor)){+.+.}-{0:0}, at: t.yaml:14:11 (devfreq_monitor)
 #1: (&devfreq->lock){+.+.}-{4:4}, at: t.yaml:17:15 (devfreq_monitor)
`},
		{"shrinker finalizer locks the dying object's resv", `buffers:
  - {name: bo}
shrinkers:
  - {name: shmem_shrinker, scan: shrinker_scan}
paths:
  - name: shrinker_scan
    context: shrinker_scan
    steps:
      - lock: bo
        unpublished: true
      - unlock: bo
`, `======================================================
WARNING: possible circular locking dependency detected
kernel 7.0 (fencecheck lockdep mode) t.yaml
------------------------------------------------------
shrinker_scan(shmem_shrinker) is trying to acquire lock:
(reservation_ww_class_mutex){+.+.}-{4:4}, at: t.yaml:10:15 (shrinker_scan)

but task is already holding lock:
(fs_reclaim){+.+.}-{0:0}, at: t.yaml:5:12 (shrinker_scan)

which lock already depends on the new lock.


the existing dependency chain (in reverse order) is:

-> #1 (fs_reclaim){+.+.}-{0:0}:
       (primed) reservation_ww_class_mutex --> fs_reclaim: primed at boot: dma_resv_lock → fs_reclaim_acquire(GFP_KERNEL)
       at dma_resv_lockdep() in drivers/dma-buf/dma-resv.c (K5)

-> #0 (reservation_ww_class_mutex){+.+.}-{4:4}:
       (lock) fs_reclaim --> reservation_ww_class_mutex: lock: bo [shrinker_scan in shrinker_scan]
       at t.yaml:10:15
             - lock: bo
                     ^

other info that might help us debug this:

 Possible unsafe locking scenario:

       CPU0                    CPU1
       ----                    ----
  lock(fs_reclaim);
                               lock(reservation_ww_class_mutex);
                               lock(fs_reclaim);
  lock(reservation_ww_class_mutex);

 *** DEADLOCK ***

1 lock held by shrinker_scan(shmem_shrinker):
 #0: (fs_reclaim){+.+.}-{0:0}, at: t.yaml:5:12 (shrinker_scan)
`},
		{"two instances of one class in get_pages and the shrinker", `locks:
  - {name: "&obj->mm.lock", kind: mutex}
shrinkers:
  - {name: i915_shrinker, scan: i915_shrink}
paths:
  - name: get_pages
    context: ioctl
    steps:
      - lock: "&obj->mm.lock"
        unpublished: true
      - alloc: GFP_KERNEL
      - unlock: "&obj->mm.lock"
  - name: i915_shrink
    context: shrinker_scan
    steps:
      - lock: "&obj->mm.lock"
      - unlock: "&obj->mm.lock"
`, `======================================================
WARNING: possible circular locking dependency detected
kernel 7.0 (fencecheck lockdep mode) t.yaml
------------------------------------------------------
get_pages is trying to acquire lock:
(fs_reclaim){+.+.}-{0:0}, at: t.yaml:12:16 (get_pages)

but task is already holding lock:
(&obj->mm.lock){+.+.}-{4:4}, at: t.yaml:10:15 (get_pages)

which lock already depends on the new lock.


the existing dependency chain (in reverse order) is:

-> #1 (&obj->mm.lock){+.+.}-{4:4}:
       (lock) fs_reclaim --> &obj->mm.lock: lock: &obj->mm.lock [i915_shrink in shrinker_scan]
       at t.yaml:17:15
             - lock: "&obj->mm.lock"
                     ^

-> #0 (fs_reclaim){+.+.}-{0:0}:
       (alloc) &obj->mm.lock --> fs_reclaim: kmalloc(GFP_KERNEL) [get_pages in ioctl]
       at t.yaml:12:16
             - alloc: GFP_KERNEL
                      ^

other info that might help us debug this:

 Possible unsafe locking scenario:

       CPU0                    CPU1
       ----                    ----
  lock(&obj->mm.lock);
                               lock(fs_reclaim);
                               lock(&obj->mm.lock);
  lock(fs_reclaim);

 *** DEADLOCK ***

1 lock held by get_pages:
 #0: (&obj->mm.lock){+.+.}-{4:4}, at: t.yaml:10:15 (get_pages)
`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ds, out := run(t, c.src, graph.Lockdep)
			if rulesIn(ds) != "FC001" {
				t.Fatalf("lockdep mode: want one FC001, got %s\n%s", rulesIn(ds), out)
			}
			if got := splat(t, out); got != c.want {
				t.Errorf("lockdep splat differs:\n--- got\n%s--- want\n%s", got, c.want)
			}
			wantClean(t, c.src, graph.Precise)
		})
	}
}

const msmRunJob = `locks:
  - {name: "&gpu->lock", kind: mutex}
devices:
  - name: gpu
    engines: [{name: ring0}]
    schedulers:
      - {name: sched0, engine: ring0, entities: [{name: q0}]ANNOTATE}
jobs:
  - {name: job, entity: q0, run_job: msm_job_run}
paths:
  - name: msm_job_run
    context: run_job
    steps:
      - lock: "&gpu->lock"
BEGIN      - alloc: GFP_KERNEL
      - unlock: "&gpu->lock"
workload:
  - submit: job
`

func msm(annotate string, begin bool) string {
	s := strings.Replace(msmRunJob, "ANNOTATE", annotate, 1)
	b := ""
	if begin {
		b = "      - begin_signalling: job\n"
	}
	return strings.Replace(s, "BEGIN", b, 1)
}

// A driver that annotates inside its own run_job (msm takes gpu->lock, then
// calls dma_fence_begin_signalling()) opens the section at that step: the
// splat's chain line, and gpu->lock only among the held locks. Without the
// driver's annotation, mainline drm_sched annotates nothing, so lockdep
// mode is clean while precise mode still reports the allocation.
func TestLockdepRunJobAnnotation(t *testing.T) {
	ds, out := run(t, msm("", true), graph.Lockdep)
	if rulesIn(ds) != "FC001" {
		t.Fatalf("want FC001, got %s\n%s", rulesIn(ds), out)
	}
	for _, want := range []string{
		"run_job(job) is trying to acquire lock:\n(fs_reclaim){+.+.}-{0:0}, at: t.yaml:17:16 (msm_job_run)\n",
		"but task is already holding lock:\n(dma_fence_map){++++}-{0:0}, at: t.yaml:16:27 (msm_job_run)\n",
		"Chain exists of:\n  fs_reclaim --> mmu_notifier_invalidate_range_start --> dma_fence_map\n",
		"\n  rlock(dma_fence_map);\n                               lock(mmu_notifier_invalidate_range_start);\n                               lock(dma_fence_map);\n  lock(fs_reclaim);\n",
		"2 locks held by run_job(job):\n #0: (&gpu->lock){+.+.}-{4:4}, at: t.yaml:15:15 (msm_job_run)\n #1: (dma_fence_map){++++}-{0:0}, at: t.yaml:16:27 (msm_job_run)\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("lockdep output lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(ds[0].ChainExists, "&gpu->lock") {
		t.Errorf("the section starts after gpu->lock: %s", ds[0].ChainExists)
	}
	// No annotation anywhere: lockdep sees no section.
	wantClean(t, msm("", false), graph.Lockdep)
	if ds, _ := run(t, msm("", false), graph.Precise); !strings.Contains(rulesIn(ds), "FC001") {
		t.Errorf("precise mode must still see run_job as signalling code: %s", rulesIn(ds))
	}
	// A declared context is not silently overridden: a run_job path must
	// say run_job.
	_, lint := model.Load("t.yaml", []byte("fencecheck: 1\n"+strings.Replace(msm("", true), "    context: run_job", "    context: worker", 1)), model.Options{})
	if len(lint) != 1 || !strings.Contains(lint[0].Message, `path "msm_job_run" runs as a job's run_job, so its context is run_job, not worker`) {
		t.Errorf("want the overridden context reported, got %+v", lint)
	}
	// The scheduler annotates (annotate: true): the section holds from
	// run_job's first step, so gpu->lock is taken inside it.
	ds, out = run(t, msm(", annotate: true", false), graph.Lockdep)
	if rulesIn(ds) != "FC001" || !strings.Contains(out, "#0: (dma_fence_map)") {
		t.Errorf("annotated scheduler: want FC001 with dma_fence_map held first, got %s\n%s", rulesIn(ds), out)
	}
}

// A design whose only problem is a hang: no lockdep kernel prints anything,
// precise mode reports the hang and the unsignalled fence, and --mode both
// reports them too.
func TestLockdepModeOmitsExecutionFindings(t *testing.T) {
	src := `devices:
  - name: gpu
    engines: [{name: ring0}]
    schedulers:
      - {name: sched0, engine: ring0, entities: [{name: q0}]}
jobs:
  - {name: job, entity: q0, hang: true}
paths:
  - name: wait_ioctl
    context: ioctl
    steps:
      - wait: job
workload:
  - submit: job
  - run: wait_ioctl
`
	wantClean(t, src, graph.Lockdep)
	// The unsignalled fence is the hang's consequence (internal/group).
	if ds, _ := run(t, src, graph.Precise); rulesIn(group.Flatten(ds)) != "FC003 FC004" || len(ds) != 1 {
		t.Errorf("precise: want FC003 with FC004 as its consequence, got %s", rulesIn(group.Flatten(ds)))
	}
	ds, _ := run(t, src, graph.Both)
	if rulesIn(group.Flatten(ds)) != "FC003 FC004" || ds[0].Mode != "precise" {
		t.Errorf("both: want the precise findings, got %s", rulesIn(ds))
	}
}

// Atomic contexts are not signalling sections for lockdep
// (dma_fence_begin_signalling() returns early in_atomic()), and a fault
// handler is one only for jobs that fault.
func TestLockdepSectionsOnlyWhereAnnotated(t *testing.T) {
	src := `locks:
  - {name: "&dev->irq_lock", kind: spinlock, irq_safe: true}
  - {name: "&vm->fault_lock", kind: mutex}
devices:
  - name: gpu
    engines: [{name: ring0}]
    schedulers:
      - {name: sched0, engine: ring0, entities: [{name: q0}]}
    mmu: {recoverable_faults: true, fault_handler: gpu_fault}
jobs:
  - {name: job, entity: q0, callback: job_cb}
paths:
  - name: gpu_irq
    context: irq
    steps:
      - lock: "&dev->irq_lock"
      - unlock: "&dev->irq_lock"
  - name: job_cb
    context: fence_callback
    steps:
      - lock: "&dev->irq_lock"
      - unlock: "&dev->irq_lock"
  - name: gpu_fault
    context: fault_handler
    steps:
      - lock: "&vm->fault_lock"
      - unlock: "&vm->fault_lock"
workload:
  - submit: job
`
	sc, ds := model.Load("t.yaml", []byte("fencecheck: 1\n"+src), model.Options{})
	if len(ds) > 0 {
		t.Fatalf("%+v", ds)
	}
	edges := func(mode graph.Mode) map[string]bool {
		res := analysis.Run(sc, analysis.Options{Mode: mode})
		out := map[string]bool{}
		for _, e := range res.Graph.Edges() {
			out[e.From+" -> "+e.To] = true
		}
		return out
	}
	ld := edges(graph.Lockdep)
	for _, e := range []string{"dma_fence_map -> &dev->irq_lock", "dma_fence_map -> &vm->fault_lock"} {
		if ld[e] {
			t.Errorf("lockdep mode has %s, which no kernel records", e)
		}
	}
	if !edges(graph.Precise)["job.finished -> &dev->irq_lock"] {
		t.Errorf("precise mode lost the callback's section")
	}
}

// Class names and the unsafe table follow the kernel release: &mm->mmap_sem
// before v5.8, rlock( for a read source only since v6.4; the built-in
// short name and every lockdep spelling are accepted in the file.
func TestLockdepProfileNamesAndTable(t *testing.T) {
	src := `kernel: {version: "VERSION"}
locks:
  - {name: "&vm->lock", kind: mutex}
paths:
  - name: bind
    context: ioctl
    steps:
      - lock: mmap_lock
      - lock: "&vm->lock"
      - unlock: "&vm->lock"
      - unlock: mmap_lock
  - name: fault
    context: process
    steps:
      - lock: "&vm->lock"
      - lock: MMAP
        mode: read
      - unlock: MMAP
      - unlock: "&vm->lock"
`
	for _, c := range []struct{ version, spelling, class, last string }{
		{"7.0", "&mm->mmap_lock", "&mm->mmap_lock", "  rlock(&mm->mmap_lock);"},
		{"6.1", "mmap_lock", "&mm->mmap_lock", "  lock(&mm->mmap_lock);"},
		{"5.7", "&mm->mmap_sem", "&mm->mmap_sem", "  lock(&mm->mmap_sem);"},
	} {
		s := strings.NewReplacer("VERSION", c.version, "MMAP", `"`+c.spelling+`"`).Replace(src)
		ds, out := run(t, s, graph.Lockdep)
		if rulesIn(ds) != "FC001" {
			t.Fatalf("%s: want FC001, got %s\n%s", c.version, rulesIn(ds), out)
		}
		table := "       CPU0                    CPU1\n       ----                    ----\n  lock(&vm->lock);\n" +
			"                               lock(" + c.class + ");\n                               lock(&vm->lock);\n" + c.last + "\n"
		if !strings.Contains(out, table) || !strings.Contains(out, "kernel "+c.version+" (fencecheck lockdep mode)") {
			t.Errorf("%s: want table\n%s\nin\n%s", c.version, table, out)
		}
		if ds, _ := run(t, s, graph.Precise); !strings.Contains(strings.Join(ds[0].Cycle, " "), "mmap_lock") {
			t.Errorf("precise mode keeps the built-in name: %v", ds[0].Cycle)
		}
	}
}

// dma_fence_begin_signalling() became a read-trylock in v6.13: case 29's
// false positive (begin_signalling under a lock that a waiter also takes)
// is reported by a v6.12 kernel and not by later ones.
func TestLockdepBeginSignallingPerRelease(t *testing.T) {
	src := `kernel: {version: "VERSION"}
locks:
  - {name: tainted, kind: mutex}
fences:
  - {name: f}
paths:
  - name: upper
    context: ioctl
    steps:
      - lock: tainted
      - begin_signalling: f
      - end_signalling: f
      - unlock: tainted
  - name: waiter
    context: ioctl
    steps:
      - wait: f
      - lock: tainted
      - unlock: tainted
  - name: signaller
    context: ioctl
    steps:
      - begin_signalling: f
      - lock: tainted
      - unlock: tainted
      - end_signalling: f
`
	wantClean(t, strings.Replace(src, "VERSION", "6.13", 1), graph.Lockdep)
	ds, out := run(t, strings.Replace(src, "VERSION", "6.12", 1), graph.Lockdep)
	if rulesIn(ds) != "FC001" || !strings.Contains(out, "-> #1 (dma_fence_map){++++}-{0:0}:\n       (lock) tainted --> dma_fence_map") {
		t.Errorf("6.12: want the read-lock edge tainted --> dma_fence_map closing a cycle, got %s\n%s", rulesIn(ds), out)
	}
}

// An acquire context takes the class of the ww mutexes it locks: a modeset
// transaction (crtc_ww_class) followed by a drm_exec transaction on a BO is
// two classes, not a cycle; one context used for both is a lint error.
func TestWWAcquireClass(t *testing.T) {
	src := `locks:
  - {name: crtc_lock, kind: ww_mutex, ww_class: crtc_ww_class}
buffers:
  - {name: bo}
paths:
  - name: atomic_commit
    context: ioctl
    steps:
      - ww_acquire_init: modeset
      - lock: crtc_lock
        ctx: modeset
      - ww_acquire_init: exec
      - lock: bo
        ctx: exec
      - ww_acquire_fini: exec
      - ww_acquire_fini: modeset
  - name: exec_ioctl
    context: ioctl
    steps:
      - ww_acquire_init: exec
      - lock: bo
        ctx: exec
      - ww_acquire_fini: exec
`
	wantClean(t, src, graph.Lockdep)
	wantClean(t, src, graph.Precise)
	sc, _ := model.Load("t.yaml", []byte("fencecheck: 1\n"+src), model.Options{})
	res := analysis.Run(sc, analysis.Options{Mode: graph.Lockdep})
	if res.Graph.Node("crtc_ww_class_acquire") == nil {
		t.Errorf("the modeset context should be crtc_ww_class_acquire")
	}
	bad := strings.Replace(src, "      - ww_acquire_init: exec\n      - lock: bo\n        ctx: exec\n      - ww_acquire_fini: exec\n      - ww_acquire_fini: modeset",
		"      - lock: bo\n        ctx: modeset\n      - ww_acquire_fini: modeset", 1)
	_, lint := model.Load("t.yaml", []byte("fencecheck: 1\n"+bad), model.Options{})
	if len(lint) != 1 || !strings.Contains(lint[0].Message, "one acquire context serves one ww class") || lint[0].Pos.Line != 13 {
		t.Errorf("want one cross-class lint error at line 13, got %+v", lint)
	}
}

// SRCU: since v6.4 synchronize_srcu() is lock_sync() and srcu_read_lock()
// a checked recursive read, so a reader taking a mutex the updater holds
// across synchronize_srcu() is reported, the table's source line saying
// sync(; before v6.4 lockdep sees nothing (precise mode always does).
func TestLockdepSRCUSync(t *testing.T) {
	src := `kernel: {version: "VERSION"}
locks:
  - {name: "&dev->srcu", kind: srcu}
  - {name: "&dev->lock", kind: mutex}
paths:
  - name: reader
    context: ioctl
    steps:
      - lock: "&dev->srcu"
      - lock: "&dev->lock"
      - unlock: "&dev->lock"
      - unlock: "&dev->srcu"
  - name: updater
    context: ioctl
    steps:
      - lock: "&dev->lock"
      - sync: "&dev->srcu"
      - unlock: "&dev->lock"
`
	ds, out := run(t, strings.Replace(src, "VERSION", "6.4", 1), graph.Lockdep)
	table := "  lock(&dev->lock);\n                               lock(&dev->srcu);\n                               lock(&dev->lock);\n  sync(&dev->srcu);\n"
	if rulesIn(ds) != "FC001" || !strings.Contains(out, table) {
		t.Errorf("6.4: want FC001 with the sync( table, got %s\n%s", rulesIn(ds), out)
	}
	wantClean(t, strings.Replace(src, "VERSION", "6.3", 1), graph.Lockdep)
	if ds, _ := run(t, strings.Replace(src, "VERSION", "6.3", 1), graph.Precise); rulesIn(ds) != "FC001" {
		t.Errorf("precise mode sees the SRCU dependency whatever the release: %s", rulesIn(ds))
	}
}
