// Package kernel compiles a scenario onto the modeled kernel: the domain
// layer (devices, jobs, buffers, userptrs, VMs, workload) is lowered to the
// path layer (threads of primitive operations), and the kernel's fixed
// knowledge is added — which contexts are signalling code, what each GFP
// flag implies, what reclaim may call, and the lockdep priming order.
//
// The compiled Program is consumed by internal/graph (the lockdep-style
// dependency analysis) and internal/exec (execution to completion).
package kernel

import (
	"github.com/fencecheck/fencecheck/internal/model"
)

// Kernel pseudo-lock and core lock classes, named as lockdep prints them
// (K1).
const (
	FsReclaim   = "fs_reclaim"
	MMUNotifier = "mmu_notifier_invalidate_range_start"
	FenceMap    = "dma_fence_map"
	WWAcquire   = "reservation_ww_class_acquire"
	WWMutex     = "reservation_ww_class_mutex"
	MmapLock    = "mmap_lock"
	IMmapRwsem  = "i_mmap_rwsem"
)

// OpKind enumerates primitive operations.
type OpKind uint8

const (
	OpAcquire   OpKind = iota // lock, or a pseudo-lock acquire
	OpRelease                 // unlock
	OpMight                   // might_lock / touch: acquire + release
	OpAlloc                   // memory allocation (GFP in Op.GFP)
	OpScopeSave               // memalloc_*_save
	OpScopeRest               // memalloc_*_restore
	OpWait                    // dma_fence_wait on Fence
	OpWaitResv                // wait for every fence of Obj's resv up to Usage
	OpSignal                  // dma_fence_signal(Fence)
	OpBeginSig                // dma_fence_begin_signalling(Fence)
	OpEndSig                  // dma_fence_end_signalling(Fence)
	OpWWInit                  // ww_acquire_init(Ctx)
	OpWWDone                  // ww_acquire_done(Ctx)
	OpWWFini                  // ww_acquire_fini(Ctx)
	OpReserve                 // dma_resv_reserve_fences(Obj, Count)
	OpAddFence                // dma_resv_add_fence(Obj, Fence, Usage)
	OpReplace                 // replace the fences of Obj with Fence
	OpPin
	OpUnpin
	OpMapPages
	OpZapPTEs
	OpTLBFlush
	OpFreePages
	OpEvict
	OpReadBegin
	OpReadRetry
	OpSetSeq
	OpRegNotifier
	OpVMUpdate
	OpWritePTE
	OpSubmit // arm + push a job (publishes its fence)
	OpQueueWork
	OpFlushWork
	OpSleep
	OpFail
	OpMunmap // the user range is removed (munmap detaches the VMA first)
	// OpLocalIRQ and OpLocalBH change the interrupt state (Scope: disable,
	// enable, save, restore); they matter to lockdep's usage tracking only.
	OpLocalIRQ
	OpLocalBH
	OpGet // take a reference on Obj (Try: kref_get_unless_zero)
	OpPut // drop a reference on Obj; the last runs Then (the finalizer)
	// OpFlushWQ touches a workqueue's lockdep map, (wq_completion)NAME in
	// Lock (touch_wq_lockdep_map in kernel/workqueue.c): flush_workqueue,
	// drain_workqueue, and flush_work on an ordered or WQ_MEM_RECLAIM
	// queue. The waits themselves are the OpFlushWork ops that follow.
	OpFlushWQ
	// OpAssertHeld is lockdep_assert_held(Lock/Inst): the graph checks the
	// walking thread holds it.
	OpAssertHeld
)

// Mode of an acquisition, in lockdep's terms (K16).
type Mode uint8

const (
	Write         Mode = iota // exclusive
	Read                      // non-recursive shared reader
	RecursiveRead             // recursive reader
)

func (m Mode) String() string {
	switch m {
	case Read:
		return "read"
	case RecursiveRead:
		return "recursive_read"
	}
	return "write"
}

