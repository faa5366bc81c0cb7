package graph

import (
	"fmt"
	"slices"
	"strings"

	"github.com/fencecheck/fencecheck/internal/diag"
	"github.com/fencecheck/fencecheck/internal/kernel"
	"github.com/fencecheck/fencecheck/internal/model"
	"github.com/fencecheck/fencecheck/internal/rules"
)

// IRQ state and lock usage, as lockdep tracks them (kernel/locking/lockdep.c:
// mark_usage(), mark_held_locks(), mark_lock_irq(), check_irq_usage(),
// check_wait_context()). Applied in both modes: it is about lock classes,
// which both modes share.

// usageBit is lockdep's enum lock_usage_bit for the HARDIRQ and SOFTIRQ
// states (kernel/locking/lockdep_states.h): USED_IN, USED_IN_READ, ENABLED,
// ENABLED_READ for each.
type usageBit int

const (
	usedInHard usageBit = iota
	usedInHardRead
	enabledHard
	enabledHardRead
	usedInSoft
	usedInSoftRead
	enabledSoft
	enabledSoftRead
	numUsage
)

// usageStr is lockdep's usage_str[] for the bits.
var usageStr = [numUsage]string{"IN-HARDIRQ-W", "IN-HARDIRQ-R", "HARDIRQ-ON-W", "HARDIRQ-ON-R",
	"IN-SOFTIRQ-W", "IN-SOFTIRQ-R", "SOFTIRQ-ON-W", "SOFTIRQ-ON-R"}

func (u usageBit) state() string {
	if u >= usedInSoft {
		return "SOFTIRQ"
	}
	return "HARDIRQ"
}

// usageSite is where a class first got a usage bit.
type usageSite struct {
	set    bool
	tick   int32 // the walk's clock: orders usages against each other and against dependencies
	pos    model.Pos
	path   string
	thread string
	text   string
	// byEnable: set by re-enabling interrupts while the lock was held
	// (spin_unlock_irq, local_irq_enable), not by an acquisition.
	byEnable  bool
	held      []HeldLock
	heldKnown bool
	irq       irqState
}

type classUsage struct {
	sites [numUsage]*usageSite // allocated when the usage is first seen
	// usedIn: the class has a USED_IN usage (listed in builder.usedIn).
	usedIn bool
}

// isUsedIn: the bit is a USED_IN (interrupt-side) usage; every report of
// irqChecks starts at one.
func (u usageBit) isUsedIn() bool { return u%4 < 2 }

// site returns a usage's site, the zero site (set false) if it never happened.
func (u *classUsage) site(bit usageBit) usageSite {
	if u == nil || u.sites[bit] == nil {
		return usageSite{}
	}
	return *u.sites[bit]
}

// irqState is the interrupt state of a walking thread.
type irqState struct {
	inHard, inSoft bool
	hardOn, softOn bool
}

type irqWalk struct {
	irqState
	saved   []bool // local_irq_save / spin_lock_irqsave stack
	bhDepth int
}

func newIRQWalk(ctx string) irqWalk {
	s := irqWalk{}
	s.inHard = kernel.IsHardIRQContext(ctx)
	s.inSoft = ctx == model.CtxSoftIRQ
	// A hardirq handler (and a fence callback, under the fence's irqsave
	// lock) runs with interrupts off; softirqs run with hardirqs on and
	// softirqs off (bh disabled); everything else with both on.
	s.hardOn = !s.inHard
	s.softOn = !s.inHard && !s.inSoft
	return s
}

// usageTracked says whether a node gets lockdep usage bits: lock classes
// and kernel maps, not precise mode's per-fence and per-callback nodes, and
// not local_lock_t, which lockdep skips in irq-usage searches (usage_skip():
// LD_LOCK_PERCPU cannot be in an irq inversion), and not completions, which
// lockdep does not track at all since cross-release was removed (v4.15).
func (b *builder) usageTracked(n *Node) bool {
	return (n.Kind == KindLock || n.Kind == KindPseudo) && b.p.LockKind(n.Name) != "local_lock" && !kernel.IsCompletion(n.Name)
}

func (b *builder) usage(name string) *classUsage {
	if b.usages == nil {
		b.usages = map[string]*classUsage{}
	}
	u := b.usages[name]
	if u == nil {
		u = &classUsage{}
		b.usages[name] = u
	}
	return u
}

