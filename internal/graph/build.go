package graph

import (
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"

	gg "gonum.org/v1/gonum/graph"

	"github.com/fencecheck/fencecheck/internal/diag"
	"github.com/fencecheck/fencecheck/internal/kernel"
	"github.com/fencecheck/fencecheck/internal/model"
	"github.com/fencecheck/fencecheck/internal/rules"
)

type (
	graphNode = gg.Node
	graphLine = gg.Line
	graphEdge = gg.Edge
)

// conservativeWeight makes the witness search prefer a concrete chain (a
// modeled notifier waiting on a modeled fence) over the kernel contract's
// "reclaim may wait on any published fence" when both close a cycle.
const conservativeWeight = 8

// Build walks every thread of the program with lockdep's acquisition rules
// and returns the dependency graph plus the findings that are decided at
// acquisition time (recursive locking, sleeping in atomic context, irq-unsafe
// locks in IRQ context, ww_mutex misuse, notifier registration under
// mmap_lock).
func Build(p *kernel.Program, mode Mode) (*Graph, []diag.Diagnostic) {
	g, ds, _ := build(p, mode, false)
	return g, ds
}

// build is Build; noJoin walks every branch to its end (see run), and
// walked is how many ops the walk visited (for the tests).
func build(p *kernel.Program, mode Mode, noJoin bool) (g *Graph, ds []diag.Diagnostic, walked int) {
	b := &builder{p: p, mode: mode, g: New(mode), resvFences: map[string][]resvFence{}, cache: make(map[string]nodeInfo, len(p.LockNames)), noJoin: noJoin}
	b.g.nodes = make(map[string]*Node, len(p.LockNames)) // about one node per interned lock
	b.g.Profile = p.Profile
	b.prelude()
	b.observed()
	b.collectResvFences()
	for _, t := range p.Threads {
		if t.Primed && mode == Precise {
			continue // driver priming asserts an order; precise mode trusts code only (case 09)
		}
		b.walk(t)
	}
	b.g.waitTypesPrinted = p.Profile.WaitTypes
	for _, n := range b.g.order {
		b.nodeWait(n) // cycle splats print every class's wait types
	}
	b.irqChecks()
	diag.Sort(b.diags)
	return b.g, diag.Dedupe(b.diags), b.walked
}

type resvFence struct {
	fence, usage string
}

type builder struct {
	p          *kernel.Program
	mode       Mode
	g          *Graph
	diags      []diag.Diagnostic
	resvFences map[string][]resvFence
	usages     map[string]*classUsage
	usedIn     []string   // the classes with a USED_IN usage, in walk order
	heldBuf    []heldLock // the walkers' held stack, reused (walk)
	clock      int        // orders usages and dependencies in walk order
	noJoin     bool       // walk every branch to its end (tests; see run)
	walked     int        // ops visited by the walk
	cache      map[string]nodeInfo
	// byID caches info by kernel.Op.LockID (lockInfo).
	byID []nodeInfo
}

// mapNode maps a node name to the graph node for the mode, and says whether
// the name is a lockdep-collapsed alias (a fence, notifier or shrinker).
func (b *builder) mapNode(name string) (string, NodeKind) {
	if b.mode == Lockdep {
		if c := kernel.ClassOf(name); c != name && b.p.LockKind(c) != "" {
			return c, KindLock // lockdep sees classes, never instances
		}
	}
	if _, ok := b.p.Fences[name]; ok || strings.HasPrefix(name, "fence(") {
		if b.mode == Lockdep {
			return kernel.FenceMap, KindPseudo
		}
		return name, KindFence
	}
	if strings.HasPrefix(name, "notifier(") {
		if b.mode == Lockdep {
			return kernel.MMUNotifier, KindPseudo
		}
		return name, KindCallback
	}
	if strings.HasPrefix(name, "shrinker(") {
		if b.mode == Lockdep {
			return kernel.FsReclaim, KindPseudo
		}
		return name, KindCallback
	}
	switch name {
	case kernel.FsReclaim, kernel.MMUNotifier, kernel.FenceMap, kernel.WWAcquire:
		return name, KindPseudo
	}
	if strings.HasPrefix(name, "(work_completion)") || strings.HasPrefix(name, "(wq_completion)") || kernel.IsCompletion(name) {
		return name, KindPseudo
	}
	if b.mode == Lockdep {
		return b.p.Profile.ClassName(name), KindLock // &mm->mmap_lock, as the splat prints it
	}
	return name, KindLock
}

// nodeInfo is a name resolved once: its graph node for the mode, and the
// kind of the name itself (a fence stays a fence even when lockdep mode
// collapses it into dma_fence_map).
type nodeInfo struct {
	n    *Node
	kind NodeKind
	// lockKind and irqSafe are the declared kind and irq_safe of the name,
	// looked up once (the walk asks on every acquisition).
	lockKind string
	irqSafe  bool
	// sleeps: lockKind is a sleeping lock (mutex, rwsem, ww_mutex,
	// semaphore), asked on every acquisition.
	sleeps bool
	// name is the name resolved, so that lockInfo can check a cached entry
	// against the op without loading the program's name table.
	name string
}

func (b *builder) info(name string) nodeInfo {
	if ni, ok := b.cache[name]; ok {
		return ni
	}
	m, k := b.mapNode(name)
	own := k
	if b.mode != Precise {
		_, own = b.mapNodePrecise(name)
	}
	ni := nodeInfo{n: b.g.AddNode(m, k), kind: own, lockKind: b.p.LockKind(name), irqSafe: b.p.IRQSafe(name), name: name}
	switch ni.lockKind {
	case "mutex", "rwsem", "ww_mutex", "semaphore":
		ni.sleeps = true
	}
	b.cache[name] = ni
	return ni
}

func (b *builder) node(name string) string { return b.info(name).n.Name }

