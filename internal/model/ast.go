package model

import "github.com/fencecheck/fencecheck/internal/diag"

// Pos is re-exported so callers rarely need to import diag.
type Pos = diag.Pos

// Scalar wrappers keep the position of every value. P is the value's node
// position (the key's position is kept in the enclosing struct's KeyPos map).
type (
	Str struct {
		V string
		P Pos
	}
	Int struct {
		V   int64
		P   Pos
		Set bool
	}
	Bool struct {
		V   bool
		P   Pos
		Set bool
	}
)

// IntList is a list of integers; a single integer is accepted too.
type IntList []Int

// StrList is a list of strings; a single scalar is accepted as a one-element
// list so that `deps: fence_A` and `deps: [fence_A, fence_B]` both work.
type StrList []Str

// Struct tags used below (read by the decoder, the schema generator and the
// reference-doc generator; see decode.go):
//
//	fc:"key[,required][,enum=SET][,ref=KIND|KIND][,decl=KIND][,op]"
//	doc:"one line of documentation"
//
// decl=KIND declares the value as a name of that kind in the file's single
// namespace; ref=KIND requires it to name an object of one of those kinds.
// op marks the operation keys of a step (exactly one per step).

// File is a scenario file.
type File struct {
	P           Pos
	Fencecheck  Int          `fc:"fencecheck,required" doc:"Format version. Must be 1."`
	Name        Str          `fc:"name" doc:"Short title of the design, used in reports."`
	Description Str          `fc:"description" doc:"What the scenario models and why; free text."`
	Kernel      *Kernel      `fc:"kernel" doc:"Kernel configuration the design runs under."`
	Locks       []Lock       `fc:"locks" doc:"Driver lock classes (kernel pseudo-locks are built in)."`
	Devices     []Device     `fc:"devices" doc:"GPUs and other DMA devices."`
	Fences      []Fence      `fc:"fences" doc:"Fences not produced by a job: foreign fences, user fences, fences signalled by paths."`
	Buffers     []Buffer     `fc:"buffers" doc:"GEM objects, each with a dma_resv."`
	DmaBufs     []DmaBuf     `fc:"dmabufs" doc:"Buffers exported by one device and imported by others."`
	Userptrs    []Userptr    `fc:"userptrs" doc:"User address ranges tracked by an mmu interval notifier."`
	VMs         []VM         `fc:"vms" doc:"GPU virtual address spaces (drm_gpuvm)."`
	Jobs        []Job        `fc:"jobs" doc:"GPU jobs submitted through drm_sched entities."`
	Shrinkers   []Shrinker   `fc:"shrinkers" doc:"Shrinkers registered by the driver; reclaim may call any of them."`
	Completions []Completion `fc:"completions" doc:"struct completion objects (and wait-queue style waits): wait_for_completion blocks until a path calls complete."`
	Resources   []Resource   `fc:"resources" doc:"Hardware resources shared between engines (e.g. a compute-unit pool), and whether a holder stalled on a page fault gives them up."`
	Workqueues  []Workqueue  `fc:"workqueues" doc:"Workqueues (alloc_workqueue/alloc_ordered_workqueue); worker paths name theirs with workqueue:."`
	Paths       []Path       `fc:"paths" doc:"Driver code paths as ordered steps, each in an execution context."`
	Workload    []Action     `fc:"workload" doc:"What userspace and the system do, in order."`
	Expect      []Expect     `fc:"expect" doc:"The verdicts this scenario must produce (checked by fencecheck test)."`
	Base        StrList      `fc:"base" doc:"Base files included (paths relative to this file): their lock classes and observed dependencies join this scenario's (see docs/import.md)."`
	Observed    []Observed   `fc:"observed" doc:"Dependencies a running kernel's lockdep observed (fencecheck import lockdep writes them): facts, like the kernel prelude."`
}

// Kernel is the kernel configuration.
type Kernel struct {
	P           Pos
	MMUNotifier Bool `fc:"mmu_notifier" doc:"CONFIG_MMU_NOTIFIER (default true). When false, reclaim is primed straight to dma_fence_map (K5)."`
	Version     Str  `fc:"version,enum=kernelversion" doc:"Kernel release whose lockdep-visible facts apply (class names, annotations, splat wording), e.g. \"6.8\"; default the newest modelled (docs/model.md, kernel profiles)."`
}

