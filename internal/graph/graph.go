// Package graph builds the lockdep-style dependency graph of a compiled
// scenario and finds its cycles.
//
// Nodes are lock classes, kernel pseudo-locks (named exactly as lockdep
// prints them) and fences; edges are dependencies "To was acquired or waited
// on while From was held", each with its provenance. The store is gonum's
// multi.DirectedGraph, so self-loops and parallel labelled edges are
// representable; SCCs come from gonum's Tarjan.
package graph

import (
	"slices"
	"sort"
	"strings"
	"unsafe"

	"gonum.org/v1/gonum/graph/multi"

	"github.com/fencecheck/fencecheck/internal/kernel"
	"github.com/fencecheck/fencecheck/internal/model"
	"github.com/fencecheck/fencecheck/internal/rules"
)

// Mode selects the analysis semantics.
type Mode string

const (
	// Precise keeps fences apart (one node per fence), adds fence → fence
	// edges from job dependencies and waits inside signalling sections,
	// per-notifier and per-shrinker nodes, and ignores driver priming code.
	Precise Mode = "precise"
	// Lockdep collapses all fences into dma_fence_map, notifiers into
	// mmu_notifier_invalidate_range_start and shrinkers into fs_reclaim,
	// includes priming, and drops what lockdep cannot see (fence → fence).
	Lockdep Mode = "lockdep"
	// Both runs precise and lockdep mode and reports the findings of each
	// (an analysis option, not a graph: Build takes Precise or Lockdep).
	Both Mode = "both"
)

// LockdepReports says whether a lockdep kernel prints a finding of this
// rule, so that lockdep mode reports it: circular and recursive locking,
// inconsistent lock state (kernel/locking/lockdep.c), and the
// acquisition-time checks a PROVE_LOCKING kernel makes alongside (it
// selects DEBUG_MUTEXES and DEBUG_WW_MUTEX_SLOWPATH, whose ww_mutex checks
// WARN on ctx misuse; might_sleep in atomic context;
// mmu_interval_notifier_insert taking mmap_lock, which lockdep reports as
// recursive locking). Hangs, unsignalled fences, indefinite fences and the
// page-table invariants are fencecheck's own: precise mode only.
func LockdepReports(rule string) bool {
	switch rule {
	case rules.Cycle, rules.RecursiveLocking, rules.SleepInAtomic, rules.RegisterUnderMM, rules.IRQUnsafeLock, rules.WWMisuse, rules.InvalidWaitContext, rules.IRQInversion, rules.AssertHeld:
		return true
	}
	return false
}

// NodeKind classifies nodes for reports and DOT grouping.
type NodeKind string

const (
	KindLock     NodeKind = "lock"
	KindPseudo   NodeKind = "pseudo-lock"
	KindFence    NodeKind = "fence"
	KindCallback NodeKind = "callback"
)

// EdgeKind says why an edge exists.
type EdgeKind string

const (
	EdgeLock    EdgeKind = "lock"             // acquired while holding
	EdgeWait    EdgeKind = "wait"             // waited on a fence while holding
	EdgeAlloc   EdgeKind = "alloc"            // allocation may enter reclaim while holding
	EdgeFence   EdgeKind = "fence-dependency" // a fence's signalling depends on another fence
	EdgePrimed  EdgeKind = "primed"           // kernel prelude (dma_resv_lockdep) or driver priming
	EdgeReclaim EdgeKind = "reclaim"          // reclaim may call this shrinker/notifier
	EdgeFlush   EdgeKind = "flush"            // flush_work waits for a worker
)