// lockInfo is info(o.Lock), found by the op's interned ID (kernel.Op.LockID)
// without hashing the name once the name has been resolved. An entry is
// cached under an ID only for the name the program interned under it, so
// an entry of the same name is that name's info.
func (b *builder) lockInfo(o *kernel.Op) nodeInfo {
	id := o.LockID
	if id > 0 && int(id) < len(b.byID) {
		if ni := b.byID[id]; ni.n != nil && ni.name == o.Lock {
			return ni
		}
	}
	if id <= 0 || int(id) >= len(b.p.LockNames) || b.p.LockNames[id] != o.Lock {
		return b.info(o.Lock)
	}
	if b.byID == nil {
		b.byID = make([]nodeInfo, len(b.p.LockNames))
	}
	ni := b.info(o.Lock)
	b.byID[id] = ni
	return ni
}

// cachedInfo is b.cache[o.Lock]: the op's lock if it has been resolved.
func (b *builder) cachedInfo(o *kernel.Op) (nodeInfo, bool) {
	if id := o.LockID; id > 0 && int(id) < len(b.byID) {
		if ni := b.byID[id]; ni.n != nil && ni.name == o.Lock {
			return ni, true
		}
	}
	ni, ok := b.cache[o.Lock]
	return ni, ok
}

// mapNodePrecise is the kind a name has before any lockdep collapsing.
func (b *builder) mapNodePrecise(name string) (string, NodeKind) {
	saved := b.mode
	b.mode = Precise
	defer func() { b.mode = saved }()
	return b.mapNode(name)
}

// resvLockdepPlace is where dma_resv_lockdep()'s priming steps are.
var resvLockdepPlace = kernel.NewPlace("dma_resv_lockdep", "")

// prelude adds the kernel's fixed orders (K5, K11): what
// dma_resv_lockdep() primes at boot, and that reclaim may call every
// registered shrinker and mmu notifier.
func (b *builder) prelude() {
	const why = "primed at boot"
	add := func(from, to string, shared bool, weight int, kind EdgeKind, text string, pos model.Pos, fact Fact) {
		b.g.AddEdge(Edge{From: b.node(from), To: b.node(to), Kind: kind, Text: text, Shared: shared,
			Weight: weight, Builtin: fact, File: b.p.File, Pos: pos})
	}
	none := model.Pos{}
	defer b.primeUsage()
	add(kernel.MmapLock, kernel.WWAcquire, true, 1, EdgePrimed, why+": mmap_read_lock → ww_acquire_init", none, FactResvLockdep)
	add(kernel.WWAcquire, kernel.WWMutex, false, 1, EdgePrimed, why+": ww_acquire_init → dma_resv_lock", none, FactResvLockdep)
	add(kernel.WWMutex, kernel.FsReclaim, false, 1, EdgePrimed, why+": dma_resv_lock → fs_reclaim_acquire(GFP_KERNEL)", none, FactResvLockdep)
	add(kernel.FsReclaim, kernel.IMmapRwsem, false, 1, EdgePrimed, why+": reclaim → i_mmap_lock_write (shrinkers unmapping trylocked BOs)", none, FactResvLockdep)
	wait := 1
	if b.mode == Precise {
		wait = conservativeWeight
	}
	fences := b.mode != Lockdep || b.p.Profile.FenceAnnotations
	if b.p.MMUNotifier {
		add(kernel.FsReclaim, kernel.MMUNotifier, false, 1, EdgePrimed, "reclaim may invalidate user mappings: fs_reclaim_acquire touches the mmu notifier map (K11)", none, FactFsReclaimNotifier)
		// The rmap walk (mm/rmap.c rmap_walk_file -> try_to_unmap_one /
		// try_to_migrate_one) calls mmu_notifier_invalidate_range_start()
		// under i_mmap_rwsem (read); the notifier map is acquired whether
		// or not the mm has notifiers (include/linux/mmu_notifier.h), so
		// every kernel that reclaims or migrates mapped file pages records
		// this order.
		add(kernel.IMmapRwsem, kernel.MMUNotifier, true, 1, EdgePrimed, "the rmap walk invalidates mappings under i_mmap_rwsem (read): i_mmap_lock_read → mmu_notifier_invalidate_range_start", none, FactRmap)
		if fences {
			add(kernel.MMUNotifier, kernel.FenceMap, false, wait, EdgePrimed, why+": mmu notifiers may wait on any dma_fence (R8)", none, FactResvLockdep)
		}
	} else if fences {
		add(kernel.FsReclaim, kernel.FenceMap, false, wait, EdgePrimed, why+": shrinkers may wait on any dma_fence (R3; CONFIG_MMU_NOTIFIER=n)", none, FactResvLockdep)
	}
	if b.mode != Precise {
		return
	}
	// Precise mode keeps per-callback nodes and per-fence nodes; reclaim
	// reaches each of them.
	for _, s := range b.p.Scenario.File.Shrinkers {
		add(kernel.FsReclaim, kernel.ShrinkerNode(s.Name.V), false, 1, EdgeReclaim, "reclaim may call shrinker "+s.Name.V+" (K11)", s.Name.P, FactShrinkSlab)
	}
	for _, u := range b.p.Scenario.File.Userptrs {
		if b.p.MMUNotifier {
			add(kernel.MMUNotifier, kernel.NotifierNode(u.Name.V), false, 1, EdgeReclaim, "reclaim or munmap may invalidate "+u.Name.V+": its notifier runs (K9)", u.Notifier.P, FactInvalidate)
		}
	}
	for _, name := range b.p.FenceOrder {
		fi := b.p.Fences[name]
		if fi.NoDmaFence {
			continue // a job without a dma_fence: nothing waits on it
		}
		// A wait on "some fence" by reclaim (shrinkers, other drivers'
		// notifiers, TTM eviction) may be a wait on any published fence
		// (R3, R4).
		add(kernel.FenceMap, name, false, conservativeWeight, EdgePrimed,
			"reclaim-time waiters may wait on any published fence, including "+name+" (R3, R4)", fi.Pos, FactAnyFence)
		for _, d := range fi.Deps {
			b.g.AddEdge(Edge{From: b.node(name), To: b.node(d.On), Kind: EdgeFence, Text: d.Why, File: b.p.File, Pos: d.Pos,
				Builtin: FactSchedDependency, Shared: true})
		}
	}
}

