package importer

import (
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/fencecheck/fencecheck/internal/kernel"
	"github.com/fencecheck/fencecheck/internal/model"
	"github.com/fencecheck/fencecheck/internal/rules"
	"github.com/fencecheck/fencecheck/internal/splat"
)

// Imported is one report written as a scenario.
type Imported struct {
	Report *splat.Report
	// Stem is a file-name stem: "<n>-<kind>".
	Stem string
	YAML string
	// Chain is the lockdep-mode chain line the scenario expects
	// (fencecheck's spelling), "" when the report has none.
	Chain string
	// Notes say what was guessed and what could not be placed.
	Notes []string
	// Unsupported is set when the report kind cannot be reproduced as a
	// finding; the scenario then records the locks only.
	Unsupported bool
}

const fenceName = "fence"

type writer struct {
	r      *splat.Report
	d      doc
	decl   map[string]bool
	kinds  map[string]string
	usage  map[string]string
	waits  map[string]*splat.Lock
	frames map[string][]splat.Frame // acquisition frames per class
	sleep  int                      // wait type of a sleeping lock in this kernel
	names  map[string]int
	notes  []string
	fence  bool
	// reserved are names a path may not take (classes, the fence).
	reserved map[string]bool
}

// ImportSplat writes report r (the n-th found, 1-based) as a scenario.
func ImportSplat(r *splat.Report, n int) Imported {
	w := &writer{r: r, decl: map[string]bool{}, kinds: map[string]string{}, usage: map[string]string{},
		waits: map[string]*splat.Lock{}, frames: map[string][]splat.Frame{}, names: map[string]int{}, sleep: 3}
	w.collect()
	out := Imported{Report: r, Stem: fmt.Sprintf("%d-%s", n, r.Kind)}
	switch r.Kind {
	case splat.Circular:
		out.Chain = w.circular()
	case splat.Recursive:
		w.recursive()
	case splat.Inconsistent:
		w.inconsistent()
	case splat.IRQInversion:
		w.inversion()
	case splat.WaitContext:
		out.Unsupported = true
		w.waitContext()
	default:
		out.Unsupported = true
		w.heldOnly()
	}
	w.finish()
	out.YAML = w.d.render()
	out.Notes = w.notes
	return out
}

// ---- classes ----------------------------------------------------------

var reSubclass = regexp.MustCompile(`^(.+)/([0-7])$`)

// class maps a lockdep class name to fencecheck's name and subclass: the
// one name table, then "/N" (print_lock_name's subclass suffix) as the
// subclass fencecheck names the same way ("name/N").
func class(name string) (string, int) {
	sub := 0
	if m := reSubclass.FindStringSubmatch(name); m != nil {
		name = m[1]
		sub, _ = strconv.Atoi(m[2])
	}
	n, _ := FencecheckName(name)
	return n, sub
}

func fcName(name string) string {
	n, sub := class(name)
	if sub != 0 {
		return fmt.Sprintf("%s/%d", n, sub)
	}
	return n
}

func (w *writer) see(l *splat.Lock) {
	if l == nil || l.Name == "" {
		return
	}
	n, _ := class(l.Name)
	if l.Usage != "" && w.usage[n] == "" {
		w.usage[n] = l.Usage
	}
	if l.HasWait {
		if w.waits[n] == nil {
			w.waits[n] = l
		}
		if l.WaitInner == 4 || l.WaitOuter == 4 {
			w.sleep = 4
		}
	}
}

func (w *writer) collect() {
	r := w.r
	w.see(r.Acquiring)
	w.see(r.Holding)
	w.see(r.Other)
	for i := range r.Entries {
		e := &r.Entries[i]
		w.see(&e.Lock)
		n, _ := class(e.Lock.Name)
		if w.frames[n] == nil {
			w.frames[n] = e.Frames
		}
	}
	for _, hl := range r.Held {
		for i := range hl.Locks {
			w.see(&hl.Locks[i].Lock)
		}
	}
}

// readOnly: the usage string shows only read acquisitions (the write
// characters of both irq states are '.', get_usage_chars()).
func readOnly(usage string) bool {
	return len(usage) >= 4 && usage[0] == '.' && usage[2] == '.' && (usage[1] != '.' || usage[3] != '.')
}