// Lock is a driver lock class.
type Lock struct {
	P       Pos
	Name    Str  `fc:"name,required,decl=lock" doc:"Lock class name as lockdep would print it, e.g. &vm->lock."`
	Kind    Str  `fc:"kind,required,enum=lockkind" doc:"mutex, spinlock (spinlock_t), raw_spinlock, rwsem, rwlock, ww_mutex, map (a lockdep_map pseudo-lock), srcu (an srcu_struct: lock/unlock are srcu_read_lock/unlock, recursive readers), or semaphore (down/up: sleeps, invisible to lockdep; console_lock is console_sem plus a map)."`
	IRQSafe Bool `fc:"irq_safe" doc:"Spinlocks/rwlocks: taken with interrupts disabled (spin_lock_irqsave) everywhere."`
	WWClass Str  `fc:"ww_class" doc:"ww_mutex: the ww class name (default reservation_ww_class)."`
	// Instances: one lock per object of a kind, or per listed object.
	Per       Str     `fc:"per,enum=perkind" doc:"One instance of this lock per object of this kind (buffer, vm, userptr, dmabuf, device, engine, job); steps name the instance with of:."`
	Instances StrList `fc:"instances,ref=buffer|vm|userptr|dmabuf|device|engine|job" doc:"One instance of this lock per listed object; steps name the instance with of:."`
}

// Device is a GPU or other DMA device.
type Device struct {
	P          Pos
	Name       Str         `fc:"name,required,decl=device" doc:"Device name."`
	Engines    []Engine    `fc:"engines" doc:"Hardware engines/rings; each executes its jobs in order."`
	Schedulers []Scheduler `fc:"schedulers" doc:"drm_sched schedulers, one per hardware ring."`
	MMU        *MMU        `fc:"mmu" doc:"The device MMU."`
}

// Engine is a hardware ring.
type Engine struct {
	P      Pos
	Name   Str  `fc:"name,required,decl=engine" doc:"Engine name."`
	Kind   Str  `fc:"kind,enum=enginekind" doc:"gfx, compute, copy, video or paging (default gfx)."`
	Kernel Bool `fc:"kernel" doc:"Kernel-only ring: only kernel entities submit to it."`
}

// Scheduler is a drm_gpu_scheduler feeding one engine.
type Scheduler struct {
	P        Pos
	Name     Str      `fc:"name,required,decl=scheduler" doc:"Scheduler name."`
	Engine   Str      `fc:"engine,required,ref=engine" doc:"The engine it feeds."`
	Entities []Entity `fc:"entities" doc:"Scheduler entities (queues); a job is pushed to one."`
	Timeout  Str      `fc:"timedout_job,ref=path" doc:"Path run as timedout_job when a job hangs (signalling code, R16, R17)."`
	Lockup   Str      `fc:"timeout,enum=schedtimeout" doc:"The job timeout: default (hung jobs time out and timedout_job recovers them) or infinite (MAX_SCHEDULE_TIMEOUT: a hung job's fence never signals, R17)."`
	Annotate Bool     `fc:"annotate" doc:"The scheduler core brackets run_job/free_job/timedout_job with dma_fence_begin/end_signalling (default false: mainline drm_sched does not; drivers annotate inside their callbacks). Only lockdep mode looks at it."`
}

// Entity is a drm_sched_entity.
type Entity struct {
	P      Pos
	Name   Str  `fc:"name,required,decl=entity" doc:"Entity name."`
	Kernel Bool `fc:"kernel" doc:"Kernel-only entity (e.g. page-table updates); userspace cannot queue to it."`
}

// MMU is a device MMU.
type MMU struct {
	P                 Pos
	RecoverableFaults Bool `fc:"recoverable_faults" doc:"The GPU retries faulting accesses and the driver handles faults (R19)."`
	Levels            Int  `fc:"levels,min=1,max=6" doc:"Page-table levels (root directory stays resident; default 2)."`
	FaultHandler      Str  `fc:"fault_handler,ref=path" doc:"Path run in fault_handler context for a GPU page fault."`
}

// Fence is a standalone fence.
type Fence struct {
	P          Pos
	Name       Str     `fc:"name,required,decl=fence" doc:"Fence name."`
	Context    Str     `fc:"context" doc:"Fence context (timeline); fences of one context signal in seqno order (R14). Default: its own."`
	Seqno      Int     `fc:"seqno,min=0" doc:"Sequence number within the context."`
	Foreign    Bool    `fc:"foreign" doc:"Signalled by a driver outside the model; treated conservatively (may depend on any fence, may allocate)."`
	Array      StrList `fc:"array,ref=fence|job" doc:"A dma_fence_array of these fences: it signals once all of them have (dma_fence_array_create with signal_on_any false)."`
	Chain      StrList `fc:"chain,ref=fence|job" doc:"A dma_fence_chain link [previous link, fence] (or [fence] for the first): it signals once both have, from irq_work (dma_fence_chain_irq_work)."`
	Callback   Str     `fc:"callback,ref=path" doc:"Path run as a dma_fence_add_callback callback when the fence signals (atomic context, R25)."`
	Lock       Str     `fc:"lock,ref=lock" doc:"The fence's spinlock (fence->lock): dma_fence_signal() holds it, interrupts off, while the fence's callbacks run."`
	Indefinite Bool    `fc:"indefinite" doc:"A user/memory/future fence with no guarantee to signal (R18)."`
}