func (w *walker) markSite(n *Node, bit usageBit, o *kernel.Op, byEnable bool) {
	if n.usage&(1<<bit) != 0 {
		return // the hot path: the class already has this usage
	}
	n.usage |= 1 << bit
	name := n.Name
	u := w.b.usage(name)
	if bit.isUsedIn() && !u.usedIn {
		u.usedIn = true
		w.b.usedIn = append(w.b.usedIn, name)
	}
	w.b.clock++
	u.sites[bit] = &usageSite{set: true, tick: int32(w.b.clock), pos: o.Pos, path: o.InPath(), thread: w.t.Name,
		text: o.Text, byEnable: byEnable, irq: w.irq.irqState}
	// The held locks at a usage are printed only when it is reported. Keep
	// them for every usage in lockdep mode, and for the rare interrupt-side
	// ones in precise mode, so that the common case (a class taken with
	// interrupts on) costs no copy of the held stack.
	if w.b.mode == Lockdep || bit%4 < 2 {
		u.sites[bit].held, u.sites[bit].heldKnown = w.heldSnapshot(), true
	}
}

// markUsage is mark_usage() for an acquisition (trylocks included).
func (w *walker) markUsage(n *Node, o *kernel.Op) {
	if w.b.nodeWait(n); n.untracked {
		return
	}
	r := usageBit(0)
	if o.Mode != kernel.Write {
		r = 1
	}
	s := w.irq
	if s.inHard {
		w.markSite(n, usedInHard+r, o, false)
	}
	if s.inSoft {
		w.markSite(n, usedInSoft+r, o, false)
	}
	if s.hardOn {
		w.markSite(n, enabledHard+r, o, false)
		if s.softOn {
			w.markSite(n, enabledSoft+r, o, false)
		}
	}
}

// markHeld is mark_held_locks(): interrupts of a state were just enabled
// with these locks held.
func (w *walker) markHeld(soft bool, o *kernel.Op) {
	for _, h := range w.held {
		if w.b.nodeWait(h.ni.n); h.ni.n.untracked || h.unpub || h.noCheck {
			continue
		}
		bit := enabledHard
		if soft {
			bit = enabledSoft
		}
		if h.shared {
			bit++
		}
		w.markSite(h.ni.n, bit, o, true)
	}
}

func (w *walker) hardOff() { w.irq.hardOn = false }

func (w *walker) hardOn(o *kernel.Op) {
	if w.irq.inHard || w.irq.hardOn {
		return
	}
	w.irq.hardOn = true
	w.markHeld(false, o)
	if w.irq.softOn {
		w.markHeld(true, o)
	}
}

func (w *walker) irqSave()                { w.irq.saved = append(w.irq.saved, w.irq.hardOn); w.hardOff() }
func (w *walker) irqRestore(o *kernel.Op) { w.restoreTo(o) }

func (w *walker) restoreTo(o *kernel.Op) {
	on := !w.irq.inHard
	if n := len(w.irq.saved); n > 0 {
		on = w.irq.saved[n-1]
		w.irq.saved = w.irq.saved[:n-1]
	}
	if on {
		w.hardOn(o)
	} else {
		w.hardOff()
	}
}

func (w *walker) bhDisable() { w.irq.bhDepth++; w.irq.softOn = false }

func (w *walker) bhEnable(o *kernel.Op) {
	if w.irq.bhDepth > 0 {
		w.irq.bhDepth--
	}
	if w.irq.bhDepth > 0 || w.irq.inHard || w.irq.inSoft || w.irq.softOn {
		return
	}
	w.irq.softOn = true
	if w.irq.hardOn {
		w.markHeld(true, o)
	}
}

// beforeAcquire applies the interrupt variant of a lock call site
// (spin_lock_irq/_irqsave/_bh); a lock declared irq_safe is taken with
// spin_lock_irqsave everywhere.
func (w *walker) beforeAcquire(o *kernel.Op, ni nodeInfo) {
	irq := o.Ext().IRQ
	if irq == "" && ni.irqSafe {
		irq = "save"
	}
	switch irq {
	case "disable":
		w.hardOff()
	case "save":
		w.irqSave()
	case "bh":
		w.bhDisable()
	}
}