// readAny: the class was read-acquired somewhere (a read character of
// get_usage_chars() is set), so it is a reader-writer lock.
func readAny(usage string) bool {
	return len(usage) >= 4 && (usage[1] != '.' || usage[3] != '.')
}

// kindOf infers a declared class's kind: from the lock primitive in its
// acquiring frames, else from the wait type lockdep printed (-{outer:inner},
// enum lockdep_wait_type in include/linux/lockdep_types.h: 0 not checked
// (a lockdep_map), SPIN/CONFIG spinning, SLEEP sleeping; SLEEP is 4 with
// CONFIG_PROVE_RAW_LOCK_NESTING and 3 without), else from the name.
func (w *writer) kindOf(n string) (kind, why string) {
	usage := w.usage[n]
	for _, f := range w.frames[n] {
		switch fn := f.Func; {
		case strings.HasPrefix(fn, "ww_mutex_lock") || strings.HasPrefix(fn, "__ww_mutex_lock") || strings.HasPrefix(fn, "dma_resv_lock"):
			return "ww_mutex", "acquired by " + fn
		case strings.HasPrefix(fn, "__mutex_lock") || strings.HasPrefix(fn, "mutex_lock"):
			return "mutex", "acquired by " + fn
		case strings.HasPrefix(fn, "down_read") || strings.HasPrefix(fn, "down_write") || strings.HasPrefix(fn, "__down_") || strings.HasPrefix(fn, "rwsem_"):
			return "rwsem", "acquired by " + fn
		case strings.HasPrefix(fn, "_raw_read_lock") || strings.HasPrefix(fn, "_raw_write_lock"):
			return "rwlock", "acquired by " + fn
		case strings.HasPrefix(fn, "_raw_spin_lock") || strings.HasPrefix(fn, "spin_lock"):
			return "spinlock", "acquired by " + fn
		}
	}
	// A class used in irq context ('-' or '?' in get_usage_chars) spins; so
	// do the classes of an irq-state report (a sleeping lock cannot be
	// taken with interrupts disabled).
	irq := strings.ContainsAny(usage, "-?") || w.r.Kind == splat.Inconsistent || w.r.Kind == splat.IRQInversion
	if l := w.waits[n]; l != nil {
		switch {
		case l.WaitInner == 0:
			return "map", fmt.Sprintf("wait type {%d:%d}: a lockdep_map", l.WaitOuter, l.WaitInner)
		case irq && readAny(usage):
			return "rwlock", fmt.Sprintf("wait type {%d:%d}, used with interrupts disabled: spinning, read-acquired", l.WaitOuter, l.WaitInner)
		case irq:
			return "spinlock", fmt.Sprintf("wait type {%d:%d}, used with interrupts disabled: spinning", l.WaitOuter, l.WaitInner)
		case l.WaitInner >= w.sleep && readAny(usage):
			return "rwsem", fmt.Sprintf("wait type {%d:%d}: sleeping, read-acquired", l.WaitOuter, l.WaitInner)
		case l.WaitInner >= w.sleep:
			return "mutex", fmt.Sprintf("wait type {%d:%d}: sleeping (guessed mutex)", l.WaitOuter, l.WaitInner)
		case readAny(usage):
			return "rwlock", fmt.Sprintf("wait type {%d:%d}: spinning, read-acquired", l.WaitOuter, l.WaitInner)
		default:
			return "spinlock", fmt.Sprintf("wait type {%d:%d}: spinning", l.WaitOuter, l.WaitInner)
		}
	}
	if irq {
		return "spinlock", "used with interrupts disabled: spinning"
	}
	low := strings.ToLower(n)
	switch {
	case strings.Contains(low, "mutex"):
		return "mutex", "guessed from the name"
	case strings.Contains(low, "rwsem") || strings.Contains(low, "sem"):
		return "rwsem", "guessed from the name"
	}
	return "map", "no primitive or wait type in the report: declared as a lockdep map"
}

// ref declares the class if needed and returns the reference and subclass.
func (w *writer) ref(name string) (string, int) {
	n, sub := class(name)
	if model.IsBuiltin(n) || w.decl[n] {
		return n, sub
	}
	w.decl[n] = true
	kind, why := w.kindOf(n)
	c := why
	if orig := strings.TrimSuffix(name, fmt.Sprintf("/%d", sub)); orig != n {
		c = "lockdep: " + orig + "; " + c
	}
	w.d.locks = append(w.d.locks, lockDecl{name: n, kind: kind, comment: c})
	return n, sub
}

