package graph

import (
	"container/heap"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"sort"
	"strings"

	"gonum.org/v1/gonum/graph/simple"
	"gonum.org/v1/gonum/graph/topo"

	"github.com/fencecheck/fencecheck/internal/diag"
	"github.com/fencecheck/fencecheck/internal/kernel"
	"github.com/fencecheck/fencecheck/internal/rules"
)

// Cycle is one witness cycle: nodes in order and the edge leaving each node.
type Cycle struct {
	Nodes []string
	Edges []*Edge
	// Next is the index in Nodes of the lock lockdep would be acquiring
	// when it reports: the target of the most recently recorded edge.
	Next int
	// More counts the design's edges in the same component that no
	// reported witness covers (the cover was capped).
	More int
	// Comp numbers the strongly connected component the witness lies in
	// (witnesses of one component: coverSites).
	Comp int
}

// strong-path states: lockdep only reports closed strong paths, i.e. no edge
// into a recursive reader followed by an edge out of a node held shared
// (K16). A state is a node plus whether it was entered as a
// recursive reader.
type state struct {
	node int64
	rec  bool
}

func sid(n int64, rec bool) int64 {
	if rec {
		return 2*n + 1
	}
	return 2 * n
}

type arc struct {
	to int64
	e  *Edge
}

// Cycles finds one shortest witness cycle per strongly connected component
// of the strong-path state graph: Tarjan's SCC (gonum), then a Dijkstra
// search inside each component. Never enumerates all cycles.
func (g *Graph) Cycles() []Cycle {
	g.freeze()
	byID := g.nodesByID()
	nstates := int64(2 * len(byID))
	adj := make([][]arc, nstates)
	radj := make([][]int64, nstates)
	// Two passes: count each state's arcs, then fill slices cut from one
	// backing array each (no growing per state).
	arcs := func(visit func(from, to int64, e *Edge)) {
		for _, e := range g.Edges() { // sorted: deterministic adjacency order
			if e.from == e.to {
				continue // self-loops are one-node cycles, reported below; simple graphs reject them
			}
			u, v := e.from.id, e.to.id
			for _, rec := range [2]bool{false, true} {
				if rec && e.Shared {
					continue // -(xR)-> followed by -(Sx)->: not a strong path
				}
				visit(sid(u, rec), sid(v, e.Recursive), e)
			}
		}
	}
	nout := make([]int32, nstates)
	nin := make([]int32, nstates)
	total := 0
	arcs(func(from, to int64, _ *Edge) { nout[from]++; nin[to]++; total++ })
	arcBuf := make([]arc, total)
	fromBuf := make([]int64, total)
	offOut, offIn := 0, 0
	for s := range adj {
		if n := int(nout[s]); n > 0 {
			adj[s] = arcBuf[offOut : offOut : offOut+n]
			offOut += n
		}
		if n := int(nin[s]); n > 0 {
			radj[s] = fromBuf[offIn : offIn : offIn+n]
			offIn += n
		}
	}
	arcs(func(from, to int64, e *Edge) {
		adj[from] = append(adj[from], arc{to: to, e: e})
		radj[to] = append(radj[to], from)
	})
	// Only nodes with both an incoming and an outgoing edge can lie on a
	// cycle: peel the others off in linear time so that Tarjan (gonum)
	// only sees the cyclic core. Acyclic designs of any size end here.
	alive := trimAcyclic(adj, radj)
	sg := simple.NewDirectedGraph()
	for id := int64(0); id < nstates; id++ {
		if alive[id] {
			sg.AddNode(simple.Node(id))
		}
	}
	for from := int64(0); from < nstates; from++ {
		if !alive[from] {
			continue
		}
		for _, a := range adj[from] {
			if alive[a.to] && !sg.HasEdgeFromTo(from, a.to) {
				sg.SetEdge(simple.Edge{F: simple.Node(from), T: simple.Node(a.to)})
			}
		}
	}
	var out []Cycle
	seen := map[string]bool{}
	for _, e := range g.Edges() {
		if e.From == e.To {
			c := Cycle{Nodes: []string{e.From}, Edges: []*Edge{e}}
			seen[c.key()] = true
			out = append(out, c)
		}
	}
	ncomp := 0
	for _, scc := range topo.TarjanSCC(sg) {
		if len(scc) < 2 {
			continue
		}
		in := map[int64]bool{}
		var ids []int64
		for _, n := range scc {
			in[n.ID()] = true
			ids = append(ids, n.ID())
		}
		sort.Slice(ids, func(i, j int) bool { return ids[i] < ids[j] })
		starts := ids
		if len(starts) > 64 {
			starts = starts[:1] // bound the cost on huge components: linear overall
		}
		var best *Cycle
		bestCost := 0
		for _, s := range starts {
			c, cost := witness(s, in, adj, byID)
			if c == nil {
				continue
			}
			if best == nil || cost < bestCost || (cost == bestCost && c.key() < best.key()) {
				best, bestCost = c, cost
			}
		}
		if best == nil {
			continue
		}
		best.canonicalize()
		k := best.key()
		if seen[k] {
			continue
		}
		seen[k] = true
		ncomp++
		for _, c := range coverSites(*best, ids, in, adj, byID, seen) {
			c.Comp = ncomp
			out = append(out, c)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].key() < out[j].key() })
	return out
}