// afterRelease applies spin_unlock_irq/_irqrestore/_bh.
func (w *walker) afterRelease(o *kernel.Op) {
	irq := o.Ext().IRQ
	if ni, ok := w.b.cachedInfo(o); ok && irq == "" && ni.irqSafe {
		irq = "restore"
	}
	switch irq {
	case "enable":
		w.hardOn(o)
	case "restore":
		w.irqRestore(o)
	case "bh":
		w.bhEnable(o)
	}
}

func (w *walker) localIRQ(o *kernel.Op) {
	switch o.Ext().Scope {
	case "disable":
		w.hardOff()
	case "enable":
		w.hardOn(o)
	case "save":
		w.irqSave()
	case "restore":
		w.irqRestore(o)
	}
}

func (w *walker) localBH(o *kernel.Op) {
	switch o.Ext().Scope {
	case "disable":
		w.bhDisable()
	case "enable":
		w.bhEnable(o)
	}
}

// Wait types (include/linux/lockdep_types.h, enum lockdep_wait_type):
// LD_WAIT_INV 0 (not checked: lockdep maps), FREE 1, SPIN 2 (raw_spinlock),
// CONFIG (spinlock_t; 3 with CONFIG_PROVE_RAW_LOCK_NESTING, else = SPIN),
// SLEEP (mutexes, rwsems), MAX.
// nodeWait caches a node's wait types on it.
func (b *builder) nodeWait(n *Node) (inner, outer int) {
	if !n.waitSet {
		i, o := b.waitTypes(n, n.Name)
		n.wait = [2]int8{int8(o), int8(i)}
		n.waitSet = true
		n.untracked = !b.usageTracked(n)
		n.noDecor = n.untracked && b.p.LockKind(n.Name) != "local_lock"
	}
	return int(n.wait[1]), int(n.wait[0])
}

// waitTypes returns a class's inner and outer wait types. RCU read-side
// maps have outer LD_WAIT_FREE (they may be taken anywhere) and inner
// CONFIG (rcu_read_lock, rcu_read_lock_bh) or SPIN (rcu_read_lock_sched),
// as in kernel/rcu/update.c.
func (b *builder) waitTypes(n *Node, lock string) (inner, outer int) {
	nest := 0
	if b.p.Profile.RawLockNesting {
		nest = 1
	}
	switch b.p.LockKind(lock) {
	case "raw_spinlock":
		return 2, 2
	case "spinlock", "rwlock", "local_lock":
		return 2 + nest, 2 + nest
	case "mutex", "rwsem", "ww_mutex", "srcu", "semaphore":
		return 3 + nest, 3 + nest
	case "rcu", "rcu_bh":
		return 2 + nest, 1
	case "rcu_sched":
		return 2, 1
	case "map":
		return 0, 0
	}
	w := b.builtinWaitType(n, lock, nest)
	return w, w
}

func (b *builder) builtinWaitType(n *Node, lock string, nest int) int {
	base, _, _ := strings.Cut(lock, "/")
	base = kernel.CanonicalLock(base)
	switch {
	case base == kernel.MmapLock || base == kernel.IMmapRwsem:
		return 3 + nest
	case strings.HasSuffix(base, "_mutex") && !strings.HasPrefix(base, "("):
		// A ww class's mutex node (<ww_class>_mutex, e.g. every dma_resv).
		return 3 + nest
	}
	return 0
}

// taskWaitContext is task_wait_context(): CONFIG in hardirq and softirq
// context (see below), otherwise MAX.
func (w *walker) taskWaitContext() int {
	nest := 0
	if w.b.p.Profile.RawLockNesting {
		nest = 1
	}
	if w.t.Context == model.CtxIRQNoThread {
		return 2 // IRQF_NO_THREAD, hrtimer: LD_WAIT_SPIN
	}
	if w.irq.inHard || w.irq.inSoft {
		// Device interrupt handlers may be force-threaded
		// (lockdep_hardirq_threaded() in __handle_irq_event_percpu()) and
		// irq_work without IRQ_WORK_HARD_IRQ sets irq_config, so both
		// allow spinlock_t: LD_WAIT_CONFIG. Softirqs are always threadable.
		return 2 + nest
	}
	return 4 + nest
}