func isPseudo(n string) bool {
	switch n {
	case kernel.FsReclaim, kernel.MMUNotifier, kernel.FenceMap, kernel.WWAcquire:
		return true
	}
	return false
}

// ---- paths ------------------------------------------------------------

type pathState struct {
	p       pathDecl
	undo    []step
	ticket  string // the latest ww acquire context, "" for none
	tickets int
}

// newTicket names a new ww acquire context of the path (a nested
// ww_acquire_init needs its own name to load; lockdep reports it).
func (ps *pathState) newTicket() string {
	ps.tickets++
	ps.ticket = "ticket"
	if ps.tickets > 1 {
		ps.ticket = fmt.Sprintf("ticket%d", ps.tickets)
	}
	return ps.ticket
}

// pathName names a path after the function that took the lock. Names
// share one namespace with lock classes, so a name that is also a class
// (a built-in, or any class of the report) gets a suffix.
func (w *writer) pathName(fs []splat.Frame, def string) string {
	base := def
	if f, ok := firstCaller(fs); ok {
		base = f.Func
	}
	if w.reserved == nil {
		w.reserved = map[string]bool{fenceName: true}
		for _, n := range model.Builtins {
			w.reserved[n] = true
		}
		for _, n := range w.allNames() {
			c, _ := class(n)
			w.reserved[c] = true
		}
	}
	for {
		w.names[base]++
		name := base
		if k := w.names[base]; k > 1 {
			name = fmt.Sprintf("%s_%d", base, k)
		}
		if !w.reserved[name] {
			w.reserved[name] = true
			return name
		}
	}
}

func (w *writer) useFence() string {
	if !w.fence {
		w.fence = true
		w.d.fences = append(w.d.fences, fenceName)
	}
	return fenceName
}

func frameList(fs []splat.Frame, n int) string {
	var parts []string
	for _, f := range fs {
		if len(parts) == n {
			parts = append(parts, "...")
			break
		}
		s := f.Func
		if f.Module != "" {
			s += " [" + f.Module + "]"
		}
		parts = append(parts, s)
	}
	return strings.Join(parts, " < ")
}

// lockMode is how a class is taken: read if the acquiring frames are a
// reader primitive or the class is only ever read-acquired.
func (w *writer) lockMode(n string, fs []splat.Frame) string {
	if fn, ok := hasFrame(fs, readFrame); ok && fn != "" {
		return "read"
	}
	if readOnly(w.usage[n]) {
		return "read"
	}
	return ""
}

// hold makes the path hold class name (taken before the dependency).
func (w *writer) hold(ps *pathState, name string) {
	n, sub := w.ref(name)
	if implicitHold(ps.p.context) == n {
		return
	}
	switch n {
	case kernel.FenceMap:
		f := w.useFence()
		ps.p.steps = append(ps.p.steps, step{key: "begin_signalling", val: f, comment: "held dma_fence_map: a fence signalling section"})
		ps.undo = append(ps.undo, step{key: "end_signalling", val: f})
		return
	case kernel.FsReclaim, kernel.MMUNotifier:
		// The caller chose a context that holds it; a bare hold of the
		// reclaim maps has no step of its own.
		ps.p.steps = append(ps.p.steps, step{key: "lock", val: n, comment: "held " + n})
		ps.undo = append(ps.undo, step{key: "unlock", val: n})
		return
	case kernel.WWAcquire:
		t := ps.newTicket()
		ps.p.steps = append(ps.p.steps, step{key: "ww_acquire_init", val: t})
		ps.undo = append(ps.undo, step{key: "ww_acquire_fini", val: t})
		return
	}
	s := step{key: "lock", val: n}
	if n == kernel.WWMutex && ps.ticket != "" {
		s.mods = append(s.mods, [2]string{"ctx", ps.ticket})
	}
	if m := w.lockMode(n, nil); m != "" && n != kernel.WWMutex {
		s.mods = append(s.mods, [2]string{"mode", m})
	}
	if sub != 0 {
		s.mods = append(s.mods, [2]string{"subclass", strconv.Itoa(sub)})
	}
	ps.p.steps = append(ps.p.steps, s)
	ps.undo = append(ps.undo, step{key: "unlock", val: n})
}

