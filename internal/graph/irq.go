package graph

import (
	"fmt"
	"maps"
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
	tick   int // the walk's clock: orders usages against each other and against dependencies
	pos    model.Pos
	path   string
	thread string
	text   string
	// byEnable: set by re-enabling interrupts while the lock was held
	// (spin_unlock_irq, local_irq_enable), not by an acquisition.
	byEnable bool
	held     []HeldLock
	irq      irqState
}

type classUsage struct {
	sites [numUsage]usageSite
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
// and kernel maps, not precise mode's per-fence and per-callback nodes.
func usageTracked(n *Node) bool { return n.Kind == KindLock || n.Kind == KindPseudo }

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

func (w *walker) markSite(name string, bit usageBit, o kernel.Op, byEnable bool) {
	u := w.b.usage(name)
	if u.sites[bit].set {
		return
	}
	w.b.clock++
	u.sites[bit] = usageSite{set: true, tick: w.b.clock, pos: o.Pos, path: o.InPath, thread: w.t.Name,
		text: o.Text, byEnable: byEnable, held: w.heldSnapshot(), irq: w.irq.irqState}
}

// markUsage is mark_usage() for an acquisition (trylocks included).
func (w *walker) markUsage(n *Node, o kernel.Op) {
	if !usageTracked(n) {
		return
	}
	r := usageBit(0)
	if o.Mode != kernel.Write {
		r = 1
	}
	s := w.irq
	if s.inHard {
		w.markSite(n.Name, usedInHard+r, o, false)
	}
	if s.inSoft {
		w.markSite(n.Name, usedInSoft+r, o, false)
	}
	if s.hardOn {
		w.markSite(n.Name, enabledHard+r, o, false)
		if s.softOn {
			w.markSite(n.Name, enabledSoft+r, o, false)
		}
	}
}

// markHeld is mark_held_locks(): interrupts of a state were just enabled
// with these locks held.
func (w *walker) markHeld(soft bool, o kernel.Op) {
	for _, h := range w.held {
		if !usageTracked(h.ni.n) || h.unpub {
			continue
		}
		bit := enabledHard
		if soft {
			bit = enabledSoft
		}
		if h.shared {
			bit++
		}
		w.markSite(h.name, bit, o, true)
	}
}

func (w *walker) hardOff() { w.irq.hardOn = false }

func (w *walker) hardOn(o kernel.Op) {
	if w.irq.inHard || w.irq.hardOn {
		return
	}
	w.irq.hardOn = true
	w.markHeld(false, o)
	if w.irq.softOn {
		w.markHeld(true, o)
	}
}

func (w *walker) irqSave()               { w.irq.saved = append(w.irq.saved, w.irq.hardOn); w.hardOff() }
func (w *walker) irqRestore(o kernel.Op) { w.restoreTo(o) }

func (w *walker) restoreTo(o kernel.Op) {
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

func (w *walker) bhEnable(o kernel.Op) {
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
func (w *walker) beforeAcquire(o kernel.Op) {
	irq := o.IRQ
	if irq == "" && w.irqSafe(o.Lock) {
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
func (w *walker) afterRelease(o kernel.Op) {
	irq := o.IRQ
	if irq == "" && w.irqSafe(o.Lock) {
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

func (w *walker) localIRQ(o kernel.Op) {
	switch o.Scope {
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

func (w *walker) localBH(o kernel.Op) {
	switch o.Scope {
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
func (b *builder) waitType(n *Node, lock string) int {
	nest := 0
	if b.p.Profile.RawLockNesting {
		nest = 1
	}
	switch b.p.LockKind(lock) {
	case "raw_spinlock":
		return 2
	case "spinlock", "rwlock":
		return 2 + nest
	case "mutex", "rwsem", "ww_mutex", "semaphore":
		return 3 + nest
	case "map":
		return 0
	}
	base := kernel.CanonicalLock(strings.SplitN(lock, "/", 2)[0])
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
func (w *walker) checkWaitContext(n *Node, o kernel.Op) {
	next := w.b.waitType(n, o.Lock)
	if next == 0 || o.Try {
		return
	}
	curr := w.taskWaitContext()
	for _, h := range w.held {
		if wt := w.b.waitType(h.ni.n, h.orig); wt != 0 && wt < curr {
			curr = wt
		}
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
		fmt.Sprintf("(%s)-{%d:%d}, at: %s", n.Name, next, next, where(w.b.p.File, o.Pos, o.InPath)),
		"other info that might help us debug this:",
		fmt.Sprintf("context-{%d:%d}", w.taskWaitContext(), w.taskWaitContext()),
	}
	held := w.heldSnapshot()
	w.b.diags = append(w.b.diags, diag.Diagnostic{
		File: w.b.p.File, Pos: o.Pos, Rule: rules.InvalidWaitContext, Severity: rules.SeverityOf(rules.InvalidWaitContext), Mode: string(w.b.mode),
		Message: fmt.Sprintf("invalid wait context: %s takes %s (wait type %d) in %s, whose innermost wait type is %d", o.InPath, n.Name, next, ctx, curr),
		Chain:   []diag.Step{{File: w.b.p.File, Pos: o.Pos, To: n.Name, Kind: "lock", Path: o.InPath, Context: w.t.Context, Message: o.Text}},
		Hint:    fmt.Sprintf("A %s cannot be taken under a lock or in a context of a lower wait type (raw_spinlock and hardirq: 2, spinlock_t and softirq: %d, sleeping locks: %d): take it before, use a raw_spinlock, or defer the work.", what, 2+boolInt(w.b.p.Profile.RawLockNesting), 3+boolInt(w.b.p.Profile.RawLockNesting)),
		Splat:   w.b.genericSplat("[ BUG: Invalid wait context ]", 29, w.t.Name, body, held),
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
func (b *builder) genericSplat(title string, bar int, task string, body []string, held []HeldLock) *diag.Splat {
	sp := &diag.Splat{Kernel: b.p.Profile.Version, Task: task, Title: title, Bar: bar, Body: body, HeldKnown: true}
	for _, h := range held {
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
	names := slices.Sorted(maps.Keys(b.usages))
	reported := map[string]bool{}
	for _, name := range names {
		u := b.usages[name]
		for _, c := range conflicts {
			in, on := u.sites[c[0]], u.sites[c[1]]
			if !in.set || !on.set || reported[name+c[0].state()] {
				continue
			}
			reported[name+c[0].state()] = true
			b.inconsistent(name, c[0], c[1], in, on)
		}
	}
	// Cross-class: from every safe class, the nearest unsafe class
	// reachable along dependencies.
	for _, name := range names {
		for _, c := range conflicts {
			safe := b.usages[name].sites[c[0]]
			if !safe.set || reported[name+c[0].state()] {
				continue
			}
			path, unsafe := b.reachUnsafe(name, c)
			if path == nil {
				continue
			}
			key := name + ">" + unsafe + c[0].state()
			if reported[key] {
				continue
			}
			reported[key] = true
			b.irqInversion(name, unsafe, c, path)
		}
	}
}

// reachUnsafe is a breadth-first search along dependencies from a safe
// class for a class with the conflicting ENABLED usage; it returns the
// edges of the shortest path (deterministic: edges in sorted order).
func (b *builder) reachUnsafe(from string, c [2]usageBit) ([]*Edge, string) {
	out := map[string][]*Edge{}
	for _, e := range b.g.Edges() {
		out[e.From] = append(out[e.From], e)
	}
	prev := map[string]*Edge{from: nil}
	queue := []string{from}
	for len(queue) > 0 {
		n := queue[0]
		queue = queue[1:]
		for _, e := range out[n] {
			if _, seen := prev[e.To]; seen || !usageTracked(b.g.nodes[e.To]) {
				continue
			}
			prev[e.To] = e
			if u := b.usages[e.To]; u != nil && u.sites[c[1]].set {
				var path []*Edge
				for at := e.To; prev[at] != nil; at = prev[at].From {
					path = append([]*Edge{prev[at]}, path...)
				}
				return path, e.To
			}
			queue = append(queue, e.To)
		}
	}
	return nil, ""
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
		fmt.Sprintf("(%s), at: %s", name, where(f, later.pos, later.path)),
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
		Splat: b.genericSplat("WARNING: inconsistent lock state", 32, later.thread, body, later.held),
	})
}

// irqInversion reports a safe class reaching an unsafe one along
// dependencies: print_bad_irq_dependency() when the dependency was the
// last thing recorded, print_irq_inversion_bug() when a usage was.
func (b *builder) irqInversion(safeName, unsafeName string, c [2]usageBit, path []*Edge) {
	safe := b.usages[safeName].sites[c[0]]
	unsafe := b.usages[unsafeName].sites[c[1]]
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
	var pos model.Pos
	bar := 56
	if last.tick > safe.tick && last.tick > unsafe.tick {
		title = fmt.Sprintf("WARNING: %s-safe -> %s-unsafe lock order detected", state, state)
		bar = 53
		task, held, pos = last.Thread, last.Held, last.Pos
		if task == "" {
			task = last.Path
		}
		holding := fmt.Sprintf("(%s)", last.From)
		for _, h := range last.Held {
			if h.Name == last.From {
				holding = fmt.Sprintf("(%s), at: %s", h.Name, where(f, h.Pos, h.Path))
			}
		}
		body = append(body,
			fmt.Sprintf("%s %s is trying to acquire:", task, irqState4(last.irqs)),
			fmt.Sprintf("(%s), at: %s", last.To, where(f, last.Pos, last.Path)),
			"",
			"and this task is already holding:",
			holding,
			"which would create a new lock dependency:",
			fmt.Sprintf(" (%s) -> (%s)", last.From, last.To),
			"",
			fmt.Sprintf("but this new dependency connects a %s-irq-safe lock:", state),
			fmt.Sprintf(" (%s)", safeName),
			"",
			fmt.Sprintf("... which became %s-irq-safe at:", state),
			fmt.Sprintf("  %s: %s", where(f, safe.pos, safe.path), safe.text),
			"",
			fmt.Sprintf("to a %s-irq-unsafe lock:", state),
			fmt.Sprintf(" (%s)", unsafeName),
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
		body = append(body,
			fmt.Sprintf("%s just changed the state of lock:", task),
			fmt.Sprintf("(%s), at: %s", changed, where(f, site.pos, site.path)),
			line,
			fmt.Sprintf(" (%s)", other),
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
		chain = append(chain, diag.Step{File: e.File, Pos: e.Pos, From: e.From, To: e.To, Kind: string(e.Kind), Path: e.Path, Context: e.Context,
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
		Splat: b.genericSplat(title, bar, task, body, held),
	})
}