// Edge is one dependency with its provenance.
type Edge struct {
	From, To string
	Kind     EdgeKind
	File     string
	Pos      model.Pos
	Path     string
	Context  string
	Thread   string
	Text     string
	// Builtin names the kernel fact (or fencecheck assumption) behind an
	// edge that no step of the design made (facts.go); "" for design edges.
	Builtin Fact
	// Also are the positions of other steps that make the same dependency
	// (bounded by maxAlso), so that every offending site is reported.
	Also []model.Pos
	// Shared: From was held shared (read); Recursive: To was acquired as a
	// recursive reader. Together they decide lockdep's strong paths.
	Shared    bool
	Recursive bool
	// flags: edgeToRead (To acquired shared: rlock( in lockdep's table),
	// edgeToSync (To was a lock_sync(): sync(), and the thread's interrupt
	// state then. Packed beside the bools so that edges do not grow.
	flags uint8
	// tick is the walk's clock when the edge was recorded (0: prelude).
	tick int32
	// Weight biases the witness search away from conservative edges (waits
	// on "any fence") when a concrete explanation exists.
	Weight int
	id     int64
	// seq is the order the edge was first recorded (lockdep reports the
	// cycle when its last edge is added).
	seq int
	// from and to are the endpoints, so hot loops need no name lookups.
	from, to *Node
}

const (
	edgeToRead uint8 = 1 << iota
	edgeToSync
	edgeInHard
	edgeInSoft
	edgeHardOn
	edgeSoftOn
)

// ToRead reports that To was acquired shared (read or recursive read).
func (e *Edge) ToRead() bool { return e.flags&edgeToRead != 0 }

// ToSync reports that To was a lock_sync() (synchronize_srcu).
func (e *Edge) ToSync() bool { return e.flags&edgeToSync != 0 }

func (e *Edge) irqs() irqState {
	return irqState{inHard: e.flags&edgeInHard != 0, inSoft: e.flags&edgeInSoft != 0,
		hardOn: e.flags&edgeHardOn != 0, softOn: e.flags&edgeSoftOn != 0}
}

func packIRQ(s irqState) uint8 {
	var f uint8
	if s.inHard {
		f |= edgeInHard
	}
	if s.inSoft {
		f |= edgeInSoft
	}
	if s.hardOn {
		f |= edgeHardOn
	}
	if s.softOn {
		f |= edgeSoftOn
	}
	return f
}

// HeldOf is what the thread held when it recorded e (lockdep mode only):
// the "N locks held by" section of a splat closed by e.
func (g *Graph) HeldOf(e *Edge) []HeldLock { return g.held[e] }

// HeldLock is one lock held at an acquisition, with where it was taken.
type HeldLock struct {
	Name string
	Pos  model.Pos
	Path string
	Text string
	Read bool
}

// Node is a graph vertex.
type Node struct {
	Name string
	Kind NodeKind
	id   int64
	// usage is lockdep's usage bits of the class (one per usageBit);
	// wait its {outer, inner} wait types, 0 meaning not checked; noDecor:
	// lockdep prints no usage for it (a precise-mode fence or callback).
	usage   uint8
	wait    [2]int8
	waitSet bool
	noDecor bool
	// untracked: no lockdep usage bits (see builder.usageTracked).
	untracked bool
	// out holds the node's outgoing edges while it has few, so that the
	// duplicate check stays in cache; high-degree nodes use the graph map.
	out []outEdge
}

// outEdge is an entry of Node.out: the target beside the edge, so that the
// duplicate scan compares targets without loading every edge.
type outEdge struct {
	to *Node
	e  *Edge
}

// smallDegree bounds the linear duplicate scan per node.
const smallDegree = 16

// ID implements graph.Node.
func (n *Node) ID() int64 { return n.id }

// Graph is the dependency graph.
type Graph struct {
	Mode Mode
	// Profile is the kernel release modelled (class names, splat wording).
	Profile kernel.Profile
	// waitTypesPrinted: splats print "-{outer:inner}" (since v5.7).
	waitTypesPrinted bool
	// held keeps, in lockdep mode, each edge's held-lock snapshot.
	held  map[*Edge][]HeldLock
	nodes map[string]*Node
	order []*Node
	edges []*Edge
	// dedupe keeps the first edge per (from, to, shared, recursive), as
	// lockdep keeps the first trace per dependency.
	dedupe map[edgeKey]*Edge
	sorted []*Edge
	idsFor int
	frozen bool
	// edgeBlock is the unused rest of the block new edges are taken from.
	edgeBlock []Edge
}