func (c *Cycle) key() string { return strings.Join(c.Nodes, "\x00") }

// canonicalize rotates the cycle to start at its smallest node name (so
// output is deterministic) and locates Next: the target of the edge with
// the highest sequence number, i.e. the one lockdep would have added last.
func (c *Cycle) canonicalize() {
	n := len(c.Nodes)
	m := 0
	for i := 1; i < n; i++ {
		if c.Nodes[i] < c.Nodes[m] {
			m = i
		}
	}
	c.Nodes = append(c.Nodes[m:], c.Nodes[:m]...)
	c.Edges = append(c.Edges[m:], c.Edges[:m]...)
	last := 0
	for i, e := range c.Edges {
		if e.seq > c.Edges[last].seq && e.Kind != EdgePrimed && e.Kind != EdgeReclaim {
			last = i
		}
	}
	c.Next = (last + 1) % n
}

type pqItem struct {
	id   int64
	dist int
}

type pq []pqItem

func (q pq) Len() int { return len(q) }
func (q pq) Less(i, j int) bool {
	if q[i].dist != q[j].dist {
		return q[i].dist < q[j].dist
	}
	return q[i].id < q[j].id
}
func (q pq) Swap(i, j int) { q[i], q[j] = q[j], q[i] }
func (q *pq) Push(x any)   { *q = append(*q, x.(pqItem)) }
func (q *pq) Pop() any {
	old := *q
	it := old[len(old)-1]
	*q = old[:len(old)-1]
	return it
}

// trimAcyclic marks the states that survive repeatedly removing states
// without an incoming or outgoing edge among the survivors.
func trimAcyclic(adj [][]arc, radj [][]int64) []bool {
	n := len(adj)
	in := make([]int, n)
	out := make([]int, n)
	alive := make([]bool, n)
	var queue []int64
	for i := 0; i < n; i++ {
		out[i] = len(adj[i])
		in[i] = len(radj[i])
		alive[i] = true
		if in[i] == 0 || out[i] == 0 {
			alive[i] = false
			queue = append(queue, int64(i))
		}
	}
	for len(queue) > 0 {
		v := queue[len(queue)-1]
		queue = queue[:len(queue)-1]
		for _, a := range adj[v] {
			if alive[a.to] {
				if in[a.to]--; in[a.to] == 0 {
					alive[a.to] = false
					queue = append(queue, a.to)
				}
			}
		}
		for _, u := range radj[v] {
			if alive[u] {
				if out[u]--; out[u] == 0 {
					alive[u] = false
					queue = append(queue, u)
				}
			}
		}
	}
	return alive
}

// coverSites returns the component's witness and, so that fixing what the
// report names removes the whole component, further shortest cycles until
// every edge the design made (not a kernel fact) that lies in the
// component is on some reported cycle: in a strongly connected component
// every edge lies on a cycle, and the shortest one through an edge u->v
// is that edge plus the shortest path v->u. The cover is capped; the last
// witness counts the sites left out.
func coverSites(first Cycle, ids []int64, in map[int64]bool, adj [][]arc, byID []*Node, seen map[string]bool) []Cycle {
	limit := 16
	if len(ids) > 64 {
		limit = 4 // huge components: keep the search linear-ish
	}
	out := []Cycle{first}
	covered := map[*Edge]bool{}
	for _, e := range first.Edges {
		covered[e] = true
	}
	more := 0
	for _, u := range ids {
		for _, a := range adj[u] {
			e := a.e
			if !in[a.to] || covered[e] || e.Builtin != "" || !e.Pos.Valid() {
				continue
			}
			if len(out) > limit {
				covered[e] = true
				more++
				continue
			}
			c := through(u, a, in, adj)
			if c == nil {
				continue
			}
			for _, ce := range c.Edges {
				covered[ce] = true
			}
			c.canonicalize()
			if k := c.key(); !seen[k] {
				seen[k] = true
				out = append(out, *c)
			}
		}
	}
	out[len(out)-1].More = more
	return out
}