// Buffer is a GEM object.
type Buffer struct {
	P           Pos
	Name        Str  `fc:"name,required,decl=buffer" doc:"Buffer name."`
	Device      Str  `fc:"device,ref=device" doc:"Owning device."`
	VM          Str  `fc:"vm,ref=vm" doc:"VM-private object: shares the VM's dma_resv."`
	Placement   Str  `fc:"placement,enum=placement" doc:"system or vram (default system)."`
	PageTable   Bool `fc:"page_table" doc:"A page-table object of its VM (may be evicted and re-allocated; the root is pinned)."`
	Unpublished Bool `fc:"unpublished" doc:"Not yet visible to other threads: its resv lock makes no class-level dependency."`
	Free        Str  `fc:"free,ref=path" doc:"Finalizer path (with a param:) run by the put: that drops the last reference, in the putting thread."`
}

// DmaBuf is an exported buffer.
type DmaBuf struct {
	P         Pos
	Name      Str     `fc:"name,required,decl=dmabuf" doc:"dma-buf name."`
	Buffer    Str     `fc:"buffer,required,ref=buffer" doc:"Exported buffer."`
	Exporter  Str     `fc:"exporter,required,ref=device" doc:"Exporting device."`
	Importers StrList `fc:"importers,ref=device" doc:"Importing devices."`
	Dynamic   Bool    `fc:"dynamic" doc:"Dynamic importer: move_notify is called with the resv held (K14)."`
}

// Userptr is a user address range on a device.
type Userptr struct {
	P        Pos
	Name     Str     `fc:"name,required,decl=userptr" doc:"Userptr name."`
	Device   Str     `fc:"device,required,ref=device" doc:"Device that accesses the range."`
	VM       Str     `fc:"vm,ref=vm" doc:"VM the range is bound in."`
	Range    IntList `fc:"range,min=0" doc:"[start, end) of the user range, e.g. [0x100000, 0x200000]."`
	Notifier Str     `fc:"notifier,required,ref=path" doc:"Path run as the mmu interval notifier's invalidate callback."`
	Release  Str     `fc:"release,ref=path" doc:"Path run as the mmu_notifier's release callback when the mm's last user goes away (exit_mmap, reached from an mmput step)."`
}

// VM is a GPU VM.
type VM struct {
	P      Pos
	Name   Str `fc:"name,required,decl=vm" doc:"VM name; its common dma_resv is referenced by this name."`
	Device Str `fc:"device,required,ref=device" doc:"Owning device."`
}

// Job is a GPU job.
type Job struct {
	P         Pos
	Name      Str      `fc:"name,required,decl=job" doc:"Job name."`
	Entity    Str      `fc:"entity,required,ref=entity" doc:"Entity the job is pushed to."`
	Fence     Str      `fc:"fence,decl=fence" doc:"Name of the job's out-fence (finished fence). Default: <job>.finished."`
	Deps      StrList  `fc:"deps,ref=fence|job" doc:"In-fences: the job runs only after these signal."`
	Buffers   []BufUse `fc:"buffers" doc:"Buffers the job accesses; implicit sync by usage and fence publication."`
	Submit    Str      `fc:"submit,ref=path" doc:"Path run by the submit ioctl before the job is armed (locking, reservation, allocation)."`
	Prepare   Str      `fc:"prepare_job,ref=path" doc:"Path run as drm_sched's prepare_job callback before run_job (dependency resolution; signalling code, R16)."`
	RunJob    Str      `fc:"run_job,ref=path" doc:"Path run as drm_sched run_job (signalling code, R16)."`
	FreeJob   Str      `fc:"free_job,ref=path" doc:"Path run as free_job after the fence signals (signalling code, R16)."`
	Callback  Str      `fc:"callback,ref=path" doc:"Path run as a fence callback when the out-fence signals (atomic context, R25)."`
	FenceLock Str      `fc:"fence_lock,ref=lock" doc:"The out-fence's spinlock (for drm_sched, the scheduler fence's &fence->lock): held, interrupts off, while its callbacks run."`
	Duration  Int      `fc:"duration,min=1,max=1000000" doc:"Time the job occupies its engine, in model ticks (default 1)."`
	Hang      Bool     `fc:"hang" doc:"The job never completes on the hardware; only timeout/reset completes its fence."`
	Count     Int      `fc:"count,min=1,max=64" doc:"N identical jobs on the entity, named NAME[0] … NAME[N-1] (fences FENCE[i], default NAME[i].finished), pushed in that order by submit: NAME."`
	DmaFence  Bool     `fc:"dma_fence" doc:"false: the job publishes no dma_fence (long-running mode, user queues; dma-buf.rst \"Indefinite DMA Fences\"): nothing can wait on it, it is in no resv, and its callbacks and fault handling are not signalling code. Default true."`
	Faults    StrList  `fc:"faults,ref=vm|userptr|buffer" doc:"Objects the job touches through GPU page faults (recoverable-fault devices)."`
}