// edgeBlockSize is the most edges allocated at once: as many as fit in
// 32 KiB, the largest size class; a larger block is rounded up to whole
// pages, which would waste more than per-edge allocation saves.
const edgeBlockSize = 32 << 10 / int(unsafe.Sizeof(Edge{}))

type edgeKey struct {
	from, to          *Node
	shared, recursive bool
}

// New returns an empty graph.
func New(mode Mode) *Graph {
	return &Graph{Mode: mode, nodes: map[string]*Node{}, dedupe: map[edgeKey]*Edge{}}
}

// AddNode adds (or returns) the node name.
func (g *Graph) AddNode(name string, kind NodeKind) *Node {
	if n, ok := g.nodes[name]; ok {
		return n
	}
	n := &Node{Name: name, Kind: kind}
	g.nodes[name] = n
	g.order = append(g.order, n)
	return n
}

// AddEdge records a dependency unless an equivalent one exists. It returns
// whether the edge is new. Self-edges are not recorded: recursive
// acquisition is detected at acquisition time (lockdep's check_deadlock).
func (g *Graph) AddEdge(e Edge) bool {
	from, to := g.nodes[e.From], g.nodes[e.To]
	if from == nil || to == nil {
		return false
	}
	return g.addEdge(from, to, e)
}

// addEdge is AddEdge with the endpoints already resolved; the walk calls it
// once per dependency, so it avoids name lookups.
func (g *Graph) addEdge(from, to *Node, e Edge) bool {
	if from == to && !(e.Kind == EdgeFence && from.Kind == KindFence) {
		// A fence whose signalling waits for itself is kept: it is the
		// shortest possible cycle. Lock self-edges are recursive locking.
		return false
	}
	k := edgeKey{from, to, e.Shared, e.Recursive}
	if len(from.out) < smallDegree {
		for _, o := range from.out {
			if o.to == to && o.e.Shared == e.Shared && o.e.Recursive == e.Recursive {
				o.e.also(e)
				return false
			}
		}
	} else if o, ok := g.dedupe[k]; ok {
		o.also(e)
		return false
	}
	if e.Weight == 0 {
		e.Weight = 1
	}
	// Copied to the heap only here (taking e's address would allocate
	// for every call, duplicates included), into blocks of edges: one
	// allocation per block rather than per dependency.
	if len(g.edgeBlock) == 0 {
		// Blocks grow with the graph, so that a small design does not
		// pay for a large one.
		g.edgeBlock = make([]Edge, min(max(len(g.edges), 16), edgeBlockSize))
	}
	ep := &g.edgeBlock[0]
	g.edgeBlock = g.edgeBlock[1:]
	*ep = e
	ep.From, ep.To = from.Name, to.Name
	ep.seq = len(g.edges)
	ep.from, ep.to = from, to
	switch {
	case len(from.out) < smallDegree-1:
		from.out = append(from.out, outEdge{to, ep})
	case len(from.out) == smallDegree-1:
		// Switch this node to the map: move its edges there.
		from.out = append(from.out, outEdge{to, ep})
		for _, o := range from.out {
			g.dedupe[edgeKey{o.e.from, o.e.to, o.e.Shared, o.e.Recursive}] = o.e
		}
	default:
		g.dedupe[k] = ep
	}
	g.edges = append(g.edges, ep)
	return true
}

// maxAlso bounds the other sites kept per dependency.
const maxAlso = 8