// through returns the shortest cycle that takes arc a out of state u:
// a, then the cheapest path from a.to back to u inside the component.
func through(u int64, a arc, in map[int64]bool, adj [][]arc) *Cycle {
	c, _ := cheapestCycle(u, []arc{a}, in, adj)
	return c
}

// witness returns the cheapest cycle through state s inside the component.
func witness(s int64, in map[int64]bool, adj [][]arc, byID []*Node) (*Cycle, int) {
	return cheapestCycle(s, adj[s], in, adj)
}

// cheapestCycle returns the cheapest cycle that leaves state s by one of
// the arcs first and comes back to s inside the component, and its cost.
// Dijkstra with integer weights; ties broken by state ID and adjacency
// order, so the result is deterministic (gonum's path package iterates
// maps, which would make equal-length witnesses vary between runs).
func cheapestCycle(s int64, first []arc, in map[int64]bool, adj [][]arc) (*Cycle, int) {
	dist := map[int64]int{}
	prev := map[int64]arc{}
	from := map[int64]int64{}
	q := &pq{}
	for _, a := range first {
		if !in[a.to] {
			continue
		}
		d := a.e.Weight
		if old, ok := dist[a.to]; !ok || d < old {
			dist[a.to], prev[a.to], from[a.to] = d, a, s
			heap.Push(q, pqItem{a.to, d})
		}
	}
	done := map[int64]bool{}
	for q.Len() > 0 {
		it := heap.Pop(q).(pqItem)
		if done[it.id] || it.dist != dist[it.id] {
			continue
		}
		done[it.id] = true
		if it.id == s {
			break
		}
		for _, a := range adj[it.id] {
			if !in[a.to] {
				continue
			}
			d := it.dist + a.e.Weight
			if old, ok := dist[a.to]; !ok || d < old {
				dist[a.to], prev[a.to], from[a.to] = d, a, it.id
				heap.Push(q, pqItem{a.to, d})
			}
		}
	}
	cost, ok := dist[s]
	if !ok {
		return nil, 0
	}
	// Walk back from s to s.
	var rev []arc
	cur := s
	for i := 0; i <= len(in); i++ {
		a := prev[cur]
		rev = append(rev, a)
		cur = from[cur]
		if cur == s {
			break
		}
	}
	c := &Cycle{}
	for i := len(rev) - 1; i >= 0; i-- {
		c.Nodes = append(c.Nodes, rev[i].e.From)
		c.Edges = append(c.Edges, rev[i].e)
	}
	return c, cost
}

// Findings turns cycles into diagnostics with lockdep-shaped explanations.
// Witnesses of one component that share a step of the design with an
// earlier finding are the same bug seen through another cycle: they become
// its Related entries (still shown, so every offending site is named, but
// not counted as bugs). A witness that shares no design step with any
// earlier one is a bug of its own.
func (g *Graph) Findings(file string) []diag.Diagnostic {
	var out []diag.Diagnostic
	type owner struct{ idx, comp int }
	stepOwner := map[*Edge]owner{}
	for _, c := range g.Cycles() {
		d := g.cycleDiag(file, c)
		parent := -1
		if c.Comp > 0 {
			for _, e := range c.Edges {
				if o, ok := stepOwner[e]; ok && o.comp == c.Comp && e.Builtin == "" {
					parent = o.idx
					break
				}
			}
		}
		if parent >= 0 {
			out[parent].Related = append(out[parent].Related, d)
			continue
		}
		for _, e := range c.Edges {
			if _, ok := stepOwner[e]; !ok {
				stepOwner[e] = owner{len(out), c.Comp}
			}
		}
		out = append(out, d)
	}
	return out
}