// checkWaitContext is check_wait_context(): the lock's wait type must not
// exceed the innermost wait type of the context and the locks held.
func (w *walker) checkWaitContext(n *Node, o *kernel.Op) {
	inner, next := w.b.nodeWait(n)
	if inner == 0 || o.Try {
		return
	}
	curr := w.taskWaitContext()
	if k := len(w.held); k > 0 && w.held[k-1].waitMin != 0 && int(w.held[k-1].waitMin) < curr {
		curr = int(w.held[k-1].waitMin)
	}
	if next <= curr {
		return
	}
	what := "sleeping lock"
	if next == 2 || (next == 3 && w.b.p.Profile.RawLockNesting && w.b.p.LockKind(o.Lock) != "mutex") {
		what = "spinlock_t (a sleeping lock on PREEMPT_RT)"
	}
	ctx := "the locks held"
	if w.irq.inHard {
		ctx = "hardirq context"
	} else if w.irq.inSoft {
		ctx = "softirq context"
	}
	body := []string{
		fmt.Sprintf("%s is trying to lock:", w.t.Name),
		fmt.Sprintf("(%s)%s, at: %s", n.Name, w.b.decorate(n.Name), where(w.b.p.File, o.Pos, o.InPath())),
		"other info that might help us debug this:",
		fmt.Sprintf("context-{%d:%d}", w.taskWaitContext(), w.taskWaitContext()),
	}
	held := w.heldSnapshot()
	w.b.diags = append(w.b.diags, diag.Diagnostic{
		File: w.b.p.File, Pos: o.Pos, Rule: rules.InvalidWaitContext, Severity: rules.SeverityOf(rules.InvalidWaitContext), Mode: string(w.b.mode),
		Message: fmt.Sprintf("invalid wait context: %s takes %s (wait type %d) in %s, whose innermost wait type is %d", o.InPath(), n.Name, next, ctx, curr),
		Chain:   []diag.Step{{File: w.b.p.File, Pos: o.Pos, To: n.Name, Kind: "lock", Path: o.InPath(), Context: w.t.Context, Message: o.Text}},
		Hint:    fmt.Sprintf("A %s cannot be taken under a lock or in a context of a lower wait type (raw_spinlock and hardirq: 2, spinlock_t and softirq: %d, sleeping locks: %d): take it before, use a raw_spinlock, or defer the work.", what, 2+boolInt(w.b.p.Profile.RawLockNesting), 3+boolInt(w.b.p.Profile.RawLockNesting)),
		Splat:   w.b.genericSplat("[ BUG: Invalid wait context ]", 29, w.t.Name, body, held, true),
	})
}

func where(file string, pos model.Pos, path string) string {
	s := fmt.Sprintf("%s:%d:%d", file, pos.Line, pos.Col)
	if !pos.Valid() {
		s = "kernel prelude (built in)"
	}
	if path != "" {
		s += " (" + path + ")"
	}
	return s
}

// genericSplat is a lockdep report other than a circular or recursive
// locking one: title, body lines and the held locks.
func (b *builder) genericSplat(title string, bar int, task string, body []string, held []HeldLock, known bool) *diag.Splat {
	sp := &diag.Splat{Kernel: b.p.Profile.Version, Task: task, Title: title, Bar: bar, Body: body, HeldKnown: known, Decor: map[string]string{}}
	for _, h := range held {
		sp.Decor[h.Name] = b.decorate(h.Name)
		sp.Held = append(sp.Held, diag.Step{File: b.p.File, Pos: h.Pos, To: h.Name, Path: h.Path, Message: h.Text})
	}
	return sp
}

// conflicts are lockdep's exclusive pairs within one state (mark_lock_irq):
// a write usage conflicts with both opposite usages, a read usage with the
// opposite write usage only (read-after-read cannot deadlock).
var conflicts = [][2]usageBit{
	{usedInHard, enabledHard}, {usedInHard, enabledHardRead}, {usedInHardRead, enabledHard},
	{usedInSoft, enabledSoft}, {usedInSoft, enabledSoftRead}, {usedInSoftRead, enabledSoft},
}