// BufUse is a buffer used by a job.
type BufUse struct {
	P      Pos
	Buffer Str `fc:"buffer,required,ref=buffer|userptr|dmabuf|vm" doc:"Buffer, userptr, dma-buf or VM resv."`
	Usage  Str `fc:"usage,enum=usage" doc:"dma_resv usage of the job's fence: KERNEL, WRITE, READ or BOOKKEEP (default READ)."`
}

// Shrinker is a registered shrinker.
type Shrinker struct {
	P     Pos
	Name  Str     `fc:"name,required,decl=shrinker" doc:"Shrinker name."`
	Count Str     `fc:"count,ref=path" doc:"count_objects path."`
	Scan  Str     `fc:"scan,required,ref=path" doc:"scan_objects path (runs under fs_reclaim)."`
	LRU   StrList `fc:"lru,ref=buffer|userptr|vm|dmabuf" doc:"Objects on the shrinker's LRU: a scan path with a param: runs once per object, bound to it; objects off the LRU are never reached by reclaim."`
}

// Completion is a struct completion (kernel/sched/completion.c), or any
// wait-until-another-path-says-so object written as one (wait_event on a
// wait queue, an i915_active-style tracker).
type Completion struct {
	P    Pos
	Name Str `fc:"name,required,decl=completion" doc:"Completion name, e.g. &bind->done."`
}

// Resource is a hardware resource several engines share (dma-buf.rst,
// "Recoverable Hardware Page Faults Implications").
type Resource struct {
	P           Pos
	Name        Str     `fc:"name,required,decl=resource" doc:"Resource name, e.g. cu_pool."`
	Engines     StrList `fc:"engines,required,ref=engine" doc:"Engines whose jobs run on this resource."`
	Preemptible Bool    `fc:"preemptible" doc:"A job stalled on a recoverable page fault is preempted off the resource (or part of it is reserved for dma_fence jobs), so other engines' dma_fence jobs still make progress. Default false."`
}

// Workqueue is a workqueue_struct with its lockdep map (wq->lockdep_map,
// printed as (wq_completion)NAME).
type Workqueue struct {
	P          Pos
	Name       Str  `fc:"name,required,decl=workqueue" doc:"Workqueue name as passed to alloc_workqueue; lockdep prints its map as (wq_completion)NAME."`
	Ordered    Bool `fc:"ordered" doc:"alloc_ordered_workqueue (max_active 1): one work item at a time; flush_work on it also waits on the queue's map."`
	MemReclaim Bool `fc:"mem_reclaim" doc:"WQ_MEM_RECLAIM (has a rescuer thread): flush_work on it also waits on the queue's map."`
}

// Path is a driver code path.
type Path struct {
	P           Pos
	Name        Str     `fc:"name,required,decl=path" doc:"Path name (a function or callback)."`
	Context     Str     `fc:"context,required,enum=context" doc:"Execution context the path runs in."`
	Thread      Str     `fc:"thread" doc:"Thread/task name shown in reports (default: the path name)."`
	Signals     StrList `fc:"signals,ref=fence|job" doc:"Fences whose signalling depends on this path: the whole path is their signalling critical section (R1)."`
	Steps       []Step  `fc:"steps" doc:"Ordered steps."`
	Param       Str     `fc:"param" doc:"The path acts on one object, bound by call:/run: with: (or a shrinker's lru:); its steps refer to it as $NAME."`
	ReturnsHeld StrList `fc:"returns_held,ref=lock|buffer|vm|dmabuf|userptr" doc:"Locks the path returns holding (a helper like dqm_lock()): a caller holds them after call: and may release them."`
	Workqueue   Str     `fc:"workqueue,ref=workqueue" doc:"worker: the workqueue the work item is queued on (default system_wq, which has no map of its own)."`
}