// take adds the acquisition of class name as the frames show it.
func (w *writer) take(ps *pathState, name string, fs []splat.Frame) {
	n, sub := w.ref(name)
	at := frameList(callers(fs), 4)
	switch n {
	case kernel.FsReclaim:
		c := "fs_reclaim_acquire(GFP_KERNEL)"
		if fn, ok := hasFrame(fs, allocFrame); ok {
			c = "allocation through " + fn + " enters fs_reclaim"
		}
		ps.p.steps = append(ps.p.steps, step{key: "alloc", val: "GFP_KERNEL", comment: c})
		return
	case kernel.MMUNotifier:
		if fn, ok := hasFrame(fs, allocFrame); ok {
			ps.p.steps = append(ps.p.steps, step{key: "alloc", val: "GFP_NOFS", comment: "allocation through " + fn + " without __GFP_FS touches the notifier map"})
			return
		}
		ps.p.steps = append(ps.p.steps, step{key: "might_lock", val: n, comment: "lock_map_acquire of the notifier map"})
		return
	case kernel.FenceMap:
		if fn, ok := hasFrame(fs, prefixIn("dma_fence_begin_signalling")); ok {
			// Before the read-trylock annotation (case 29) entering a
			// section was a read acquire that recorded held → dma_fence_map.
			ps.p.steps = append(ps.p.steps, step{key: "might_lock", val: n, mods: [][2]string{{"mode", "read"}},
				comment: fn + ": a read acquire in this kernel (a read trylock since the case-29 change)"})
			return
		}
		f := w.useFence()
		ps.p.steps = append(ps.p.steps, step{key: "wait", val: f, comment: "dma_fence_wait → __dma_fence_might_wait"})
		return
	case kernel.WWAcquire:
		t := ps.newTicket()
		ps.p.steps = append(ps.p.steps, step{key: "ww_acquire_init", val: t, comment: at})
		ps.undo = append(ps.undo, step{key: "ww_acquire_fini", val: t})
		return
	}
	s := step{key: "lock", val: n, comment: at}
	if n == kernel.WWMutex && ps.ticket != "" {
		s.mods = append(s.mods, [2]string{"ctx", ps.ticket})
	}
	if m := w.lockMode(n, fs); m != "" && n != kernel.WWMutex {
		s.mods = append(s.mods, [2]string{"mode", m})
	}
	if sub != 0 {
		s.mods = append(s.mods, [2]string{"subclass", strconv.Itoa(sub)})
	}
	ps.p.steps = append(ps.p.steps, s)
	ps.undo = append(ps.undo, step{key: "unlock", val: n})
}

// contextFor picks the path's context: from the frames, then adjusted so
// that it holds the pseudo-lock the dependency starts from.
func (w *writer) contextFor(fs []splat.Frame, holder string) (string, string) {
	ctx, why, at := contextOf(fs)
	if ctx != "" {
		why = why + " (" + at + ")"
	}
	h, _ := class(holder)
	switch h {
	case kernel.FsReclaim:
		if implicitHold(ctx) != kernel.FsReclaim {
			return model.CtxReclaim, "the dependency starts under fs_reclaim: reclaim context"
		}
	case kernel.MMUNotifier:
		if implicitHold(ctx) != kernel.MMUNotifier {
			return model.CtxNotifier, "the dependency starts under the mmu notifier map: notifier context"
		}
	}
	if ctx == "" {
		if len(fs) > 0 {
			w.notes = append(w.notes, "no context recognised in the stack of "+frameList(callers(fs), 2)+": written as process context")
		}
		return model.CtxProcess, "no context in the frames: process"
	}
	return ctx, why
}

func (w *writer) finishPath(ps *pathState) {
	for i := len(ps.undo) - 1; i >= 0; i-- {
		ps.p.steps = append(ps.p.steps, ps.undo[i])
	}
	if len(ps.p.steps) == 0 {
		ps.p.steps = append(ps.p.steps, step{key: "sleep", val: "nothing to replay"})
	}
	w.d.paths = append(w.d.paths, ps.p)
}