// primeUsage marks the usage the boot-time priming gives the kernel's
// classes: dma_resv_lockdep() runs in process context with interrupts on
// (mmap_read_lock, the rest exclusive).
func (b *builder) primeUsage() {
	w := &walker{b: b, t: &kernel.Thread{Name: "dma_resv_lockdep", Context: model.CtxInit}, irq: newIRQWalk(model.CtxInit)}
	for _, name := range []string{kernel.MmapLock, kernel.WWAcquire, kernel.WWMutex, kernel.FsReclaim, kernel.IMmapRwsem, kernel.MMUNotifier, kernel.FenceMap} {
		n := b.g.nodes[b.node(name)]
		if n == nil {
			continue
		}
		mode := kernel.Write
		if name == kernel.MmapLock {
			mode = kernel.Read
		}
		o := &kernel.Op{Lock: name, Mode: mode, Text: "dma_resv_lockdep()"}
		o.SetPlace(resvLockdepPlace)
		w.markUsage(n, o)
	}
}

// collectResvFences records which fences may sit in each dma_resv, so that
// a wait on a resv waits on those fences (precise mode).
func (b *builder) collectResvFences() {
	for _, t := range b.p.Threads {
		for i := range t.Ops {
			if o := &t.Ops[i]; o.Kind == kernel.OpAddFence || o.Kind == kernel.OpReplace {
				b.resvFences[o.Ext().Obj] = append(b.resvFences[o.Ext().Obj], resvFence{o.Ext().Fence, o.Ext().Usage})
			}
		}
	}
}

var usageRank = map[string]int{"KERNEL": 0, "WRITE": 1, "READ": 2, "BOOKKEEP": 3}

type heldLock struct {
	ni        nodeInfo
	name      string // graph node
	orig      string
	inst      string // the lock instance (kernel.Op.Inst), "" for pseudo-locks
	ctx       string
	path      string
	text      string
	pos       model.Pos
	shared    bool
	recursive bool
	try       bool
	unpub     bool
	section   bool
	wwCtx     bool // an acquire context's map (ww_acquire_init)
	entry     bool // held by the context from the start (e.g. reclaim: PF_MEMALLOC)
	noCheck   bool // an RCU read-side map: lock_acquire(check=0), no dependencies
	// waitMin is the innermost wait type of this and every lock below it
	// on the stack (0: none), for check_wait_context().
	waitMin int8
}

type walker struct {
	b       *builder
	t       *kernel.Thread
	irq     irqWalk
	held    []heldLock
	scopes  map[string]int
	ctxDone map[string]bool
}

func (b *builder) walk(t *kernel.Thread) {
	// The held stack's storage is reused from thread to thread; scopes
	// and ctxDone are made when a thread first needs them.
	w := &walker{b: b, t: t, held: b.heldBuf[:0], irq: newIRQWalk(t.Context)}
	defer func() { b.heldBuf = w.held[:0] }()
	var entryAt *kernel.Place
	for _, h := range t.Entry {
		if b.mode == Lockdep && (h.Unannotated != "" || (h.Section && !b.p.Profile.FenceAnnotations)) {
			continue // lockdep records nothing for this hold (kernel.Held.Unannotated)
		}
		if entryAt == nil {
			entryAt = kernel.NewPlace(t.Root, t.Context)
		}
		op := kernel.Op{Kind: kernel.OpAcquire, Lock: h.Lock, Mode: h.Mode, Try: h.Try, Pos: h.Pos, Text: h.Why}
		op.SetPlace(entryAt)
		if h.Section {
			w.beginSection(&op)
			continue
		}
		w.acquire(&op, EdgeReclaim)
		if n := len(w.held); n > 0 {
			w.held[n-1].entry = true
		}
	}
	w.run(t.Ops, 0, nil)
}

// run walks ops from start. A step with a failure branch (a trylock's
// on_fail:) forks: the walk continues on the success path, and a copy of
// the state before the step walks the branch target, so that edges made
// only when the step fails (locks still held there) are seen too. A branch
// target reached again with the same held set is walked once.
//
// A walk that reaches a branch target in exactly the state a branch
// already walked it from (every held lock with where it was taken, the
// memalloc scopes, the interrupt state, the finished ww contexts) stops:
// the rest would add the same dependencies and findings again. Jumps only
// go forward, so that branch's walk is complete by then. Without this the
// trylocks of F shrinkers in one reclaim thread would walk the rest of the
// thread F times (F² steps).
func (w *walker) run(ops []kernel.Op, start int, br *branches) {
	for i := start; i < len(ops); i++ {
		o := &ops[i]
		w.b.walked++
		if br != nil && i > start && !w.b.noJoin {
			if states, ok := br.joined[i]; ok && states[w.joinSig()] {
				return
			}
		}
		if to := i + int(o.FailTo); o.FailTo > 0 && to < len(ops) {
			key := strconv.Itoa(to) + w.heldSig()
			if br == nil {
				br = &branches{forked: map[string]bool{}, joined: map[int]map[string]bool{}}
			}
			if !br.forked[key] {
				br.forked[key] = true
				c := w.clone()
				if br.joined[to] == nil {
					br.joined[to] = map[string]bool{}
				}
				br.joined[to][c.joinSig()] = true
				c.run(ops, to, br)
			}
		}
		w.op(o)
	}
}