// irqChecks reports, after the walk, lockdep's usage bugs: inconsistent
// lock state within a class (print_usage_bug), and across a dependency a
// safe lock reaching an unsafe one (print_bad_irq_dependency when the
// dependency came last, print_irq_inversion_bug when a usage did).
func (b *builder) irqChecks() {
	// Every report starts at a class with a USED_IN usage (the first of
	// each conflicting pair, the safe end of a dependency): only those are
	// visited, in name order. Most designs take no lock from interrupts,
	// and then there is nothing to sort or look up.
	names := slices.Sorted(slices.Values(b.usedIn))
	reported := map[string]bool{}
	for _, name := range names {
		u := b.usages[name]
		for _, c := range conflicts {
			in, on := u.site(c[0]), u.site(c[1])
			if !in.set || !on.set || reported[name+c[0].state()] {
				continue
			}
			reported[name+c[0].state()] = true
			b.inconsistent(name, c[0], c[1], in, on)
		}
	}
	// Cross-class: from every safe class, the nearest unsafe class
	// reachable along dependencies (read usages included: exclusive_mask()).
	// One backward search per interrupt state finds, for every class, the
	// first edge of its shortest strong path to an unsafe class, so the
	// check stays linear in the graph whatever the number of safe classes.
	for _, st := range []struct {
		safe     [2]usageBit
		onW, onR usageBit
	}{{[2]usageBit{usedInHard, usedInHardRead}, enabledHard, enabledHardRead}, {[2]usageBit{usedInSoft, usedInSoftRead}, enabledSoft, enabledSoftRead}} {
		var next map[reachState]*Edge
		for _, name := range names {
			for _, bit := range st.safe {
				safe := b.usages[name].site(bit)
				if !safe.set || reported[name+bit.state()] {
					continue
				}
				if next == nil {
					next = b.unsafeReach(st.onW, st.onR)
				}
				var path []*Edge
				for at, hops := (reachState{name, false}), 0; hops <= len(next); hops++ {
					e := next[at]
					if e == nil {
						break
					}
					path = append(path, e)
					at = reachState{e.To, e.Recursive}
					if b.isUnsafeEnd(e, st.onW, st.onR) {
						break
					}
				}
				if len(path) == 0 || !b.isUnsafeEnd(path[len(path)-1], st.onW, st.onR) {
					continue
				}
				unsafe := path[len(path)-1].To
				if unsafe == name {
					continue // the class itself: inconsistent lock state, reported above
				}
				key := name + ">" + unsafe + bit.state()
				if reported[key] {
					continue
				}
				reported[key] = true
				b.irqInversion(name, unsafe, [2]usageBit{bit, st.onW}, path)
			}
		}
	}
}

// reachState is a class on a strong path, and whether the path entered it
// as a recursive reader.
type reachState struct {
	n   string
	rec bool
}

// isUnsafeEnd says whether edge e ends a path at an irq-unsafe class: one
// with the ENABLED write usage, or the read one unless e acquires it as a
// recursive reader (usage_match() with only_xr masks _READ usages).
func (b *builder) isUnsafeEnd(e *Edge, onW, onR usageBit) bool {
	u := b.usages[e.To]
	if u == nil || !b.usageTracked(b.g.nodes[e.To]) {
		return false
	}
	return u.site(onW).set || (!e.Recursive && u.site(onR).set)
}

// unsafeReach is check_irq_usage()'s forward search run backwards from
// every unsafe class at once: for each state it returns the first edge of
// a shortest strong path (no edge into a recursive reader followed by an
// edge out of a lock held shared) to an unsafe class. local_lock classes
// are not traversed (usage_skip()). Edges are visited in sorted order, so
// the paths are deterministic.
func (b *builder) unsafeReach(onW, onR usageBit) map[reachState]*Edge {
	edges := b.g.Edges()
	in := map[string][]*Edge{}
	for _, e := range edges {
		in[e.To] = append(in[e.To], e)
	}
	next := map[reachState]*Edge{}
	var queue []reachState
	reach := func(from string, e *Edge) {
		for _, rec := range [2]bool{false, true} {
			if rec && e.Shared {
				continue // -(xR)-> then -(Sx)->: not a strong path
			}
			s := reachState{from, rec}
			if _, ok := next[s]; !ok {
				next[s] = e
				queue = append(queue, s)
			}
		}
	}
	for _, e := range edges {
		if e.From != e.To && b.usageTracked(b.g.nodes[e.From]) && b.isUnsafeEnd(e, onW, onR) {
			reach(e.From, e)
		}
	}
	for len(queue) > 0 {
		s := queue[0]
		queue = queue[1:]
		if !b.usageTracked(b.g.nodes[s.n]) {
			continue
		}
		for _, e := range in[s.n] {
			if e.Recursive == s.rec && e.From != e.To && b.usageTracked(b.g.nodes[e.From]) {
				reach(e.From, e)
			}
		}
	}
	return next
}

