// Package rules is fencecheck's rule catalog: every diagnostic the tool can
// emit has an entry here with a stable ID, a name, a default severity and an
// explanation tied to the kernel rule it enforces (an R-, C- or K-number of
// docs/kernel-rules.md).
//
// The package is a leaf: the loader, the analysis and the report writers all
// refer to rules by ID, and docs/rules.md is kept in sync with this table by a
// test.
package rules

import (
	"sort"

	"github.com/fencecheck/fencecheck/internal/diag"
)

// Rule describes one kind of diagnostic.
type Rule struct {
	ID       string
	Name     string
	Severity diag.Severity
	// Category is "lint" (scenario file problems), "cycle" (dependency graph),
	// or "exec" (found by executing the scenario).
	Category string
	Summary  string
	// Doc is a paragraph explaining what the rule checks and why, citing the
	// kernel rule it enforces by its id in docs/kernel-rules.md.
	Doc string
	// Fix says what to change when the rule fires.
	Fix string
}

// Lint rule IDs.
const (
	YAMLSyntax    = "FC-L001"
	UnknownKey    = "FC-L002"
	WrongType     = "FC-L003"
	MissingField  = "FC-L004"
	DuplicateKey  = "FC-L005"
	DuplicateName = "FC-L006"
	UndefinedRef  = "FC-L007"
	InvalidValue  = "FC-L008"
	BadStep       = "FC-L009"
	YAMLAlias     = "FC-L010"
	InputLimit    = "FC-L011"
	Version       = "FC-L012"
	Unreadable    = "FC-L013"
	SkippedInput  = "FC-L014"
	NotAScenario  = "FC-L015"
	InternalError = "FC-L016"
)

// Analysis rule IDs.
const (
	Cycle              = "FC001"
	RecursiveLocking   = "FC002"
	Hang               = "FC003"
	Unsignalled        = "FC004"
	GoldenRule         = "FC005"
	MissingSlot        = "FC006"
	ResvNotLocked      = "FC007"
	OutOfOrderSignal   = "FC008"
	SleepInAtomic      = "FC009"
	PartialVMUpdate    = "FC010"
	NonAtomicPTE       = "FC011"
	WWMisuse           = "FC012"
	IndefiniteFence    = "FC013"
	RegisterUnderMM    = "FC014"
	IRQUnsafeLock      = "FC015"
	ExpectMismatch     = "FC016"
	InvalidWaitContext = "FC017"
	IRQInversion       = "FC018"
	AssertHeld         = "FC019"
)