// branches records, for one op list, the branches walked: by target and
// held set (forked), and by target and whole walker state (joined).
type branches struct {
	forked map[string]bool
	joined map[int]map[string]bool
}

// joinSig is the walker's whole state: two walks at one op with equal
// signatures walk the rest identically.
func (w *walker) joinSig() string {
	var sb strings.Builder
	for _, h := range w.held {
		sb.WriteString("\x00")
		for _, f := range []string{h.name, h.orig, h.inst, h.ctx, h.path, h.text, h.pos.String()} {
			sb.WriteString(f)
			sb.WriteString("\x01")
		}
		for _, b := range []bool{h.shared, h.recursive, h.try, h.unpub, h.section, h.wwCtx, h.entry, h.noCheck} {
			sb.WriteByte('0' + boolByte(b))
		}
		sb.WriteByte(byte(h.waitMin))
	}
	sb.WriteString("\x02")
	for _, k := range slices.Sorted(maps.Keys(w.scopes)) {
		sb.WriteString(k)
		sb.WriteString("=" + strconv.Itoa(w.scopes[k]) + "\x01")
	}
	sb.WriteString("\x02")
	for _, k := range slices.Sorted(maps.Keys(w.ctxDone)) {
		if w.ctxDone[k] {
			sb.WriteString(k + "\x01")
		}
	}
	sb.WriteString("\x02")
	q := w.irq
	for _, b := range []bool{q.inHard, q.inSoft, q.hardOn, q.softOn} {
		sb.WriteByte('0' + boolByte(b))
	}
	for _, b := range q.saved {
		sb.WriteByte('0' + boolByte(b))
	}
	sb.WriteString("\x01" + strconv.Itoa(q.bhDepth))
	return sb.String()
}

func boolByte(b bool) byte {
	if b {
		return 1
	}
	return 0
}

func (w *walker) heldSig() string {
	var sb strings.Builder
	for _, h := range w.held {
		sb.WriteString("\x00")
		sb.WriteString(h.name)
		sb.WriteString("\x01")
		sb.WriteString(h.inst)
	}
	return sb.String()
}

func (w *walker) clone() *walker {
	irq := w.irq
	irq.saved = slices.Clone(w.irq.saved)
	return &walker{b: w.b, t: w.t, irq: irq, held: slices.Clone(w.held), scopes: maps.Clone(w.scopes), ctxDone: maps.Clone(w.ctxDone)}
}

func (w *walker) finding(rule string, o *kernel.Op, format string, args ...any) {
	w.b.diags = append(w.b.diags, diag.Diagnostic{
		File: w.b.p.File, Pos: o.Pos, Rule: rule, Severity: rules.SeverityOf(rule),
		Message: fmt.Sprintf(format, args...), Mode: string(w.b.mode),
		Chain: []diag.Step{{File: w.b.p.File, Pos: o.Pos, Path: o.InPath(), Context: w.t.Context, Message: o.Text}},
	})
}

func (w *walker) isHeld(node string) int {
	for i := len(w.held) - 1; i >= 0; i-- {
		if w.held[i].name == node && !w.held[i].unpub {
			return i
		}
	}
	return -1
}

// addEdges records held → to from the most recent held lock, continuing
// through held trylocks (lockdep's check_prevs_add, K16).
func (w *walker) addEdges(held []heldLock, to nodeInfo, recursive bool, kind EdgeKind, o *kernel.Op, weight int) {
	for i := len(held) - 1; i >= 0; i-- {
		h := held[i]
		if h.unpub {
			continue
		}
		if h.noCheck {
			break // check_prevs_add() adds nothing past a check=0 hold
		}
		k := kind
		if kind == EdgeWait && h.ni.kind == KindFence && to.kind == KindFence {
			k = EdgeFence // a wait inside a signalling section: R7
		}
		ctx := o.Context()
		if ctx == "" {
			ctx = w.t.Context
		}
		e := Edge{Kind: k, File: w.b.p.File, Pos: o.Pos, Path: o.InPath(),
			Context: ctx, Thread: w.t.Name, Text: o.Text, Shared: h.shared, Recursive: recursive, Weight: weight,
			flags: packIRQ(w.irq.irqState)}
		if o.Mode != kernel.Write && kind != EdgeWait {
			e.flags |= edgeToRead
		}
		if o.Sync {
			e.flags |= edgeToSync
		}
		w.b.clock++
		e.tick = int32(w.b.clock)
		if w.b.g.addEdge(h.ni.n, to.n, e) && w.b.mode == Lockdep {
			// Only the first trace of a dependency is kept, as lockdep
			// does: snapshot the held locks for new edges only.
			if w.b.g.held == nil {
				w.b.g.held = map[*Edge][]HeldLock{}
			}
			w.b.g.held[w.b.g.edges[len(w.b.g.edges)-1]] = w.heldSnapshot()
		}
		if !h.try {
			break
		}
	}
}

func (w *walker) beginSection(op *kernel.Op) {
	oc := *op // changed below; the program's op is shared
	o := &oc
	ni := w.b.info(o.Lock)
	node := ni.n.Name
	try := true
	if w.b.mode == Lockdep {
		if w.isHeld(node) >= 0 || !w.b.p.Profile.FenceAnnotations {
			return // dma_fence_begin_signalling() nests: no new acquire
		}
		if !w.b.p.Profile.BeginSignallingTrylock {
			// Before v6.13 the annotation was a plain non-recursive read
			// acquire: it records held --> dma_fence_map (kernel profile).
			try = false
			o.Mode = kernel.Read
			w.addEdges(w.held, ni, false, EdgeLock, o, 1)
		}
	}
	o.Mode = kernel.Read
	w.markUsage(ni.n, o)
	// A read trylock: no edge into the section (case 29).
	w.push(heldLock{ni: ni, name: node, orig: o.Lock, shared: true, try: try, section: true, pos: o.Pos, text: o.Text})
}