// dependency writes one path recording from → to, as entry frames fs show.
func (w *writer) dependency(label, from, to string, fs []splat.Frame, gap bool) {
	fn, tn := fcName(from), fcName(to)
	fc, _ := class(from)
	tc, _ := class(to)
	if IsBuiltinEdge(fc, tc) {
		w.d.trailer = append(w.d.trailer, fmt.Sprintf("%s: %s --> %s is built in (kernel prelude)%s", label, fn, tn, framesSuffix(fs)))
		return
	}
	ctx, why := w.contextFor(fs, from)
	ps := &pathState{p: pathDecl{name: w.pathName(fs, "dependency"), context: ctx}}
	ps.p.comments = append(ps.p.comments, fmt.Sprintf("%s: %s acquired while holding %s", label, tn, fn))
	if len(fs) > 0 {
		ps.p.comments = append(ps.p.comments, "  stack: "+frameList(fs, 8))
	} else {
		ps.p.comments = append(ps.p.comments, "  the report prints no stack for this dependency")
		w.notes = append(w.notes, label+": no stack in the report; the path is written from the class names only")
	}
	if gap {
		ps.p.comments = append(ps.p.comments, "  the report leaves out the entries between these two classes; written as one dependency")
		w.notes = append(w.notes, label+": intermediate entries are missing from the report; "+fn+" --> "+tn+" written as one dependency")
	}
	ps.p.comments = append(ps.p.comments, "  context: "+why)
	w.hold(ps, from)
	w.take(ps, to, fs)
	w.finishPath(ps)
}

func framesSuffix(fs []splat.Frame) string {
	if len(fs) == 0 {
		return ""
	}
	return "; stack: " + frameList(fs, 6)
}

// heldFor returns the held-locks list of the reporting task.
func (w *writer) heldFor() *splat.HeldList {
	for i := range w.r.Held {
		if w.r.Held[i].Task == w.r.Task {
			return &w.r.Held[i]
		}
	}
	if len(w.r.Held) > 0 && w.r.Kind != splat.HungTask {
		return &w.r.Held[0]
	}
	return nil
}

// current writes the reporting task's own acquisition: what it holds (the
// held-locks list up to prev, from after the context's implicit hold) and
// then next.
func (w *writer) current(label, prev, next string, fs []splat.Frame) {
	ctx, why := w.contextFor(fs, prev)
	ps := &pathState{p: pathDecl{name: w.pathName(fs, "current"), context: ctx}}
	if t := w.r.Task; t != "" {
		if i := strings.LastIndexByte(t, '/'); i > 0 {
			ps.p.thread = t[:i]
		}
	}
	ps.p.comments = append(ps.p.comments, fmt.Sprintf("%s: %s is trying to acquire %s while holding %s", label, w.r.Task, fcName(next), fcName(prev)))
	if len(fs) > 0 {
		ps.p.comments = append(ps.p.comments, "  stack: "+frameList(fs, 8))
	}
	ps.p.comments = append(ps.p.comments, "  context: "+why)
	var held []string
	if hl := w.heldFor(); hl != nil {
		pc, _ := class(prev)
		last := -1
		for i, h := range hl.Locks {
			if c, _ := class(h.Lock.Name); c == pc {
				last = i
			}
		}
		start := 0
		for i := 0; i < last; i++ {
			c, _ := class(hl.Locks[i].Lock.Name)
			if c == implicitHold(ctx) || c == kernel.FsReclaim || c == kernel.MMUNotifier {
				start = i + 1
			}
		}
		for i := start; i < last; i++ {
			held = append(held, hl.Locks[i].Lock.Name)
		}
		if last >= 0 {
			ps.p.comments = append(ps.p.comments, fmt.Sprintf("  holds (from %q): %s", hl.Task+" held locks", strings.Join(append(held, prev), ", ")))
		}
	}
	for _, h := range held {
		w.hold(ps, h)
	}
	if prev != "" {
		w.hold(ps, prev)
	}
	w.take(ps, next, fs)
	w.finishPath(ps)
}

// ---- report kinds -----------------------------------------------------