// Step is one operation of a path: its operation (exactly one op key) and
// the modifiers it carries. It is kept small because a lockdep-scale design
// has about 100,000 of them: the operation's value is stored once, whatever
// its key, and the modifiers, which most steps lack, sit behind one pointer.
// The keys a step accepts, with their tags, are those of stepKeys (the
// schema, the reference docs and the decoder's key table read them).
type Step struct {
	P     Pos
	opIdx int16 // set by the decoder: 1 + index of the op key in stepKeys
	val   Str   // the operation's value (see Operation)
	// *StepMods is never nil in a decoded step: a step without modifiers
	// shares one read-only zero StepMods (noStepMods), so modifiers read
	// as unset. Nothing writes a step's modifiers after decoding.
	*StepMods
}

// stepKeys lists the keys of a step: first the operations, then the
// modifiers (StepMods, embedded so its tags are read from one place).
type stepKeys struct {
	Lock          Str `fc:"lock,op,ref=lock|buffer|vm|dmabuf|userptr" doc:"Acquire a lock (a buffer, dma-buf, VM or userptr name means its dma_resv)."`
	Trylock       Str `fc:"trylock,op,ref=lock|buffer|vm|dmabuf|userptr" doc:"Try-acquire a lock: lockdep records no dependency into it."`
	Unlock        Str `fc:"unlock,op,ref=lock|buffer|vm|dmabuf|userptr" doc:"Release a lock."`
	MightLock     Str `fc:"might_lock,op,ref=lock|buffer|vm|dmabuf|userptr" doc:"Record that this path may take the lock (might_lock)."`
	WWAcquireInit Str `fc:"ww_acquire_init,op" doc:"Start a ww acquire context (drm_exec_init) with this name."`
	WWAcquireDone Str `fc:"ww_acquire_done,op" doc:"Mark the named context done: nothing more may be locked in it."`
	WWAcquireFini Str `fc:"ww_acquire_fini,op" doc:"End the named acquire context (drm_exec_fini): unlocks what it still holds."`
	Alloc         Str `fc:"alloc,op,enum=gfp" doc:"Allocate memory with these GFP flags (e.g. GFP_KERNEL, GFP_NOWAIT, GFP_KERNEL|__GFP_NORETRY)."`
	MemallocSave  Str `fc:"memalloc_save,op,enum=scope" doc:"Enter a memalloc_nofs/noio/noreclaim scope."`
	MemallocRest  Str `fc:"memalloc_restore,op,enum=scope" doc:"Leave a memalloc scope."`
	Wait          Str `fc:"wait,op,ref=fence|job" doc:"dma_fence_wait on a fence (a job name means its out-fence)."`
	WaitResv      Str `fc:"wait_resv,op,ref=buffer|vm|dmabuf|userptr" doc:"dma_resv_wait_timeout on every fence of the object's resv up to usage:."`
	Signal        Str `fc:"signal,op,ref=fence|job" doc:"dma_fence_signal."`
	BeginSig      Str `fc:"begin_signalling,op,ref=fence|job" doc:"dma_fence_begin_signalling for this fence (a read-trylock of the section, case 29)."`
	EndSig        Str `fc:"end_signalling,op,ref=fence|job" doc:"dma_fence_end_signalling."`
	Reserve       Str `fc:"reserve_fences,op,ref=buffer|vm|dmabuf|userptr" doc:"dma_resv_reserve_fences on the object (count: slots, default 1); may allocate GFP_KERNEL."`
	AddFence      Str `fc:"add_fence,op,ref=buffer|vm|dmabuf|userptr" doc:"dma_resv_add_fence of fence: with usage:."`
	ReplaceFences Str `fc:"replace_fences,op,ref=buffer|vm|dmabuf|userptr" doc:"Replace the object's fences with fence: (old single-exclusive-fence semantics, or dma_resv_replace_fences)."`
	Pin           Str `fc:"pin,op,ref=buffer|userptr" doc:"Pin the backing pages (get/pin_user_pages for a userptr: takes mmap_lock and allocates)."`
	Unpin         Str `fc:"unpin,op,ref=buffer|userptr" doc:"Unpin the backing pages."`
	MapPages      Str `fc:"map_pages,op,ref=buffer|userptr" doc:"Write GPU PTEs for the object in vm: (or its own VM)."`
	ZapPTEs       Str `fc:"zap_ptes,op,ref=buffer|userptr|vm" doc:"Clear GPU PTEs of the object (a VM: all of them). The TLB still caches them until flushed."`
	TLBFlush      Str `fc:"tlb_flush,op,ref=vm|device" doc:"Flush the GPU TLB of a VM (or every VM of a device)."`
	Kfree         Str `fc:"kfree,op,ref=buffer|userptr" doc:"kfree/kvfree of memory the GPU may still reach (page-table memory, a buffer's backing): checked like free_pages (R20)."`
	FreePages     Str `fc:"free_pages,op,ref=buffer|userptr" doc:"Return the backing pages to the allocator (or let the core mm free them after the notifier)."`
	Evict         Str `fc:"evict,op,ref=buffer" doc:"Evict/move the buffer (waits for every fence incl. BOOKKEEP, R28)."`
	ReadBegin     Str `fc:"read_begin,op,ref=userptr" doc:"mmu_interval_read_begin: may sleep until a running invalidation ends (R9)."`
	ReadRetry     Str `fc:"read_retry,op,ref=userptr" doc:"mmu_interval_read_retry: must be called under the notifier's lock (R10)."`
	SetSeq        Str `fc:"set_seq,op,ref=userptr" doc:"mmu_interval_set_seq, from the invalidate callback (R10)."`
	RegNotifier   Str `fc:"register_notifier,op,ref=userptr" doc:"mmu_interval_notifier_insert (must not hold mmap_lock, R27)."`
	VMUpdate      Str `fc:"vm_update,op,ref=vm" doc:"Modify the VM's VA tree (drm_gpuva insert/remove) for op: over range:."`
	WritePTE      Str `fc:"write_ptes,op,ref=vm" doc:"The CPU writes page-table entries of the VM directly (atomic: says whether 64-bit writes are atomic)."`
	Submit        Str `fc:"submit,op,ref=job" doc:"Arm and push a job (drm_sched_job_arm + push_job): its fence is published."`
	QueueWork     Str `fc:"queue_work,op,ref=path" doc:"Queue a worker path."`
	FlushWork     Str `fc:"flush_work,op,ref=path" doc:"flush_work on a worker path: waits for it to finish (and touches its ordered or WQ_MEM_RECLAIM queue's map)."`
	CancelWork    Str `fc:"cancel_work_sync,op,ref=path" doc:"cancel_work_sync on a worker path: waits for a running instance to finish (the work's map only, never the queue's)."`
	FlushWQ       Str `fc:"flush_workqueue,op,ref=workqueue" doc:"flush_workqueue: waits for every work item queued on the workqueue (touches (wq_completion)NAME)."`
	DrainWQ       Str `fc:"drain_workqueue,op,ref=workqueue" doc:"drain_workqueue: flushes the workqueue until it is empty (as flush_workqueue)."`
	WaitCompl     Str `fc:"wait_for_completion,op,ref=completion" doc:"wait_for_completion: sleeps until a path calls complete on it (lockdep cannot see this wait)."`
	Complete      Str `fc:"complete,op,ref=completion" doc:"complete/complete_all: wakes the completion's waiters; everything the path did before is what they wait for."`
	Mmput         Str `fc:"mmput,op,ref=userptr" doc:"mmput of the mm that maps the userptr: if it is the last user, exit_mmap runs every notifier's release callback in this thread."`
	MmputAsync    Str `fc:"mmput_async,op,ref=userptr" doc:"mmput_async: the final teardown runs from a worker, so the caller depends on nothing."`
	UserAccess    Str `fc:"user_access,op,enum=uaccess" doc:"copy_to_user/put_user (write) or copy_from_user/get_user (read): might_fault takes mmap_lock (read); with mapping: the fault runs that buffer's fault handler (TTM: trylock its resv, else drop mmap_lock and lock it)."`
	SyncSRCU      Str `fc:"synchronize_srcu,op,ref=lock" doc:"synchronize_srcu on an srcu lock: waits for every reader (lock: on it) to leave; lockdep sees it since v6.4."`
	AssertHeld    Str `fc:"assert_held,op,ref=lock|buffer|vm|dmabuf|userptr" doc:"lockdep_assert_held: the lock must be held here; checked in every caller of the path (FC019). In a helper it also counts as held for the path's own balance."`
	Call          Str `fc:"call,op,ref=path" doc:"Call another path inline."`
	Sleep         Str `fc:"sleep,op" doc:"Any other sleeping operation (msleep, wait_event); the value says what."`
	Sync          Str `fc:"sync,op,ref=lock" doc:"synchronize_srcu() on an srcu lock: waits for its readers (lockdep's lock_sync(), since v6.4)."`
	Init          Str `fc:"init,op,ref=lock|buffer|vm|dmabuf|userptr" doc:"(Re)initialise a lock (spin_lock_init, mutex_init, ...); lockdep forbids it while the lock is held."`
	LocalIRQ      Str `fc:"local_irq,op,enum=irqop" doc:"local_irq_disable/enable/save/restore: disable, enable, save or restore hardirqs (enable marks every held lock as taken with hardirqs on)."`
	LocalBH       Str `fc:"local_bh,op,enum=bhop" doc:"local_bh_disable/enable: disable or enable softirqs."`
	Fail          Str `fc:"fail,op" doc:"The path can fail here (e.g. -ENOMEM, -EINTR) and returns; the value names the error."`
	Get           Str `fc:"get,op,ref=buffer" doc:"Take a reference on the object (kref_get; with unless_zero: kref_get_unless_zero, which fails on a dying object)."`
	Put           Str `fc:"put,op,ref=buffer" doc:"Drop a reference; the last one runs the object's free: path here (kref_put)."`

	StepMods
}