// recursiveSplat is the task part of print_deadlock_bug() (lockdep mode).
func (w *walker) recursiveSplat(o *kernel.Op, node string, prev heldLock) *diag.Splat {
	if w.b.mode != Lockdep {
		return nil
	}
	f := w.b.p.File
	sp := &diag.Splat{Kernel: w.b.p.Profile.Version, Task: w.t.Name, HeldKnown: true,
		Acquire: diag.Step{File: f, Pos: o.Pos, To: node, Path: o.InPath(), Message: o.Text},
		Holding: diag.Step{File: f, Pos: prev.pos, To: node, Path: w.t.Root, Message: prev.text}}
	names := []string{node}
	for _, h := range w.heldSnapshot() {
		sp.Held = append(sp.Held, diag.Step{File: f, Pos: h.Pos, To: h.Name, Path: h.Path, Message: h.Text})
		names = append(names, h.Name)
	}
	sp.Decor = w.b.decorAll(names...)
	return sp
}

// push puts a lock on the held stack, keeping the running innermost wait
// type (check_wait_context() takes the minimum over the held locks).
func (w *walker) push(h heldLock) {
	inner, _ := w.b.nodeWait(h.ni.n)
	wt := int8(inner)
	if k := len(w.held); k > 0 && w.held[k-1].waitMin != 0 && (wt == 0 || w.held[k-1].waitMin < wt) {
		wt = w.held[k-1].waitMin
	}
	h.waitMin = wt
	w.held = append(w.held, h)
}

// dropHeld removes held[i] and recomputes the running wait types above it.
func (w *walker) dropHeld(i int) {
	rest := append([]heldLock(nil), w.held[i+1:]...)
	w.held = w.held[:i]
	for _, h := range rest {
		w.push(h)
	}
}

// heldSnapshot lists the locks held now, as lockdep_print_held_locks()
// would print them when this acquisition closes a cycle (lockdep mode).
func (w *walker) heldSnapshot() []HeldLock {
	out := make([]HeldLock, 0, len(w.held))
	for _, h := range w.held {
		path := h.path
		if path == "" {
			path = w.t.Root
		}
		out = append(out, HeldLock{Name: h.name, Pos: h.pos, Path: path, Text: h.text, Read: h.shared})
	}
	return out
}

func (w *walker) endSection(o *kernel.Op) {
	node := w.b.node(o.Ext().Fence)
	for i := len(w.held) - 1; i >= 0; i-- {
		if w.held[i].section && w.held[i].name == node {
			w.dropHeld(i)
			return
		}
	}
}

func (w *walker) atomic() bool {
	return w.t.Atomic
}

func (w *walker) nonblock(o *kernel.Op) bool {
	return o.Context() == "notifier_nonblock"
}

// sleeping reports a blocking operation in a context that cannot sleep
// (R25, R8c, C15).
func (w *walker) sleeping(o *kernel.Op, what string) {
	switch {
	case w.atomic():
		w.finding(rules.SleepInAtomic, o, "%s in %s context, which is atomic (R25): sleeping function called from invalid context", what, w.t.Context)
	case w.nonblock(o):
		w.finding(rules.SleepInAtomic, o, "%s in a non-blockable mmu notifier invalidation (OOM reaper); the callback must return false instead (R8c, C15)", what)
	}
}