func irqState4(s irqState) string {
	return fmt.Sprintf("[HC%d[%d]:SC%d[%d]:HE%d:SE%d]", boolInt(s.inHard), boolInt(s.inHard), boolInt(s.inSoft), boolInt(s.inSoft), boolInt(s.hardOn), boolInt(s.softOn))
}

// inconsistent is print_usage_bug(): one class both used in an interrupt
// and taken (or held) with that interrupt enabled. The usage registered
// first is the "state registered at"; the later one "takes".
func (b *builder) inconsistent(name string, inBit, onBit usageBit, in, on usageSite) {
	first, firstBit, later, laterBit := in, inBit, on, onBit
	if on.tick < in.tick {
		first, firstBit, later, laterBit = on, onBit, in, inBit
	}
	state := inBit.state()
	f := b.p.File
	body := []string{
		fmt.Sprintf("inconsistent {%s} -> {%s} usage.", usageStr[firstBit], usageStr[laterBit]),
		fmt.Sprintf("%s %s takes:", later.thread, irqState4(later.irq)),
		fmt.Sprintf("(%s)%s, at: %s", name, b.decorate(name), where(f, later.pos, later.path)),
		fmt.Sprintf("{%s} state was registered at:", usageStr[firstBit]),
		fmt.Sprintf("  %s: %s", where(f, first.pos, first.path), first.text),
		"",
		"other info that might help us debug this:",
		" Possible unsafe locking scenario:",
		"",
		"       CPU0",
		"       ----",
		fmt.Sprintf("  lock(%s);", name),
		"  <Interrupt>",
		fmt.Sprintf("    lock(%s);", name),
		"",
		" *** DEADLOCK ***",
		"",
	}
	hint := fmt.Sprintf("Take %s with spin_lock_irqsave()/spin_lock_irq() everywhere outside the interrupt (or declare it irq_safe), or move the work out of the interrupt.", name)
	if state == "SOFTIRQ" {
		hint = fmt.Sprintf("Take %s with spin_lock_bh() (or _irqsave) everywhere outside the softirq, or move the work out of it.", name)
	}
	if on.byEnable {
		hint = fmt.Sprintf("%s is held when interrupts are re-enabled at %d:%d (%s): a nested spin_unlock_irq()/local_irq_enable() turns them on under an outer irq-safe lock; use spin_lock_irqsave()/spin_unlock_irqrestore() for the inner lock.", name, on.pos.Line, on.pos.Col, on.text)
	}
	ctxOf := func(s usageSite) string { return s.path }
	// The finding points at the interrupt-side use, whatever the walk
	// order; the splat keeps lockdep's order.
	b.diags = append(b.diags, diag.Diagnostic{File: f, Pos: in.pos, Rule: rules.IRQUnsafeLock, Severity: rules.SeverityOf(rules.IRQUnsafeLock),
		Mode:    string(b.mode),
		Message: fmt.Sprintf("inconsistent lock state: %s is used {%s} at %d:%d and {%s} at %d:%d (R25)", name, usageStr[inBit], in.pos.Line, in.pos.Col, usageStr[onBit], on.pos.Line, on.pos.Col),
		Chain: []diag.Step{
			{File: f, Pos: first.pos, To: name, Path: ctxOf(first), Message: "{" + usageStr[firstBit] + "}: " + first.text},
			{File: f, Pos: later.pos, To: name, Path: ctxOf(later), Message: "{" + usageStr[laterBit] + "}: " + later.text},
		},
		Hint:  hint,
		Splat: b.genericSplat("WARNING: inconsistent lock state", 32, later.thread, body, later.held, later.heldKnown),
	})
}