// StepMods are a step's modifiers.
type StepMods struct {
	Mode          Str     `fc:"mode,enum=mode" doc:"lock/trylock/might_lock: write (default), read, or recursive_read (might_lock with read is might_lock_read). On an srcu lock, lock is always a recursive read."`
	Subclass      Int     `fc:"subclass,min=0,max=7" doc:"lock: lockdep nesting subclass (*_lock_nested), 0-7."`
	NestLock      Str     `fc:"nest_lock,ref=lock|buffer|vm|dmabuf|userptr" doc:"lock: the outer lock that serializes this class's nesting (lockdep nest_lock)."`
	Ctx           Str     `fc:"ctx" doc:"lock: the ww acquire context (ww_acquire_init name) to lock under."`
	WWClass       Str     `fc:"ww_class" doc:"ww_acquire_init: the context's ww class (default: the class of the mutexes it locks)."`
	Interruptible Bool    `fc:"interruptible" doc:"lock/wait: interruptible; may fail with -EINTR."`
	IRQ           Str     `fc:"irq,enum=lockirq" doc:"lock/trylock: spin_lock_irq (disable), spin_lock_irqsave (save) or spin_lock_bh (bh); unlock: spin_unlock_irq (enable), spin_unlock_irqrestore (restore) or spin_unlock_bh (bh)."`
	Unpublished   Bool    `fc:"unpublished" doc:"lock: the instance is not reachable by other threads (new or dying object): no class-level dependency."`
	Nolockdep     Bool    `fc:"nolockdep" doc:"alloc: __GFP_NOLOCKDEP, suppresses the reclaim annotation."`
	Usage         Str     `fc:"usage,enum=usage" doc:"wait_resv/add_fence: dma_resv usage (default BOOKKEEP for waits, READ for add)."`
	Fence         Str     `fc:"fence,ref=fence|job" doc:"add_fence/replace_fences: the fence."`
	Count         Int     `fc:"count,min=1,max=65536" doc:"reserve_fences: number of slots (default 1)."`
	VM            Str     `fc:"vm,ref=vm" doc:"map_pages/zap_ptes: the VM."`
	Op            Str     `fc:"op,enum=vmop" doc:"vm_update: map, unmap or remap."`
	Range         IntList `fc:"range,min=0" doc:"vm_update: [start, end) VA range."`
	Atomic        Bool    `fc:"atomic" doc:"write_ptes: the CPU writes each PTE atomically."`
	Nonblock      Bool    `fc:"nonblock" doc:"call from a notifier: the invalidation is non-blockable (OOM reaper)."`
	UnlessZero    Bool    `fc:"unless_zero" doc:"get: kref_get_unless_zero: fails (see on_fail:) when the object's last reference is gone."`
	Of            Str     `fc:"of" doc:"lock/trylock/unlock/might_lock of a per-object lock class: the object whose instance it is (or $PARAM)."`
	With          Str     `fc:"with" doc:"call: the object the called path's param: is bound to (or $PARAM)."`

	Mapping      Str  `fc:"mapping,ref=buffer|dmabuf" doc:"user_access: the user address may be a CPU mapping (mmap) of this buffer, so the fault enters its fault handler."`
	PagefaultOff Bool `fc:"pagefault_disabled" doc:"user_access: inside pagefault_disable() (__copy_*_user_inatomic): the access fails with -EFAULT instead of faulting; no lock is taken."`

	// Control flow.
	Label  Str `fc:"label" doc:"Names this step as a target for on_fail: of an earlier step of the same path."`
	Repeat Int `fc:"repeat,min=1,max=64" doc:"Do this step N times in a row (one resubmit per job, one lock per slot); expanded in order, counted against --max-steps."`
	OnFail Str `fc:"on_fail" doc:"trylock: where a failed (contended) trylock continues: return (leave the path; the default) or the label: of a later step of this path."`
}

