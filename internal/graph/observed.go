package graph

// EdgeObserved is a dependency a running kernel's lockdep recorded
// (/proc/lockdep, included with base:). Like the prelude it is a fact about
// the kernel, but it carries its base file's position, and reports mark it
// "observed by lockdep".
const EdgeObserved EdgeKind = "observed"

// observed adds the bases' dependencies. They are recorded before any path
// is walked, so a cycle that a design's path closes is reported at that
// path's step, as lockdep would report it when the path first runs.
func (b *builder) observed() {
	for _, o := range b.p.Observed {
		from, to := b.info(o.From), b.info(o.To)
		b.g.addEdge(from.n, to.n, Edge{Kind: EdgeObserved, File: o.File, Pos: o.Pos, Builtin: FactObserved,
			Text: "observed by lockdep: " + o.From + " → " + o.To, Weight: 1})
	}
}