// also records another step of the design that makes the same dependency
// (lockdep keeps the first trace only; a fix must change every site).
func (o *Edge) also(e Edge) {
	if o.Builtin != "" || e.Builtin != "" || !e.Pos.Valid() || e.Pos == o.Pos || len(o.Also) >= maxAlso {
		return
	}
	for _, p := range o.Also {
		if p == e.Pos {
			return
		}
	}
	o.Also = append(o.Also, e.Pos)
}

// Nodes returns the nodes sorted by name.
func (g *Graph) Nodes() []*Node {
	out := append([]*Node(nil), g.order...)
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// Edges returns the edges in a deterministic order (from, to, kind, then
// recording order). The sorted slice is cached until an edge is added; do
// not modify it.
func (g *Graph) Edges() []*Edge {
	if g.sorted != nil && len(g.sorted) == len(g.edges) {
		return g.sorted
	}
	g.assignIDs()
	// Node IDs follow name order, so comparing IDs orders by name without
	// comparing strings. The edges are first distributed by source node
	// (a counting sort, stable in recording order), then each node's few
	// edges are sorted: the same total order as one comparison sort of
	// all edges, in linear time for bounded degrees.
	cmp := func(a, b *Edge) int {
		if a.to.id != b.to.id {
			return int(a.to.id - b.to.id)
		}
		if c := strings.Compare(string(a.Kind), string(b.Kind)); c != 0 {
			return c
		}
		return a.seq - b.seq
	}
	start := make([]int, len(g.order)+1)
	for _, e := range g.edges {
		start[e.from.id+1]++
	}
	for i := 1; i < len(start); i++ {
		start[i] += start[i-1]
	}
	out := make([]*Edge, len(g.edges))
	next := append([]int(nil), start[:len(g.order)]...)
	for _, e := range g.edges {
		out[next[e.from.id]] = e
		next[e.from.id]++
	}
	for i := 0; i+1 < len(start); i++ {
		if start[i+1]-start[i] > 1 {
			slices.SortFunc(out[start[i]:start[i+1]], cmp)
		}
	}
	g.sorted = out
	return out
}

// Node returns a node by name.
func (g *Graph) Node(name string) *Node { return g.nodes[name] }

// assignIDs numbers the nodes in name order (deterministic IDs for gonum
// and DOT), once the node set is final.
func (g *Graph) assignIDs() {
	if g.idsFor == len(g.order) {
		return
	}
	g.idsFor = len(g.order)
	for i, n := range g.Nodes() {
		n.id = int64(i)
	}
}

// nodesByID is the nodes indexed by their IDs (name order), without
// sorting again.
func (g *Graph) nodesByID() []*Node {
	g.assignIDs()
	byID := make([]*Node, len(g.order))
	for _, n := range g.order {
		byID[n.id] = n
	}
	return byID
}

// freeze assigns deterministic node and edge IDs.
func (g *Graph) freeze() {
	if g.frozen {
		return
	}
	g.frozen = true
	g.assignIDs()
	for i, e := range g.Edges() {
		e.id = int64(i)
	}
}

// Multigraph returns the graph as a gonum multigraph: one line per
// dependency, parallel lines and self-loops kept (used for export).
func (g *Graph) Multigraph() *multi.DirectedGraph {
	g.freeze()
	mg := multi.NewDirectedGraph()
	for _, n := range g.order {
		mg.AddNode(n)
	}
	for _, e := range g.Edges() {
		mg.SetLine(line{from: g.nodes[e.From], to: g.nodes[e.To], id: e.id, e: e})
	}
	return mg
}

// line adapts an Edge to gonum's graph.Line.
type line struct {
	from, to *Node
	id       int64
	e        *Edge
}

func (l line) From() graphNode { return l.from }
func (l line) To() graphNode   { return l.to }
func (l line) ID() int64       { return l.id }
func (l line) ReversedLine() graphLine {
	return line{from: l.to, to: l.from, id: l.id, e: l.e}
}
func (l line) ReversedEdge() graphEdge {
	return line{from: l.to, to: l.from, id: l.id, e: l.e}
}