// Action is one workload event.
type Action struct {
	P     Pos
	opIdx int16 // set by the decoder: 1 + index of the op field (0: look)

	Submit         Str  `fc:"submit,op,ref=job" doc:"Userspace submits a job (runs its submit path, arms and pushes it)."`
	Run            Str  `fc:"run,op,ref=path" doc:"A thread runs a path (an ioctl, a worker, an init/priming function)."`
	Munmap         Str  `fc:"munmap,op,ref=userptr" doc:"Userspace unmaps the range: mmap_lock(write), then the invalidate notifier."`
	Touch          Str  `fc:"touch,op,ref=userptr|buffer" doc:"The CPU faults on the range or mapped BO: mmap_lock(read), then its fault path."`
	MemoryPressure Bool `fc:"memory_pressure,op" doc:"Direct reclaim: runs every shrinker and every mmu notifier under fs_reclaim."`
	OOM            Bool `fc:"oom,op" doc:"The OOM reaper: runs every mmu notifier non-blockably."`
	Hang           Str  `fc:"hang,op,ref=job" doc:"The job hangs on the GPU: its scheduler's timedout_job runs."`
	Fault          Str  `fc:"fault,op,ref=vm|userptr|buffer" doc:"A GPU page fault on the object: the device's fault handler runs."`
	VMBind         Str  `fc:"vm_bind,op,ref=vm" doc:"A VM_BIND ioctl on the VM (op:, range:, buffer:, path:)."`
	Signal         Str  `fc:"signal,op,ref=fence" doc:"A foreign or user fence signals."`
	Fork           Str  `fc:"fork,op,ref=userptr" doc:"fork() with the range mapped copy-on-write: mmap_lock (write), the notifier write-protects it (MMU_NOTIFY_PROTECTION_PAGE); no page is freed."`
	Mprotect       Str  `fc:"mprotect,op,ref=userptr" doc:"mprotect() of the range: mmap_lock (write), the notifier (MMU_NOTIFY_PROTECTION_VMA); no page is freed."`
	MadvDontneed   Str  `fc:"madvise_dontneed,op,ref=userptr" doc:"madvise(MADV_DONTNEED): mmap_lock (read), the notifier (MMU_NOTIFY_CLEAR), then the pages are freed."`
	Migrate        Str  `fc:"migrate,op,ref=userptr" doc:"Page migration or compaction: the rmap walk holds i_mmap_rwsem (read) around the notifier (MMU_NOTIFY_MIGRATE); the old pages are freed."`
	THPSplit       Str  `fc:"thp_split,op,ref=userptr" doc:"A transparent huge page of the range is split: mmap_lock (read), the notifier (MMU_NOTIFY_CLEAR); no page is freed."`

	Op     Str     `fc:"op,enum=vmop" doc:"vm_bind: map, unmap or remap."`
	Range  IntList `fc:"range,min=0" doc:"vm_bind: [start, end) VA range."`
	Buffer Str     `fc:"buffer,ref=buffer|userptr" doc:"vm_bind: the object mapped."`
	Path   Str     `fc:"path,ref=path" doc:"vm_bind: the ioctl path that performs it."`
	Thread Str     `fc:"thread" doc:"Thread name for the action (default derived from the action)."`
	With   Str     `fc:"with,ref=buffer|vm|userptr|dmabuf|device|engine|job" doc:"run: the object the path's param: is bound to."`
}