// circular reproduces print_circular_bug(): the BFS path from next (the
// lock being acquired, entry #0) to prev (the held lock, entry #N); entry
// #k's stack recorded class k while class k-1 was held. The dependencies
// are written in printed order and the task's own acquisition last, so the
// closing dependency is recorded last, as lockdep records it.
func (w *writer) circular() string {
	r := w.r
	seq := map[int]string{}
	fr := map[int][]splat.Frame{}
	N := 0
	for _, e := range r.Entries {
		if _, dup := seq[e.Depth]; dup {
			continue
		}
		seq[e.Depth] = e.Lock.Name
		fr[e.Depth] = e.Frames
		N = max(N, e.Depth)
	}
	if r.Acquiring != nil {
		seq[0] = r.Acquiring.Name
	} else if len(r.Chain) > 0 && seq[0] == "" {
		seq[0] = r.Chain[0]
	}
	prev := ""
	switch {
	case r.Holding != nil:
		prev = r.Holding.Name
	case len(r.Chain) > 0:
		prev = r.Chain[len(r.Chain)-1]
	}
	if prev != "" && seq[N] != prev {
		N++
		seq[N] = prev
	}
	if len(r.Chain) == 3 && N >= 2 && seq[N-1] == "" {
		seq[N-1] = r.Chain[1]
	}
	if seq[0] == "" || N == 0 {
		w.notes = append(w.notes, "the report names no lock being acquired or held: nothing to reproduce")
		w.heldOnly()
		return ""
	}
	var known []int
	for k := 0; k <= N; k++ {
		if seq[k] != "" {
			known = append(known, k)
		}
	}
	for i := len(known) - 1; i >= 1; i-- {
		k, j := known[i], known[i-1]
		w.dependency(fmt.Sprintf("-> #%d", k), seq[j], seq[k], fr[k], k-j > 1)
	}
	fs0 := fr[0]
	if fs0 == nil {
		fs0 = r.Backtrace
	}
	w.current("-> #0", seq[N], seq[0], fs0)
	next, prevN := fcName(seq[0]), fcName(seq[N])
	line := ""
	w.d.expect = append(w.d.expect, "  - mode: lockdep", "    findings:", "      - rule: "+rules.Cycle)
	if len(r.Chain) == 3 {
		line = CanonicalChain(strings.Join(r.Chain, " --> "))
		w.d.expect = append(w.d.expect, "        chain_exists: "+strconv.Quote(line))
	} else if N == 1 {
		w.d.expect = append(w.d.expect, fmt.Sprintf("        cycle: [%s, %s]", q(next), q(prevN)))
	} else {
		w.d.expect = append(w.d.expect, fmt.Sprintf("        contains: [%s, %s]", q(next), q(prevN)))
	}
	return line
}

func (w *writer) recursive() {
	r := w.r
	if r.Acquiring == nil {
		w.notes = append(w.notes, "no lock being acquired in the report")
		w.heldOnly()
		return
	}
	prev := r.Acquiring.Name
	if r.Holding != nil {
		prev = r.Holding.Name
	}
	w.current("recursive", prev, r.Acquiring.Name, r.Backtrace)
	w.d.expect = append(w.d.expect, "  - mode: lockdep", "    findings:", "      - rule: "+rules.RecursiveLocking,
		"        contains: "+q(fcName(r.Acquiring.Name)))
}

// inconsistent reproduces print_usage_bug() with lockdep's single-lock irq
// state rule: the class is taken in the state that was registered (its
// stack) and in the new state (the current stack).
func (w *writer) inconsistent() {
	r := w.r
	if r.Acquiring == nil {
		w.heldOnly()
		return
	}
	name := r.Acquiring.Name
	ctxOf := func(state string) string {
		if strings.HasPrefix(state, "IN-") {
			if strings.Contains(state, "SOFTIRQ") {
				w.notes = append(w.notes, "softirq state modeled as irq context (fencecheck has no softirq)")
			}
			return model.CtxIRQ
		}
		return model.CtxProcess
	}
	for _, part := range []struct {
		label, state string
		fs           []splat.Frame
	}{{"{" + r.UsageFrom + "} registered", r.UsageFrom, r.StateTrace}, {"{" + r.UsageTo + "} now", r.UsageTo, r.Backtrace}} {
		ps := &pathState{p: pathDecl{name: w.pathName(part.fs, "usage"), context: ctxOf(part.state)}}
		ps.p.comments = append(ps.p.comments, part.label+": "+frameList(part.fs, 8))
		w.take(ps, name, part.fs)
		w.finishPath(ps)
	}
	w.d.expect = append(w.d.expect, "  - mode: lockdep", "    findings:", "      - rule: "+rules.IRQUnsafeLock,
		"        contains: "+q(fcName(name)))
}