// irqInversion reports a safe class reaching an unsafe one along
// dependencies: print_bad_irq_dependency() when the dependency was the
// last thing recorded, print_irq_inversion_bug() when a usage was.
func (b *builder) irqInversion(safeName, unsafeName string, c [2]usageBit, path []*Edge) {
	safe := b.usages[safeName].site(c[0])
	unsafe := b.usages[unsafeName].site(c[1])
	if !unsafe.set {
		c[1] ^= 1 // the other (read or write) ENABLED usage matched
		unsafe = b.usages[unsafeName].site(c[1])
	}
	last := path[0]
	for _, e := range path {
		if e.tick > last.tick {
			last = e
		}
	}
	state := c[0].state()
	f := b.p.File
	nodes := []string{safeName}
	for _, e := range path {
		nodes = append(nodes, e.To)
	}
	// print_irq_lock_scenario(): middle is the lock next to the safe one
	// on the path (or the new dependency's ends).
	scenario := func(prevClass, nextClass string) []string {
		middle := prevClass
		if middle == safeName {
			middle = nextClass
		}
		var out []string
		if middle != unsafeName {
			out = append(out, "Chain exists of:", fmt.Sprintf("  %s --> %s --> %s", safeName, middle, unsafeName), "")
		}
		return append(out,
			" Possible interrupt unsafe locking scenario:",
			"",
			"       CPU0                    CPU1",
			"       ----                    ----",
			fmt.Sprintf("  lock(%s);", unsafeName),
			"                               local_irq_disable();",
			fmt.Sprintf("                               lock(%s);", safeName),
			fmt.Sprintf("                               lock(%s);", middle),
			"  <Interrupt>",
			fmt.Sprintf("    lock(%s);", safeName),
			"",
			" *** DEADLOCK ***",
			"")
	}
	var body []string
	var title, task string
	var held []HeldLock
	var heldKnown bool
	var pos model.Pos
	bar := 56
	if last.tick > safe.tick && last.tick > unsafe.tick {
		title = fmt.Sprintf("WARNING: %s-safe -> %s-unsafe lock order detected", state, state)
		bar = 53
		task, held, pos = last.Thread, b.g.HeldOf(last), last.Pos
		heldKnown = b.mode == Lockdep
		if task == "" {
			task = last.Path
		}
		holding := fmt.Sprintf("(%s)", last.From)
		for _, h := range b.g.HeldOf(last) {
			if h.Name == last.From {
				holding = fmt.Sprintf("(%s)%s, at: %s", h.Name, b.decorate(h.Name), where(f, h.Pos, h.Path))
			}
		}
		body = append(body,
			fmt.Sprintf("%s %s is trying to acquire:", task, irqState4(last.irqs())),
			fmt.Sprintf("(%s)%s, at: %s", last.To, b.decorate(last.To), where(f, last.Pos, last.Path)),
			"",
			"and this task is already holding:",
			holding,
			"which would create a new lock dependency:",
			fmt.Sprintf(" (%s)%s -> (%s)%s", last.From, b.decorate(last.From), last.To, b.decorate(last.To)),
			"",
			fmt.Sprintf("but this new dependency connects a %s-irq-safe lock:", state),
			fmt.Sprintf(" (%s)%s", safeName, b.decorate(safeName)),
			"",
			fmt.Sprintf("... which became %s-irq-safe at:", state),
			fmt.Sprintf("  %s: %s", where(f, safe.pos, safe.path), safe.text),
			"",
			fmt.Sprintf("to a %s-irq-unsafe lock:", state),
			fmt.Sprintf(" (%s)%s", unsafeName, b.decorate(unsafeName)),
			"",
			fmt.Sprintf("... which became %s-irq-unsafe at:", state),
			"...",
			fmt.Sprintf("  %s: %s", where(f, unsafe.pos, unsafe.path), unsafe.text),
			"",
			"other info that might help us debug this:",
			"")
		body = append(body, scenario(last.From, last.To)...)
	} else {
		title = "WARNING: possible irq lock inversion dependency detected"
		// The usage set last "just changed the state of lock".
		changed, other, line := safeName, unsafeName, fmt.Sprintf("but this lock took another, %s-unsafe lock in the past:", state)
		site := safe
		middle := nodes[1]
		if unsafe.tick > safe.tick {
			changed, other, line = unsafeName, safeName, fmt.Sprintf("but this lock was taken by another, %s-safe lock in the past:", state)
			site = unsafe
			middle = nodes[len(nodes)-2]
		}
		task, held, pos = site.thread, site.held, site.pos
		heldKnown = site.heldKnown
		body = append(body,
			fmt.Sprintf("%s just changed the state of lock:", task),
			fmt.Sprintf("(%s)%s, at: %s", changed, b.decorate(changed), where(f, site.pos, site.path)),
			line,
			fmt.Sprintf(" (%s)%s", other, b.decorate(other)),
			"",
			"",
			"and interrupts could create inverse lock ordering between them.",
			"",
			"",
			"other info that might help us debug this:")
		body = append(body, scenario(middle, unsafeName)...)
	}
	var chain []diag.Step
	chain = append(chain, diag.Step{File: f, Pos: safe.pos, To: safeName, Path: safe.path, Message: fmt.Sprintf("%s becomes %s-safe: {%s} %s", safeName, state, usageStr[c[0]], safe.text)})
	for _, e := range path {
		msg := e.Text
		if !e.Pos.Valid() {
			msg += " (built in)"
		}
		chain = append(chain, diag.Step{File: e.File, Pos: e.Pos, From: e.From, To: e.To, Kind: string(e.Kind), Path: e.Path, Context: e.Context, Builtin: string(e.Builtin),
			Message: fmt.Sprintf("%s --> %s: %s", e.From, e.To, msg)})
	}
	chain = append(chain, diag.Step{File: f, Pos: unsafe.pos, To: unsafeName, Path: unsafe.path, Message: fmt.Sprintf("%s becomes %s-unsafe: {%s} %s", unsafeName, state, usageStr[c[1]], unsafe.text)})
	if !pos.Valid() {
		pos = safe.pos
	}
	hint := fmt.Sprintf("%s is taken in interrupt context and, through %s, leads to %s, which is taken with interrupts enabled at %d:%d: take %s with interrupts disabled (spin_lock_irqsave) or break the dependency.", safeName, strings.Join(nodes, " --> "), unsafeName, unsafe.pos.Line, unsafe.pos.Col, unsafeName)
	if state == "SOFTIRQ" {
		hint = strings.Replace(hint, "interrupts disabled (spin_lock_irqsave)", "softirqs disabled (spin_lock_bh)", 1)
	}
	b.diags = append(b.diags, diag.Diagnostic{File: f, Pos: pos, Rule: rules.IRQInversion, Severity: rules.SeverityOf(rules.IRQInversion), Mode: string(b.mode),
		Message: fmt.Sprintf("%s-safe %s reaches %s-unsafe %s: %s", state, safeName, state, unsafeName, strings.Join(nodes, " --> ")),
		Cycle:   nil, Chain: chain, Hint: hint,
		Splat: b.genericSplat(title, bar, task, body, held, heldKnown),
	})
}