func (w *walker) acquire(o *kernel.Op, kind EdgeKind) {
	if w.b.mode == Lockdep && w.b.p.LockKind(o.Lock) == "semaphore" {
		w.sleeping(o, "down("+o.Lock+")")
		return // struct semaphore has no lockdep map (kernel/locking/semaphore.c)
	}
	ni := w.b.lockInfo(o)
	node := ni.n.Name
	collapsed := w.b.mode == Lockdep && ni.n.Kind == KindPseudo && node != o.Lock
	if collapsed && w.isHeld(node) >= 0 {
		return // e.g. a notifier's own node inside the notifier map (lockdep has one map)
	}
	w.beforeAcquire(o, ni)
	switch ni.lockKind {
	case "srcu":
		if w.b.mode == Lockdep && !w.b.p.Profile.SRCUSync {
			// Before v6.4 srcu_read_lock() is a check=0 map, as RCU's.
			w.push(heldLock{ni: ni, name: node, orig: o.Lock, shared: true, recursive: true, noCheck: true, pos: o.Pos, text: o.Text})
			return
		}
	case "rcu", "rcu_bh", "rcu_sched":
		// rcu_read_lock*(): a recursive read of a check=0 map. Only the
		// wait-context check sees it (kernel/rcu/update.c, rcu_lock_acquire()).
		w.checkWaitContext(ni.n, o)
		w.push(heldLock{ni: ni, name: node, orig: o.Lock, shared: true, recursive: true, noCheck: true, pos: o.Pos, text: o.Text})
		return
	}
	w.markUsage(ni.n, o)
	if !o.Try {
		w.checkWaitContext(ni.n, o)
		if ni.sleeps && (w.atomic() || w.nonblock(o)) { // the message only when reported
			w.sleeping(o, "taking "+ni.lockKind+" "+o.Lock)
		}
		if o.Ext().Ctx != "" && o.Lock == kernel.WWMutex {
			for _, h := range w.held {
				if h.name == kernel.WWMutex && h.ctx == "" && !h.unpub {
					w.finding(rules.WWMisuse, o, "dma_resv locked under acquire context %q while a dma_resv locked without a context is held: mixing ctx and NULL-ctx locking of one ww class is forbidden (R23, C14)", o.Ext().Ctx)
					break
				}
			}
		}
		if o.Lock == kernel.WWMutex && o.Ext().Ctx == "" && w.heldCtx() != "" {
			w.finding(rules.WWMisuse, o, "dma_resv locked without the acquire context while context %q is active: mixing ctx and NULL-ctx locking of one ww class is forbidden (R23, C14)", w.heldCtx())
		}
		if o.Ext().NestLock != "" && w.isHeld(w.b.node(o.Ext().NestLock)) < 0 {
			w.finding(rules.WWMisuse, o, "%s taken with nest_lock %s, which is not held (lockdep: Nested lock was not taken)", o.Lock, o.Ext().NestLock)
		}
		if o.Ext().Ctx != "" && w.ctxDone[o.Ext().Ctx] {
			w.finding(rules.WWMisuse, o, "lock under acquire context %q after ww_acquire_done (R23)", o.Ext().Ctx)
		}
	}
	// Lockdep works on classes: it cannot know that an instance is not
	// yet (or no longer) reachable, so lockdep mode ignores unpublished.
	unpub := o.Unpublished && w.b.mode != Lockdep
	h := heldLock{ni: ni, name: node, orig: o.Lock, inst: o.Inst, shared: o.Mode != kernel.Write, recursive: o.Mode == kernel.RecursiveRead,
		try: o.Try, unpub: unpub, ctx: o.Ext().Ctx, pos: o.Pos, text: o.Text, wwCtx: o.WWCtx, path: o.InPath()}
	if !o.Try && !unpub {
		if i := w.isHeld(node); i >= 0 {
			prev := w.held[i]
			nested := o.Ext().NestLock != "" && w.isHeld(w.b.node(o.Ext().NestLock)) >= 0
			if !(h.recursive && prev.shared) && !nested {
				w.b.diags = append(w.b.diags, diag.Diagnostic{
					File: w.b.p.File, Pos: o.Pos, Rule: rules.RecursiveLocking, Severity: diag.Error, Mode: string(w.b.mode),
					Message: fmt.Sprintf("possible recursive locking: %s acquires %s while already holding it (thread %s)", o.InPath(), node, w.t.Name),
					Cycle:   []string{node},
					Chain: []diag.Step{
						{File: w.b.p.File, Pos: prev.pos, To: node, Kind: "lock", Path: o.InPath(), Context: w.t.Context, Message: "first acquired: " + prev.text},
						{File: w.b.p.File, Pos: o.Pos, To: node, Kind: "lock", Path: o.InPath(), Context: w.t.Context, Message: "acquired again: " + o.Text},
					},
					Scenario: []string{"       CPU0", "       ----", fmt.Sprintf("  lock(%s);", node), fmt.Sprintf("  lock(%s);", node)},
					Hint:     "May be due to missing lock nesting notation: give the inner acquisition a subclass (*_lock_nested), lock both under a ww acquire context, or take the class once.",
					Splat:    w.recursiveSplat(o, node, prev),
				})
				if o.Kind == kernel.OpFlushWQ {
					// check_deadlock() failed: lockdep records no
					// dependency for this acquisition.
					w.held = append(w.held, h)
					return
				}
			}
		}
		// A class already held under its held nest_lock adds no
		// dependency (check_deadlock() returns 2: validate_chain() skips
		// check_prevs_add()).
		if !(o.Ext().NestLock != "" && w.isHeld(node) >= 0 && w.isHeld(w.b.node(o.Ext().NestLock)) >= 0) {
			w.addEdges(w.held, ni, h.recursive, kind, o, 1)
		}
	}
	w.push(h)
}

func (w *walker) irqSafe(lock string) bool { return w.b.p.IRQSafe(lock) }

func (w *walker) heldCtx() string {
	for _, h := range w.held {
		if h.wwCtx {
			return h.ctx
		}
	}
	return ""
}

// release drops the instance the step names (the executor matches the same
// compiled Op.Inst), or for pseudo-locks the innermost hold of the node.
func (w *walker) release(o *kernel.Op) {
	if w.b.mode == Lockdep && w.b.p.LockKind(o.Lock) == "semaphore" {
		return // its acquire was not recorded either
	}
	lock := o.Lock
	node := w.b.lockInfo(o).n.Name
	if o.Inst != "" {
		// Exact instance first, then a nested "X/N" hold ("unlock: X"
		// releases it, as the loader and the executor agree).
		for _, match := range []func(string) bool{
			func(in string) bool { return in == o.Inst },
			func(in string) bool { return strings.HasPrefix(in, o.Inst+"/") },
		} {
			for i := len(w.held) - 1; i >= 0; i-- {
				if !w.held[i].section && w.held[i].inst != "" && match(w.held[i].inst) {
					w.held = append(w.held[:i], w.held[i+1:]...)
					return
				}
			}
		}
	}
	for i := len(w.held) - 1; i >= 0; i-- {
		if w.held[i].inst != "" && o.Inst != "" {
			continue
		}
		if w.held[i].name == node || w.held[i].orig == lock {
			w.dropHeld(i)
			return
		}
	}
}

// touch is an acquire immediately followed by a release (might_lock, the
// reclaim annotations, a fence wait).
func (w *walker) touch(o *kernel.Op, lock string, kind EdgeKind, held []heldLock, weight int) {
	ni := w.b.info(lock)
	w.markUsage(ni.n, o)
	w.addEdges(held, ni, false, kind, o, weight)
}

// inReclaim: the thread runs inside reclaim (its context holds fs_reclaim
// from the start), where PF_MEMALLOC makes allocations skip the
// annotation. An explicit fs_reclaim_acquire() sets no PF_MEMALLOC.
func (w *walker) inReclaim() bool {
	for _, h := range w.held {
		if (h.name == kernel.FsReclaim || h.orig == kernel.FsReclaim) && h.entry {
			return true
		}
	}
	return false
}

func (w *walker) holdsFsReclaim() bool {
	for _, h := range w.held {
		if h.orig == kernel.FsReclaim {
			return true
		}
	}
	return false
}