// inversion reproduces print_irq_inversion_bug(): an irq-safe lock and an
// irq-unsafe lock ordered safe → unsafe. fencecheck has lockdep's
// single-lock state rule only, so the order is written as taken from the
// IRQ path (the deadlock the report describes), plus the unsafe lock's
// irqs-enabled use.
func (w *writer) inversion() {
	r := w.r
	if r.Acquiring == nil || r.Other == nil {
		w.heldOnly()
		return
	}
	safe, unsafe := r.Acquiring.Name, r.Other.Name
	if strings.HasSuffix(r.OtherRole, "-safe") {
		safe, unsafe = unsafe, safe
	}
	w.notes = append(w.notes, "irq inversion written with fencecheck's single-lock irq rule: "+fcName(safe)+" --> "+fcName(unsafe)+" taken in IRQ context")
	ps := &pathState{p: pathDecl{name: w.pathName(r.Backtrace, "irq_path"), context: model.CtxIRQ}}
	ps.p.comments = append(ps.p.comments, "the irq-safe lock "+fcName(safe)+" took the irq-unsafe "+fcName(unsafe))
	w.hold(ps, safe)
	w.take(ps, unsafe, nil)
	w.finishPath(ps)
	ps = &pathState{p: pathDecl{name: w.pathName(nil, "irqs_enabled"), context: model.CtxProcess}}
	ps.p.comments = append(ps.p.comments, fcName(unsafe)+" is also taken with interrupts enabled")
	w.take(ps, unsafe, nil)
	w.finishPath(ps)
	// The written design has both lockdep reports: the unsafe lock's own
	// inconsistent state, and the safe -> unsafe dependency (the report
	// imported).
	w.d.expect = append(w.d.expect, "  - mode: lockdep", "    findings:", "      - rule: "+rules.IRQUnsafeLock,
		"        contains: "+q(fcName(unsafe)), "      - rule: "+rules.IRQInversion)
}

// waitContext writes print_lock_invalid_wait_context(): the task holds its
// held locks and takes the lock. fencecheck does not model lockdep's wait
// types, so there is no expect:; a sleeping lock under a spinlock in an
// atomic context is still reported if the context says so.
func (w *writer) waitContext() {
	r := w.r
	w.notes = append(w.notes, "invalid wait context ("+r.Context+"): fencecheck does not model lockdep wait types; the locks are recorded, with no expect:")
	if r.Acquiring == nil {
		w.heldOnly()
		return
	}
	prev := ""
	if hl := w.heldFor(); hl != nil && len(hl.Locks) > 0 {
		prev = hl.Locks[len(hl.Locks)-1].Lock.Name
	}
	w.current("wait context", prev, r.Acquiring.Name, r.Backtrace)
}

// heldOnly writes, for reports fencecheck cannot reproduce as a finding
// (hung tasks, invalid wait context), each task's held locks as a path.
func (w *writer) heldOnly() {
	for _, hl := range w.r.Held {
		if strings.HasPrefix(hl.Task, "khungtaskd/") || len(hl.Locks) == 0 {
			continue
		}
		task := hl.Task
		if i := strings.LastIndexByte(task, '/'); i > 0 {
			task = task[:i]
		}
		var fs []splat.Frame
		ps := &pathState{p: pathDecl{name: w.pathName(fs, "held_by_"+sanitizeIdent(task)), context: model.CtxProcess, thread: task}}
		ps.p.comments = append(ps.p.comments, fmt.Sprintf("%d locks held by %s", len(hl.Locks), hl.Task))
		for _, h := range hl.Locks {
			n, _ := class(h.Lock.Name)
			if n == kernel.FsReclaim || n == kernel.MMUNotifier {
				ps.p.comments = append(ps.p.comments, "  (holds "+n+": not replayed)")
				continue
			}
			w.hold(ps, h.Lock.Name)
		}
		// The hung task's own stack says what it is blocked on: a fence
		// wait under these locks is a dependency worth checking.
		if w.r.Kind == splat.HungTask && hl.Task == w.r.Task {
			if fn, ok := hasFrame(w.r.Backtrace, prefixIn("dma_fence_wait", "dma_fence_default_wait", "dma_resv_wait_timeout", "__dma_fence_might_wait")); ok {
				ps.p.steps = append(ps.p.steps, step{key: "wait", val: w.useFence(), comment: "blocked in " + fn})
			} else if len(w.r.Backtrace) > 0 {
				ps.p.comments = append(ps.p.comments, "  blocked in: "+frameList(w.r.Backtrace, 6))
			}
		}
		w.finishPath(ps)
	}
	if w.r.Kind == splat.HungTask {
		w.notes = append(w.notes, "a hung-task report lists who holds what, not a dependency: add the waits you suspect and check again")
	} else if w.r.Kind != splat.Circular {
		w.notes = append(w.notes, string(w.r.Kind)+" reports are recorded as held locks only: fencecheck does not model lockdep wait types or irq-safe → irq-unsafe ordering")
	}
	if len(w.d.paths) == 0 {
		ps := &pathState{p: pathDecl{name: "report", context: model.CtxProcess}}
		w.finishPath(ps)
	}
}