func (g *Graph) cycleDiag(file string, c Cycle) diag.Diagnostic {
	n := len(c.Nodes)
	// The chain in lockdep's order: from Next round to the edge that closes
	// it (the acquisition lockdep would be checking).
	var chain []diag.Step
	var order []string
	for i := 0; i < n; i++ {
		k := (c.Next + i) % n
		e := c.Edges[k]
		order = append(order, c.Nodes[k])
		msg := fmt.Sprintf("%s --> %s: %s", e.From, e.To, e.Text)
		if len(e.Also) > 0 {
			var at []string
			for _, p := range e.Also {
				at = append(at, p.String())
			}
			msg += " (the same dependency is also made at " + strings.Join(at, ", ") + ")"
		}
		chain = append(chain, diag.Step{File: e.File, Pos: e.Pos, From: e.From, To: e.To, Kind: string(e.Kind),
			Path: e.Path, Context: e.Context, Builtin: string(e.Builtin), Message: msg})
	}
	closing := c.Edges[(c.Next+n-1)%n]
	next, prevNode := order[0], order[n-1]
	pos := closing.Pos
	// Point the finding at the most informative step: the closing edge if
	// it has a position, else the first positioned edge of the chain.
	if !pos.Valid() {
		for _, st := range chain {
			if st.Pos.Valid() {
				pos = st.Pos
				break
			}
		}
	}
	shape, hint := classify(g, c)
	h := sha256.Sum256([]byte(string(g.Mode) + "\x00" + rules.Cycle + "\x00" + strings.Join(c.Nodes, "\x00")))
	d := diag.Diagnostic{
		File: file, Pos: pos, Rule: rules.Cycle, Severity: diag.Error, Mode: string(g.Mode),
		Message: fmt.Sprintf("possible circular dependency: %s", strings.Join(append(append([]string{}, order...), order[0]), " --> ")),
		// The cycle in the message's rotation, so text and JSON agree; the
		// fingerprint uses the canonical rotation.
		Cycle:       order,
		Chain:       chain,
		Canonical:   shape,
		Hint:        hint,
		Fingerprint: hex.EncodeToString(h[:8]),
	}
	// lockdep's "Chain exists of": next --> parent --> prev, printed only
	// when the path has an intermediate node (K17).
	parent := order[max(n-2, 0)]
	if n > 2 {
		d.ChainExists = fmt.Sprintf("%s --> %s --> %s", next, parent, prevNode)
	}
	if g.Mode == Lockdep {
		d.Scenario = lockdepScenario(g.Profile, next, parent, prevNode, closing)
		d.Splat = lockdepSplat(g.Profile, closing, g.HeldOf(closing), next, prevNode)
		d.Splat.Decor = map[string]string{}
		for _, name := range c.Nodes {
			d.Splat.Decor[name] = g.decor(name)
		}
		for _, h := range g.HeldOf(closing) {
			d.Splat.Decor[h.Name] = g.decor(h.Name)
		}
		return d
	}
	lockOf := func(name string, shared bool) string {
		if shared {
			return "rlock(" + name + ");"
		}
		return "lock(" + name + ");"
	}
	prevShared := closing.Shared
	d.Scenario = append(d.Scenario,
		"       CPU0                    CPU1",
		"       ----                    ----",
		"  "+lockOf(prevNode, prevShared),
		"                               "+lockOf(parent, false),
		"                               "+lockOf(prevNode, prevShared),
		"  "+lockOf(next, closing.Recursive),
	)
	return d
}

// lockdepScenario is the unsafe-scenario table as
// print_circular_lock_scenario() (kernel/locking/lockdep.c) prints it: the
// CPU1 lines always say lock(; since v6.4 the CPU0 lines say rlock( for a
// read-held target (prev) and a read-acquired source (next) (kernel
// profile TableReadSync), and sync( for a lock_sync() source
// (synchronize_srcu); before, every line says lock(.
func lockdepScenario(prof kernel.Profile, next, parent, prev string, closing *Edge) []string {
	cpu0 := func(name string, read bool) string {
		if read && prof.TableReadSync {
			return "  rlock(" + name + ");"
		}
		return "  lock(" + name + ");"
	}
	last := cpu0(next, closing.ToRead() || closing.Recursive)
	if closing.ToSync() && prof.TableReadSync && !(closing.ToRead() || closing.Recursive) {
		last = "  sync(" + next + ");"
	}
	return []string{
		"       CPU0                    CPU1",
		"       ----                    ----",
		cpu0(prev, closing.Shared),
		"                               lock(" + parent + ");",
		"                               lock(" + prev + ");",
		last,
	}
}

// lockdepSplat is the task part of the report: the closing acquisition
// (prev --> next) and the locks its thread held, as
// print_circular_bug_header() and lockdep_print_held_locks() print them.
func lockdepSplat(prof kernel.Profile, closing *Edge, held []HeldLock, next, prev string) *diag.Splat {
	sp := &diag.Splat{Kernel: prof.Version, Task: closing.Thread,
		Acquire: diag.Step{File: closing.File, Pos: closing.Pos, To: next, Path: closing.Path, Context: closing.Context, Message: closing.Text},
		Holding: diag.Step{File: closing.File, To: prev}}
	if closing.Thread == "" {
		sp.Task = closing.Path
	}
	sp.HeldKnown = held != nil
	for _, h := range held {
		st := diag.Step{File: closing.File, Pos: h.Pos, To: h.Name, Path: h.Path, Message: h.Text}
		sp.Held = append(sp.Held, st)
		if h.Name == prev {
			sp.Holding = st
		}
	}
	return sp
}