var catalog = []Rule{
	{ID: YAMLSyntax, Name: "yaml-syntax", Category: "lint", Severity: diag.Error,
		Summary: "the file is not valid YAML",
		Doc:     "The YAML parser rejected the file. yaml.v3 reports syntax errors with a line number only, so the column points at the start of that line.",
		Fix:     "Fix the YAML syntax at the reported line (indentation, unbalanced brackets, tabs)."},
	{ID: UnknownKey, Name: "unknown-key", Category: "lint", Severity: diag.Error,
		Summary: "a mapping has a key the format does not define",
		Doc:     "The scenario format is strict: a misspelt key would otherwise silently drop part of the design from the analysis. The message suggests the closest valid key.",
		Fix:     "Use one of the keys listed in docs/scenario-format.md for this mapping."},
	{ID: WrongType, Name: "wrong-type", Category: "lint", Severity: diag.Error,
		Summary: "a value has the wrong YAML type",
		Doc:     "Each key expects a string, an integer, a boolean, a list or a mapping. Booleans are YAML 1.2 `true`/`false` only; `yes`/`on` are rejected because they mean different things to different YAML readers.",
		Fix:     "Write the value with the type the format documents for that key."},
	{ID: MissingField, Name: "missing-field", Category: "lint", Severity: diag.Error,
		Summary: "a required key is missing",
		Doc:     "Some keys (a lock's kind, a path's context, every object's name) have no sensible default.",
		Fix:     "Add the missing key."},
	{ID: DuplicateKey, Name: "duplicate-key", Category: "lint", Severity: diag.Error,
		Summary: "a mapping repeats a key",
		Doc:     "YAML parsers disagree on which of two equal keys wins; fencecheck refuses both and names the first one's position.",
		Fix:     "Remove or rename one of the keys."},
	{ID: DuplicateName, Name: "duplicate-name", Category: "lint", Severity: diag.Error,
		Summary: "two objects share a name",
		Doc:     "Locks, devices, engines, schedulers, entities, buffers, dma-bufs, userptrs, VMs, fences, jobs and paths share one namespace, so every reference in a step is unambiguous.",
		Fix:     "Rename one of the objects."},
	{ID: UndefinedRef, Name: "undefined-reference", Category: "lint", Severity: diag.Error,
		Summary: "a reference names nothing that is declared",
		Doc:     "A step, job or workload action refers to a lock, fence, buffer, path or other object that the file does not declare, or declares with another kind. Kernel pseudo-locks (fs_reclaim, mmap_lock, …) are built in and may be referenced without declaration.",
		Fix:     "Declare the object, or fix the spelling (the message suggests the closest declared name)."},
	{ID: InvalidValue, Name: "invalid-value", Category: "lint", Severity: diag.Error,
		Summary: "a value is not one of those allowed",
		Doc:     "Enumerated values (lock kinds, contexts, GFP flags, dma_resv usages, VM_BIND ops, acquisition modes) are checked against the kernel's vocabulary.",
		Fix:     "Use one of the values listed in the message."},
	{ID: BadStep, Name: "bad-step", Category: "lint", Severity: diag.Error,
		Summary: "a step makes no sense where it is",
		Doc:     "Each path is checked on its own the way lockdep checks a task: unlocking a lock the path does not hold (lockdep's \"bad unlock balance\"), ending a signalling section or memalloc scope never begun, a step with no operation or with two, or a path that calls itself.",
		Fix:     "Balance the steps within the path."},
	{ID: YAMLAlias, Name: "yaml-alias", Category: "lint", Severity: diag.Error,
		Summary: "YAML anchors, aliases and merge keys are not allowed",
		Doc:     "Aliases make a file's meaning depend on expansion rules and enable alias bombs (billion laughs) and recursive structures. Scenario files must spell every value out; use `call:` to share steps between paths.",
		Fix:     "Replace the alias with the value, or factor shared steps into a path and `call:` it."},
	{ID: InputLimit, Name: "input-limit", Category: "lint", Severity: diag.Error,
		Summary: "the input exceeds a safety limit",
		Doc:     "Every input is untrusted (docs/security.md), so each kind of work has a bound: files larger than the size limit (32 MiB by default, --max-bytes) or holding more than one YAML document are refused; a design whose paths expand, after `call:` inlining, to more steps than --max-steps (1,000,000 by default) is refused before it is compiled; an exploration whose schedules times steps would exceed the execution budget runs fewer schedules and says so. (Deep nesting needs no limit of its own: the loader only descends into keys the format defines, and the YAML parser refuses nesting deeper than 10,000 levels.)",
		Fix:     "Split the scenario or factor repeated `call:` chains, or raise the limit named in the message if the design is genuinely that large."},
	{ID: Version, Name: "format-version", Category: "lint", Severity: diag.Error,
		Summary: "the top-level `fencecheck:` version is missing or unsupported",
		Doc:     "Every scenario starts with `fencecheck: 1` so that later format versions can change meaning without misreading old files.",
		Fix:     "Add `fencecheck: 1` at the top of the file."},

	{ID: Unreadable, Name: "unreadable-input", Category: "input", Severity: diag.Error,
		Summary: "an input file could not be read",
		Doc:     "The file does not exist, is not readable, or reading it failed. The other inputs are still checked and reported; the run exits 3 because its verdict is incomplete.",
		Fix:     "Fix the path or the permissions, or exclude the file (--exclude)."},
	{ID: SkippedInput, Name: "skipped-input", Category: "input", Severity: diag.Warning,
		Summary: "an input was skipped because reading it would be unsafe",
		Doc:     "Directory scans and file arguments never follow a symbolic link to a file outside the directory being scanned (or, for a file argument, outside --root), never read special files (FIFOs, devices, sockets: a FIFO would block the run forever), and report symlink loops. A design in a pull request cannot make fencecheck read, and echo, a file outside the tree.",
		Fix:     "Commit the scenario itself instead of a link to it, or exclude the entry (--exclude)."},
	{ID: NotAScenario, Name: "not-a-scenario", Category: "input", Severity: diag.Note,
		Summary: "a YAML file found by a directory scan is not a fencecheck scenario",
		Doc:     "A directory may hold other YAML (CI configuration, compose files). A file without a top-level `fencecheck:` line is reported once and skipped, not linted key by key, and none of its lines are quoted. Named explicitly on the command line, such a file is an error (format-version).",
		Fix:     "Nothing, if the file is not a design; otherwise start it with `fencecheck: 1`. Use --exclude to silence it."},
	{ID: InternalError, Name: "internal-error", Category: "input", Severity: diag.Error,
		Summary: "fencecheck failed on this file (a bug in fencecheck)",
		Doc:     "A panic while analysing one file is contained: that file gets this finding and every other file is still analysed and reported. The run exits 3. Please report it with the file.",
		Fix:     "Report the bug with the scenario; the other files' verdicts are unaffected."},

	{ID: Cycle, Name: "dependency-cycle", Category: "cycle", Severity: diag.Error,
		Summary: "the lock/wait/fence dependency graph has a cycle",
		Doc:     "A closed chain of dependencies — lock held while acquiring another, lock or signalling section held while allocating (may enter reclaim), reclaim running shrinkers and mmu notifiers, a wait on a fence while holding something, a fence whose signalling depends on another fence — means some interleaving deadlocks. This is lockdep's \"possible circular locking dependency\" (K16), extended with per-fence nodes (R6, R7, C5). Each strongly connected component gets its shortest witness, and further shortest cycles until every step of the design inside the component is on a reported cycle; cycles that share a step with an earlier finding are shown as that finding's other cycles, so every site a fix must change is named. The report classifies each against the canonical cycles C1–C15 and falls back to saying what the cycle is made of.",
		Fix:     "Break one edge of the chain; the hint under the report names the edge that is usually wrong for this shape."},
	{ID: RecursiveLocking, Name: "recursive-locking", Category: "cycle", Severity: diag.Error,
		Summary: "a lock class is acquired while already held",
		Doc:     "Acquiring a lock class the task already holds deadlocks on a plain lock and is lockdep's \"possible recursive locking detected\" (K16), unless both acquisitions are recursive reads, the locks are distinct subclasses (`subclass:`, *_lock_nested), or a ww acquire context serializes them (nest_lock, R23).",
		Fix:     "Take the second lock with a subclass (lock nesting annotation) if the instances are really ordered, or with the ww acquire context, or restructure so the class is not taken twice."},
	{ID: Hang, Name: "hang", Category: "exec", Severity: diag.Error,
		Summary: "execution reached a state where every remaining thread is blocked",
		Doc:     "The executor ran the scenario's threads under a deterministic schedule until nothing could make progress. The report shows the wait-for chain at that moment (thread → lock or fence → owner or signaller → …, a cycle when there is one; C1–C15, K18) and every blocked task with what it waits on and the locks it holds, each at the step that took it. A hang that a reported dependency cycle explains is shown as that cycle's consequence. Replay with the printed trace command.",
		Fix:     "Break the wait-for cycle shown; it is the concrete instance of a dependency cycle."},
	{ID: Unsignalled, Name: "unsignalled-fence", Category: "exec", Severity: diag.Error,
		Summary: "a fence is still unsignalled when execution ends",
		Doc:     "Fences must signal in reasonable time, backed by timeout and recovery (R17); a fence that never signals blocks every waiter forever. Reported with the reason: its job never ran (with the dependency that did not signal) or nothing signals it.",
		Fix:     "Make sure every published fence has a path that signals it, and that its dependencies can signal."},
	{ID: GoldenRule, Name: "golden-rule", Category: "exec", Severity: diag.Error,
		Summary: "pages freed or reused while a GPU PTE may still reach them",
		Doc:     "Backing pages must not go back to the allocator while a GPU page-table entry still maps them or before the TLB flush that follows the zap has completed (R20). The executor tracks PTE and TLB state per VM and flags the free at the step that does it; the report starts at the step that last wrote (or zapped without a flush) the PTE that can still reach the pages, or at the job that accesses them and has not completed, and names the interleaving that shows it.",
		Fix:     "Zap the PTEs and flush the TLB (or wait for the fence that does so) before freeing; for userptr the notifier must wait for GPU idle before returning."},
	{ID: MissingSlot, Name: "missing-fence-slot", Category: "exec", Severity: diag.Error,
		Summary: "a fence is added to a dma_resv without a reserved slot",
		Doc:     "dma_resv_add_fence() cannot fail and BUG()s when no slot is free; slots must be reserved with dma_resv_reserve_fences() under the same lock hold, before the point of no return (R13).",
		Fix:     "Call reserve_fences on the object (e.g. drm_exec_prepare_obj with num_fences) after locking it and before adding the fence."},
	{ID: ResvNotLocked, Name: "resv-not-locked", Category: "exec", Severity: diag.Error,
		Summary: "a dma_resv is modified without holding its lock",
		Doc:     "dma_resv_add_fence() and reserve_fences assert the resv lock is held (dma_resv_assert_held, K4, K6).",
		Fix:     "Lock the object's dma_resv (directly or through drm_exec) around the update."},
	{ID: OutOfOrderSignal, Name: "out-of-order-signal", Category: "exec", Severity: diag.Error,
		Summary: "fences of one context signalled out of seqno order",
		Doc:     "All fences on one context are totally ordered (R14); dma_resv relies on it to replace older fences of the same context. Signalling a later seqno before an earlier one breaks that contract.",
		Fix:     "Signal in seqno order (one ordered ring per context), or give independent work its own fence context."},
	{ID: SleepInAtomic, Name: "sleep-in-atomic", Category: "exec", Severity: diag.Error,
		Summary: "a sleeping operation in a context that cannot sleep",
		Doc:     "Fence callbacks and IRQ handlers run in atomic context (R25); a non-blockable mmu notifier range must not sleep (R8c, C15). Waiting on a fence, taking a mutex or rwsem, or a reclaiming allocation there is \"BUG: sleeping function called from invalid context\".",
		Fix:     "Defer the work to a worker, use a spinlock/GFP_ATOMIC, or return -EAGAIN / false from a non-blockable invalidation."},
	{ID: PartialVMUpdate, Name: "partial-vm-update", Category: "exec", Severity: diag.Error,
		Summary: "a VM_BIND modifies the VM before every lock and allocation succeeded",
		Doc:     "A VM_BIND must lock every object it touches and pre-allocate its memory before it modifies the GPU VA tree (R24); otherwise a failing lock (-EINTR, -EDEADLK) or allocation leaves the VM half updated, with no unwind.",
		Fix:     "Lock all objects (drm_gpuvm_sm_map_exec_lock / sm_unmap_exec_lock in one drm_exec loop) and pre-allocate before the first VA-tree update."},
	{ID: NonAtomicPTE, Name: "nonatomic-pte-write", Category: "exec", Severity: diag.Warning,
		Summary: "the CPU writes GPU PTEs non-atomically while the GPU may retry faults on them",
		Doc:     "On devices with recoverable (retry) page faults the GPU may read a PTE while the CPU updates it; 64-bit CPU writes do not arrive in device memory atomically (Felix Kuehling on dri-devel, June 2020; scenarios/seeds/02-hmm-cpu-pte-update.yaml), so the GPU can see a torn entry.",
		Fix:     "Update page tables through the kernel paging engine, or write PTEs atomically."},
	{ID: WWMisuse, Name: "ww-misuse", Category: "exec", Severity: diag.Error,
		Summary: "a ww_mutex acquire context is misused",
		Doc:     "One acquire context per ww class per task, no mixing of context and context-less locking of the same class, nothing locked after ww_acquire_done (R23, C14).",
		Fix:     "Use a single drm_exec/ww_acquire context for the whole transaction."},
	{ID: IndefiniteFence, Name: "indefinite-fence", Category: "exec", Severity: diag.Error,
		Summary: "a dma_fence, or reclaim, depends on a fence that may never signal",
		Doc:     "No future, proxy or userspace fences may be waited on by a dma_fence's signalling path (R18); a job whose in-fence is indefinite makes its out-fence indefinite too. The fence of a scheduler that never times a job out (timeout: infinite) is unbounded as well: signalling code and reclaim must not wait on it (R17).",
		Fix:     "Wait for user/memory fences synchronously in the ioctl before publishing the dma_fence; give every scheduler whose fences others wait on a finite timeout and a timedout_job that force-completes the fence."},
	{ID: RegisterUnderMM, Name: "notifier-register-under-mmap-lock", Category: "exec", Severity: diag.Error,
		Summary: "an mmu notifier is registered while holding mmap_lock",
		Doc:     "mmu_notifier_register() must not be called with mmap_lock or other VM locks held; mmu_interval_notifier_insert() may take mmap_lock itself (R27).",
		Fix:     "Register the notifier before taking mmap_lock, or use the _locked variant correctly."},
	{ID: IRQUnsafeLock, Name: "irq-unsafe-lock", Category: "cycle", Severity: diag.Error,
		Summary: "a lock taken in IRQ/fence-callback context is not irq-safe",
		Doc:     "Fence callbacks run in atomic or IRQ context (R25). A lock taken there is HARDIRQ-safe; taking the same class elsewhere with interrupts enabled is lockdep's \"inconsistent lock state\" (K16).",
		Fix:     "Declare the lock as an irq-safe spinlock (spin_lock_irqsave everywhere) or move the work out of the callback."},
	{ID: InvalidWaitContext, Name: "invalid-wait-context", Category: "cycle", Severity: diag.Error,
		Summary: "a lock is taken in a context or under a lock of a lower wait type",
		Doc:     "Lockdep's wait types (include/linux/lockdep_types.h): raw_spinlock and hardirq context are wait type 2, spinlock_t and softirq context 3 with CONFIG_PROVE_RAW_LOCK_NESTING (on with PROVE_LOCKING since v6.13, else 2), sleeping locks one more. Taking a lock of a higher wait type than the context or any held lock is \"BUG: Invalid wait context\" (check_wait_context()): a mutex under a spinlock or in an interrupt, a spinlock_t (a sleeping lock on PREEMPT_RT) under a raw_spinlock.",
		Fix:     "Take the lock outside the raw_spinlock or interrupt, make the inner lock a raw_spinlock, or defer the work."},
	{ID: IRQInversion, Name: "irq-lock-inversion", Category: "cycle", Severity: diag.Error,
		Summary: "an irq-safe lock depends on an irq-unsafe lock",
		Doc:     "A lock taken in (hard or soft) interrupt context is irq-safe; a lock taken with that interrupt enabled is irq-unsafe. A dependency path from an irq-safe to an irq-unsafe lock deadlocks when the interrupt arrives on a CPU holding the unsafe lock: lockdep's \"HARDIRQ-safe -> HARDIRQ-unsafe lock order detected\" (check_irq_usage()) or \"possible irq lock inversion dependency detected\" (mark_lock_irq()).",
		Fix:     "Take the irq-unsafe lock with interrupts disabled everywhere (spin_lock_irqsave, or spin_lock_bh for softirqs), or break the dependency."},
	{ID: AssertHeld, Name: "assert-held", Category: "cycle", Severity: diag.Error,
		Summary: "a helper asserts a lock its caller does not hold",
		Doc:     "lockdep_assert_held(lock) WARNs when the task does not hold that lock instance (lock_is_held(), kernel/locking/lockdep.c). An assert_held step is checked in every caller's expansion of the path, and in the path analysed on its own when it is not a helper.",
		Fix:     "Take the lock in the caller before calling the helper, or drop the assertion if the helper does not need it."},
	{ID: ExpectMismatch, Name: "expectation-mismatch", Category: "lint", Severity: diag.Error,
		Summary: "the scenario's findings differ from its `expect:` section",
		Doc:     "A scenario may carry its expected verdict, as litmus tests do; `fencecheck test` reports each expected finding that is missing and each unexpected one.",
		Fix:     "Fix the design, or update the expectation if the new verdict is the intended one."},
}

var byID = func() map[string]*Rule {
	m := make(map[string]*Rule, len(catalog))
	for i := range catalog {
		m[catalog[i].ID] = &catalog[i]
	}
	return m
}()

// All returns the catalog ordered by ID.
func All() []Rule {
	out := append([]Rule(nil), catalog...)
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

// Lookup finds a rule by ID or by name.
func Lookup(idOrName string) (Rule, bool) {
	if r, ok := byID[idOrName]; ok {
		return *r, true
	}
	for _, r := range catalog {
		if r.Name == idOrName {
			return r, true
		}
	}
	return Rule{}, false
}

// SeverityOf returns a rule's default severity (Error for unknown IDs).
func SeverityOf(id string) diag.Severity {
	if r, ok := byID[id]; ok {
		return r.Severity
	}
	return diag.Error
}