func sanitizeIdent(s string) string {
	var b strings.Builder
	for _, c := range []byte(s) {
		if c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' {
			b.WriteByte(c)
		} else {
			b.WriteByte('_')
		}
	}
	return b.String()
}

var reHeldHead = regexp.MustCompile(`^\d+ locks? held by`)

// guessVersion is the kernel major.minor from the release string.
var reVersion = regexp.MustCompile(`^(\d+)\.(\d+)`)

func (w *writer) finish() {
	r := w.r
	h := []string{"Imported from a lockdep report by `fencecheck import splat`.", ""}
	for i, l := range r.Lines {
		if i >= 12 || strings.HasPrefix(l, "-> #") || strings.HasPrefix(l, "Chain exists of") || strings.Contains(l, "Possible unsafe locking scenario") ||
			strings.HasPrefix(l, "other info that might help") || reHeldHead.MatchString(l) ||
			strings.HasPrefix(l, "and interrupts could create") || strings.HasPrefix(l, "stack backtrace:") ||
			strings.HasPrefix(l, "Call Trace:") || strings.HasPrefix(l, "irq event stamp") || strings.HasSuffix(l, "state was registered at:") || strings.HasPrefix(l, "the existing dependency chain") || strings.HasPrefix(l, "which lock already depends") {
			break
		}
		h = append(h, "  "+l)
	}
	if len(r.Chain) > 0 {
		h = append(h, "  Chain exists of: "+strings.Join(r.Chain, " --> "))
	}
	h = append(h, "", "Guessed (check these):")
	if m := reVersion.FindStringSubmatch(r.Release); m != nil {
		v := m[1] + "." + m[2]
		if slices.Contains(model.KernelVersions(), v) {
			w.d.version = v
			h = append(h, fmt.Sprintf("- kernel %s (from %q): the kernel profile for class names, annotations and splat wording", v, r.Release))
		} else {
			h = append(h, fmt.Sprintf("- kernel %s (from %q) has no profile here; the newest modelled kernel applies", v, r.Release))
		}
	} else {
		h = append(h, "- kernel version: not in the report")
	}
	if w.sleep == 4 {
		h = append(h, "- wait type 4 seen: CONFIG_PROVE_RAW_LOCK_NESTING=y, sleeping locks print {4:4}")
	}
	var renamed []string
	for _, n := range w.allNames() {
		if f, ok := FencecheckName(n); ok {
			renamed = append(renamed, n+" = "+f)
		}
	}
	if len(renamed) > 0 {
		h = append(h, "- lockdep names spelled as fencecheck's built-ins: "+strings.Join(renamed, ", "))
	}
	h = append(h, "- lock kinds: see the comment on each declaration")
	h = append(h, "- each path's context: see the comment above it")
	for _, n := range w.notes {
		h = append(h, "- "+n)
	}
	h = append(h, "")
	w.d.header = h
	title := "imported " + string(r.Kind) + " report"
	if r.Task != "" {
		title += " (" + r.Task + ")"
	}
	w.d.title = title
	if len(w.d.trailer) > 0 {
		w.d.trailer = append([]string{"Dependencies of the report that fencecheck already knows:"}, w.d.trailer...)
	}
}

func (w *writer) allNames() []string {
	seen := map[string]bool{}
	var out []string
	add := func(l *splat.Lock) {
		if l != nil && !seen[l.Name] {
			seen[l.Name] = true
			out = append(out, l.Name)
		}
	}
	r := w.r
	add(r.Acquiring)
	add(r.Holding)
	add(r.Other)
	for i := range r.Entries {
		add(&r.Entries[i].Lock)
	}
	for _, hl := range r.Held {
		for i := range hl.Locks {
			add(&hl.Locks[i].Lock)
		}
	}
	return out
}