// Op is one primitive operation with its provenance.
//
// A lockdep-scale design compiles to millions of ops, almost all lock and
// unlock steps of driver locks, so Op keeps inline
// only what lock and unlock need and moves the operands of the other kinds behind a
// pointer (OpExt), and shares its place with the other ops of its path: 392
// bytes per op became 112.
type Op struct {
	// Lock is the lock-class node for acquire/release (subclass folded in as
	// "name/N").
	Lock string
	// Inst is the lock instance the step acquires or releases: "resv:OBJ"
	// for a dma_resv, the class name for a single-instance driver lock
	// (subclasses are annotations, not other locks: *_lock_nested takes the
	// same mutex). The executor tracks locks by Inst; ClassOf maps it back.
	Inst string
	Text string // the step as the user wrote it, for reports

	Pos model.Pos
	// place is the path whose step this is and the context it runs in,
	// shared by the ops of one path (InPath, Context).
	place *Place

	// ext holds the rarely set operands; nil when all are zero. Read them
	// with Ext(), write them with Mut() (copy on write: copies of an op
	// share ext).
	ext *OpExt

	// The small fields last, packed.

	// FailTo is where execution continues when the step fails (a contended
	// trylock): the index of that op relative to this one (> 0), computed
	// from the step's on_fail: at compile time. 0: the step cannot fail.
	FailTo int32
	Count  int32
	GFP    uint32
	// LockID is Lock interned: its index in Program.LockNames, so that the
	// graph resolves it without hashing the name. 0: not interned (use
	// Lock); a consumer also checks LockNames[LockID] == Lock, so an op
	// copied with another Lock stays correct.
	LockID int32
	Kind   OpKind
	Mode   Mode
	Try    bool
	// Unpublished: the instance is invisible to other threads (R-none;
	// product brief 3): no class-level edges.
	Unpublished   bool
	Interruptible bool
	NoLockdep     bool
	Atomic        bool
	// Sync: synchronize_srcu(), an acquire that is never held (lock_sync()).
	Sync bool
	// WWCtx marks the acquire of an acquire context's own map (the graph
	// walk's ww_acquire_init).
	WWCtx bool
	// Primed marks ops of a driver's lockdep priming function (context
	// prime): they assert an order, they are not real code (case 09).
	Primed bool
	// Synthetic marks ops the compiler generated (job submission, implicit
	// sync), positioned at the declaration that caused them.
	Synthetic bool
}

// OpExt is the part of an op that lock, unlock and alloc steps of driver
// locks leave empty.
type OpExt struct {
	// Obj names the buffer/VM/userptr/device for object ops, and the
	// object of a per-object lock.
	Obj string
	// Fence is the fence a wait, signal, signalling section or add_fence
	// names (a few percent of a lockdep-scale design's ops).
	Fence string
	// Then is the object's finalizer (its free: path bound to it), run by
	// the put that drops the last reference.
	Then     []Op
	NestLock string
	Ctx      string
	// IRQ is the interrupt variant of a lock/unlock call site:
	// spin_lock_irq (disable), _irqsave (save), _bh (bh); spin_unlock_irq
	// (enable), _irqrestore (restore), _bh (bh).
	IRQ    string
	Scope  string
	Usage  string
	VM     string
	VMOp   string
	Range  []int64
	Job    string
	Path   string // target path for call-like ops (queue/flush work)
	Buffer string // the object itself, when Obj is the resv it shares
}

// Place is where an op's step is written: the path it belongs to and the
// context that path runs in. The ops of one path expansion share one, so
// a Place is never written after NewPlace.
type Place struct{ path, ctx string }

// NewPlace returns the place of the steps of path when it runs in ctx.
func NewPlace(path, ctx string) *Place { return &Place{path, ctx} }

// InPath is the path whose step the op is ("" for a synthetic op of no
// path).
func (o *Op) InPath() string {
	if o.place == nil {
		return ""
	}
	return o.place.path
}

// Context is the context the op runs in.
func (o *Op) Context() string {
	if o.place == nil {
		return ""
	}
	return o.place.ctx
}

// Place returns the op's place, to give another op the same one.
func (o *Op) Place() *Place { return o.place }

// SetPlace moves the op to p.
func (o *Op) SetPlace(p *Place) { o.place = p }

// noExt is what Ext returns for an op without operands; never written
// (TestNoExtStaysZero).
var noExt OpExt

// Ext returns the op's rarely set operands, for reading only.
func (o *Op) Ext() *OpExt {
	if o.ext != nil {
		return o.ext
	}
	return &noExt
}

// setObjIRQ sets the object and IRQ variant of a lock step, leaving an op
// that names neither without operands.
func (o *Op) setObjIRQ(obj, irq string) {
	if obj != "" || irq != "" || o.ext != nil {
		x := o.Mut()
		x.Obj, x.IRQ = obj, irq
	}
}

// Mut returns the op's operands for writing: a private copy, since copies
// of an op share them.
func (o *Op) Mut() *OpExt {
	e := new(OpExt)
	if o.ext != nil {
		*e = *o.ext
	}
	o.ext = e
	return e
}