// Expect is one expected verdict.
type Expect struct {
	P        Pos
	Mode     Str             `fc:"mode,enum=analysismode" doc:"Analysis mode the expectation applies to: precise (default) or lockdep."`
	Clean    Bool            `fc:"clean" doc:"No finding at all (errors or warnings)."`
	Findings []ExpectFinding `fc:"findings" doc:"Findings that must be produced."`
	Exact    Bool            `fc:"exact" doc:"No finding beyond those listed (the default; kept for old files)."`
	// AllowExtra relaxes the default: fencecheck test fails a file whose
	// findings include anything its expectation does not name.
	AllowExtra Bool `fc:"allow_extra" doc:"Accept findings beyond those listed (default false: any unlisted finding fails the test)."`
}

// ExpectFinding describes one expected finding.
type ExpectFinding struct {
	P           Pos
	Rule        Str     `fc:"rule,required" doc:"Rule ID (FC001) or name (dependency-cycle)."`
	Cycle       StrList `fc:"cycle" doc:"The cycle's nodes in order (any rotation)."`
	Contains    StrList `fc:"contains" doc:"Nodes or substrings the cycle or message must contain."`
	Message     Str     `fc:"message" doc:"Substring of the finding's message."`
	ChainExists Str     `fc:"chain_exists" doc:"lockdep's three-name Chain exists of: line, e.g. \"fs_reclaim --> mmu_notifier_invalidate_range_start --> dma_fence_map\"."`
}