// alloc applies the GFP table of K11: direct-reclaim allocations
// acquire fs_reclaim (with __GFP_FS) or touch the mmu notifier map; memalloc
// scopes strip flags; PF_MEMALLOC (inside reclaim) and __GFP_NOLOCKDEP skip
// the annotation; GFP_NOWAIT/GFP_ATOMIC add nothing (R3, R4).
func (w *walker) alloc(op *kernel.Op) {
	oc := *op // its text may change below; the program's op is shared
	o := &oc
	gfp := o.GFP
	if w.scopes["noreclaim"] > 0 {
		return
	}
	if w.scopes["noio"] > 0 {
		gfp &^= model.GFPIO | model.GFPFS
	}
	if w.scopes["nofs"] > 0 {
		gfp &^= model.GFPFS
	}
	if gfp&model.GFPDirectReclaim == 0 {
		return
	}
	// Show the effective flags: a scope that strips __GFP_FS is the only
	// reason there is no fs_reclaim edge, and not a reason there is none to
	// the notifier map (current_gfp_context(), K11).
	if gfp != o.GFP {
		scope := "nofs"
		if w.scopes["noio"] > 0 {
			scope = "noio"
		}
		o.Text += fmt.Sprintf(" in a memalloc_%s scope, effectively GFP_%s: it still direct-reclaims (only memalloc_noreclaim or GFP_NOWAIT does not)", scope, strings.ToUpper(scope))
	}
	w.sleeping(o, "a reclaiming allocation "+o.Text)
	if o.NoLockdep || gfp&model.GFPNoLockdep != 0 || w.inReclaim() {
		return
	}
	if gfp&model.GFPFS != 0 && w.holdsFsReclaim() {
		// might_alloc(GFP_KERNEL) inside fs_reclaim_acquire() without
		// PF_MEMALLOC acquires fs_reclaim again: recursive locking
		// (locking-selftest fs_reclaim_wrong_nesting).
		a := *o
		a.Kind, a.Lock, a.Mode = kernel.OpAcquire, kernel.FsReclaim, kernel.Write
		w.acquire(&a, EdgeAlloc)
		w.release(&a)
	} else if gfp&model.GFPFS != 0 {
		w.touch(o, kernel.FsReclaim, EdgeAlloc, w.held, 1)
	} else if w.b.p.MMUNotifier && (w.b.mode != Lockdep || w.b.p.Profile.FsReclaimTouchesNotifier) {
		w.touch(o, kernel.MMUNotifier, EdgeAlloc, w.held, 1)
	}
}

// wait records a dma_fence_wait: a write acquire of the fence node (K2).
// In lockdep mode __dma_fence_might_wait drops the read hold of
// dma_fence_map first, so the edge comes from the lock taken inside the
// section, if any (R7, C12).
func (w *walker) wait(o *kernel.Op, fence string) {
	held := w.held
	if w.b.mode == Lockdep && !w.b.p.Profile.FenceAnnotations {
		return // no dma_fence_map before v5.9 (kernel profile)
	}
	if w.b.mode == Lockdep {
		held = nil
		for _, h := range w.held {
			if h.name != kernel.FenceMap {
				held = append(held, h)
			}
		}
	}
	w.touch(o, fence, EdgeWait, held, 1)
}