// Held is a lock or section held when a thread starts: the context's
// implicit state (e.g. a notifier runs under mmu_notifier_invalidate_range_start).
type Held struct {
	Lock string
	Mode Mode
	Try  bool
	// Section marks a fence signalling section (the Lock is the fence).
	Section bool
	Why     string
	Pos     model.Pos
	// Unannotated says why a lockdep kernel records nothing for this
	// implicit hold ("" means it does): drm_sched does not annotate the
	// callback, dma_fence_begin_signalling() returns early in atomic
	// context, no job faults on the device. Lockdep mode skips such holds;
	// precise mode keeps them, because the design still depends on them.
	Unannotated string
}

// Thread is one task executing ops.
type Thread struct {
	Name    string
	Context string
	Root    string // root path, or the action that created the thread
	Entry   []Held
	Ops     []Op
	Pos     model.Pos
	Primed  bool
	// Atomic: the context cannot sleep (IRQ, fence callback, non-blockable
	// notifier).
	Atomic bool
	// Workload: created by a workload action (it runs in the executor);
	// otherwise it is a coverage thread for a declared callback that the
	// analysis checks on its own, as lockdep would once the path has run.
	Workload bool
	// Order is the workload index (for executor start order).
	Order int
	// Job is the job a submit thread submits.
	Job string
	// Device is the device a fault-handler thread serves.
	Device string
	// Trigger names what starts the thread in the executor: "" (at start),
	// "job-ready:<job>" (run_job when deps signalled), etc.
	Trigger string
}

// FenceInfo describes a fence the model knows.
type FenceInfo struct {
	Name       string
	Context    string
	Seqno      int64
	Foreign    bool
	Indefinite bool
	Job        string // producing job, if any
	Pos        model.Pos
	// NoTimeout names the scheduler of a job fence whose scheduler never
	// times jobs out (timeout: infinite): nothing bounds its signalling
	// (R17).
	NoTimeout string
	// NoDmaFence: the fence of a job with dma_fence: false. It tracks the
	// job's completion for the executor; no dma_fence is published, so no
	// one can wait on it and reclaim never does.
	NoDmaFence bool
	// Components are the fences a dma_fence_array or dma_fence_chain link
	// waits for; it signals once all have (Chain: from irq_work).
	Components []string
	Chain      bool
	// Deps are fences this fence's signalling depends on (job in-fences and
	// implicit-sync dependencies), with the position that created each.
	Deps []FenceDep
}

// FenceDep is a fence → fence dependency.
type FenceDep struct {
	On   string
	Pos  model.Pos
	Why  string
	Kind string // "dependency" or "implicit-sync"
}

// Program is a compiled scenario.
type Program struct {
	Scenario *model.Scenario
	File     string
	Threads  []*Thread
	Fences   map[string]*FenceInfo
	// FenceOrder lists fence names in declaration order.
	FenceOrder []string
	// Notifiers maps a userptr to its invalidate path; Shrinkers lists scan
	// paths. Reclaim may call every one of them (K11).
	MMUNotifier bool // CONFIG_MMU_NOTIFIER
	// Profile is the kernel release's lockdep-visible facts (kernel.version).
	Profile  Profile
	Jobs     map[string]*JobInfo
	JobOrder []string
	// lockKinds caches LockKind (it is asked once per acquisition).
	lockKinds map[string]string
	irqSafe   map[string]bool
	// Reclaim is what direct reclaim runs: every shrinker and every mmu
	// notifier under fs_reclaim (K11). The executor runs it inline
	// when an allocation enters reclaim.
	Reclaim []Op
	// OverBudget: expanding the design's paths for all their roles would
	// exceed the compile budget; the program is incomplete and must not be
	// analysed (the analysis reports FC-L011 instead).
	OverBudget bool
	// Observed are the dependencies of the scenario's bases (base.go).
	Observed []ObservedDep
	// LockNames interns the lock nodes of the ops: Op.LockID indexes it,
	// and index 0 is "" (not interned).
	LockNames []string
}

// JobInfo is a compiled job.
type JobInfo struct {
	Name      string
	Fence     string
	Entity    string
	Scheduler string
	Engine    string
	Device    string
	Deps      []FenceDep
	Hang      bool
	Duration  int64
	Pos       model.Pos
	RunJob    string
	FreeJob   string
	Callback  string
	Timeout   string
	KernelQ   bool
	// PrepareJob is the job's prepare_job path (drm_sched_backend_ops).
	PrepareJob string
	// NoFence: the job publishes no dma_fence (dma_fence: false).
	NoFence bool
	// Faults: the job accesses memory through recoverable GPU page faults
	// and stalls until the device's fault handler resolves them.
	Faults bool
}