// usageChar is get_usage_char(): '+' enabled (irqs on, not in the
// interrupt), '-' used in the interrupt, '?' both, '.' neither.
func usageChar(bits uint8, used, enabled usageBit) byte {
	u, e := bits&(1<<used) != 0, bits&(1<<enabled) != 0
	switch {
	case e && u:
		return '?'
	case e:
		return '+'
	case u:
		return '-'
	}
	return '.'
}

// decorOf is what print_lock_name() prints after a class name: the usage
// characters {HARDIRQ write, read, SOFTIRQ write, read} and (since v5.7)
// the wait types {outer:inner}.
func decorOf(n *Node, waitTypes bool) string {
	if n == nil || n.noDecor || !n.waitSet {
		return ""
	}
	u := n.usage
	s := string([]byte{'{', usageChar(u, usedInHard, enabledHard), usageChar(u, usedInHardRead, enabledHardRead),
		usageChar(u, usedInSoft, enabledSoft), usageChar(u, usedInSoftRead, enabledSoftRead), '}'})
	if waitTypes {
		s += fmt.Sprintf("-{%d:%d}", n.wait[0], n.wait[1])
	}
	return s
}

// decor is decorOf for a cycle's splat, at the end of the walk.
func (g *Graph) decor(name string) string { return decorOf(g.nodes[name], g.waitTypesPrinted) }

// decorate is decorOf as the class is now (lockdep prints the usage at
// report time).
func (b *builder) decorate(name string) string {
	n := b.g.nodes[name]
	if n == nil {
		return ""
	}
	b.nodeWait(n)
	return decorOf(n, b.p.Profile.WaitTypes)
}

// decorAll snapshots the annotation of every class named.
func (b *builder) decorAll(names ...string) map[string]string {
	m := map[string]string{}
	for _, n := range names {
		if _, ok := m[n]; !ok {
			m[n] = b.decorate(n)
		}
	}
	return m
}