func (w *walker) op(o *kernel.Op) {
	switch o.Kind {
	case kernel.OpAcquire:
		w.acquire(o, EdgeLock)
	case kernel.OpRelease:
		w.release(o)
		w.afterRelease(o)
	case kernel.OpLocalIRQ:
		w.localIRQ(o)
	case kernel.OpLocalBH:
		w.localBH(o)
	case kernel.OpMight:
		if o.Sync {
			w.sleeping(o, o.Text)
			if w.b.mode == Lockdep && !w.b.p.Profile.SRCUSync {
				return // synchronize_srcu() is not annotated before v6.4
			}
			// lock_sync() runs __lock_acquire() with sync=1 and releases at
			// once (kernel/locking/lockdep.c): the dependency checks,
			// check_deadlock included, apply; nothing stays held.
			w.acquire(o, EdgeLock)
			w.release(o)
			return
		}
		w.touch(o, o.Lock, EdgeLock, w.held, 1)
	case kernel.OpAlloc:
		w.alloc(o)
	case kernel.OpScopeSave:
		if w.scopes == nil {
			w.scopes = map[string]int{}
		}
		w.scopes[o.Ext().Scope]++
	case kernel.OpScopeRest:
		if w.scopes[o.Ext().Scope] > 0 {
			w.scopes[o.Ext().Scope]--
		}
	case kernel.OpWait:
		if kernel.IsCompletion(o.Ext().Fence) {
			w.waitCompletion(o)
			return
		}
		w.sleeping(o, "dma_fence_wait("+o.Ext().Fence+")")
		if fi := w.b.p.Fences[o.Ext().Fence]; fi != nil && fi.Indefinite && w.inSection() {
			w.finding(rules.IndefiniteFence, o, "signalling code waits on %s, an indefinite (user/future) fence: the dma_fence it completes may never signal (R18)", o.Ext().Fence)
		}
		w.unboundedWait(o, o.Ext().Fence)
		w.wait(o, o.Ext().Fence)
	case kernel.OpWaitResv, kernel.OpEvict:
		usage := o.Ext().Usage
		if o.Kind == kernel.OpEvict {
			usage = "BOOKKEEP" // eviction waits for everything (R28)
		}
		w.sleeping(o, o.Text)
		if w.b.mode == Lockdep {
			w.wait(o, kernel.FenceMap)
			return
		}
		seen := map[string]bool{}
		for _, rf := range w.b.resvFences[o.Ext().Obj] {
			if usageRank[rf.usage] <= usageRank[usage] && !seen[rf.fence] {
				seen[rf.fence] = true
				w.unboundedWait(o, rf.fence)
				w.wait(o, rf.fence)
			}
		}
	case kernel.OpBeginSig:
		b := &kernel.Op{Lock: o.Ext().Fence, Pos: o.Pos, Text: o.Text}
		b.SetPlace(o.Place())
		w.beginSection(b)
	case kernel.OpEndSig:
		w.endSection(o)
	case kernel.OpWWInit:
		a := &kernel.Op{Kind: kernel.OpAcquire, Lock: o.Lock, Pos: o.Pos, Text: o.Text, WWCtx: true}
		a.SetPlace(o.Place())
		a.Mut().Ctx = o.Ext().Ctx
		w.acquire(a, EdgeLock)
	case kernel.OpWWDone:
		if w.ctxDone == nil {
			w.ctxDone = map[string]bool{}
		}
		w.ctxDone[o.Ext().Ctx] = true
	case kernel.OpWWFini:
		// drm_exec_fini: unlock what the context still holds, then the ctx.
		for i := len(w.held) - 1; i >= 0; i-- {
			if w.held[i].ctx == o.Ext().Ctx {
				w.dropHeld(i)
			}
		}
		delete(w.ctxDone, o.Ext().Ctx)
	case kernel.OpReserve:
		// dma_resv_reserve_fences may kmalloc(GFP_KERNEL) (K6, R13).
		a := *o
		a.GFP, _ = model.ParseGFP("GFP_KERNEL")
		a.Text = o.Text + " → kmalloc(GFP_KERNEL)"
		w.alloc(&a)
	case kernel.OpReadBegin:
		// mmu_interval_read_begin may sleep until invalidation ends; it
		// touches the notifier map first (R9).
		w.sleeping(o, o.Text)
		w.touch(o, kernel.MMUNotifier, EdgeLock, w.held, 1)
	case kernel.OpRegNotifier:
		if i := w.isHeld(w.b.node(kernel.MmapLock)); i >= 0 {
			w.finding(rules.RegisterUnderMM, o, "%s while holding mmap_lock: registration may take mmap_lock itself (R27)", o.Text)
		}
		w.touch(o, kernel.MmapLock, EdgeLock, w.held, 1)
	case kernel.OpFlushWork:
		if o.Ext().Obj != "" {
			return // part of a flush_workqueue: its OpFlushWQ is what lockdep sees
		}
		fn, _, _ := strings.Cut(o.Text, ":")
		w.sleeping(o, fn+"("+o.Ext().Path+")")
		w.touch(o, o.Lock, EdgeFlush, w.held, 1)
	case kernel.OpFlushWQ:
		// touch_wq_lockdep_map(): lock_map_acquire + release of the
		// queue's map, so flushing from a work of the same queue is
		// recursive locking.
		w.sleeping(o, o.Text)
		w.acquire(o, EdgeFlush)
		r := &kernel.Op{Kind: kernel.OpRelease, Lock: o.Lock, Pos: o.Pos, Text: o.Text}
		r.SetPlace(o.Place())
		w.release(r)
	case kernel.OpSleep:
		w.sleeping(o, "a sleeping operation ("+o.Text+")")
	case kernel.OpPut:
		// The put may drop the last reference: the finalizer runs here,
		// under whatever this thread holds (kref_put's release callback).
		if len(o.Ext().Then) > 0 {
			w.clone().run(o.Ext().Then, 0, nil)
		}
	case kernel.OpAssertHeld:
		w.assertHeld(o)
	}
}

func (w *walker) inSection() bool {
	for _, h := range w.held {
		if h.section && !kernel.IsCompletion(h.orig) {
			return true
		}
	}
	return false
}

// waitCompletion is wait_for_completion: it sleeps, and in precise mode it
// waits on the completion's node, which the completing thread holds from
// its start to complete(). Lockdep mode records nothing: lockdep has not
// tracked completions since cross-release was removed (v4.15).
func (w *walker) waitCompletion(o *kernel.Op) {
	w.sleeping(o, o.Text)
	if w.b.mode == Lockdep {
		return
	}
	w.touch(o, o.Ext().Fence, EdgeWait, w.held, 1)
}

// unboundedWait: a wait on the fence of a scheduler with timeout: infinite
// from signalling code or from reclaim (an mmu notifier, a shrinker) may
// never end if the job hangs: nothing times it out (R17). Found from the
// design alone, whether or not the workload hangs a job.
func (w *walker) unboundedWait(o *kernel.Op, fence string) {
	fi := w.b.p.Fences[fence]
	if fi == nil || fi.NoTimeout == "" {
		return
	}
	where := ""
	switch {
	case w.inSection():
		where = "signalling code"
	case w.inReclaim():
		where = "reclaim"
	default:
		for _, h := range w.held {
			if h.orig == kernel.MMUNotifier {
				where = "an mmu notifier"
			}
		}
	}
	if where == "" {
		return
	}
	w.finding(rules.IndefiniteFence, o, "%s waits on %s, the fence of job %s on scheduler %s, which has timeout: infinite: if the job hangs nothing times it out, so this wait never ends (R17)", where, fence, fi.Job, fi.NoTimeout)
}

// assertHeld is lockdep_assert_held(): lock_is_held() matches the held
// lock's instance (match_held_lock() in kernel/locking/lockdep.c), so a
// helper asserting one dma_resv is not satisfied by another.
func (w *walker) assertHeld(o *kernel.Op) {
	node := w.b.node(o.Lock)
	for _, h := range w.held {
		if h.section {
			continue
		}
		if (o.Inst != "" && h.inst != "" && (h.inst == o.Inst || strings.HasPrefix(h.inst, o.Inst+"/"))) ||
			(o.Inst == "" && h.name == node) || (h.inst == "" && h.name == node && !strings.HasPrefix(o.Inst, "resv:")) {
			return
		}
	}
	w.finding(rules.AssertHeld, o, "%s in %s, but thread %s does not hold it here: lockdep_assert_held() WARNs", o.Text, o.InPath(), w.t.Name)
}
