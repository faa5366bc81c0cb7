// Package importer turns what a kernel prints into fencecheck input: a
// lockdep splat (internal/splat) into a scenario that reproduces it, and a
// running kernel's /proc/lockdep (internal/lockdepproc) into a base of
// observed dependencies that scenarios include with `base:`.
package importer

import (
	"strings"
	"sync"

	"github.com/fencecheck/fencecheck/internal/graph"
	"github.com/fencecheck/fencecheck/internal/kernel"
	"github.com/fencecheck/fencecheck/internal/model"
)

// kernelNames is the one table of lockdep class names that fencecheck
// spells differently: the kernel's names of the core locks fencecheck
// builds in. Everything else keeps the name lockdep printed. mmap_lock was
// mmap_sem before v5.8 (commit da1c55f1b272, "mmap locking API: rename
// mmap_sem to mmap_lock"); i_mmap_rwsem is initialised in
// address_space_init_once() (fs/inode.c), hence its class name.
var kernelNames = map[string]string{
	"&mm->mmap_lock":         kernel.MmapLock,
	"&mm->mmap_sem":          kernel.MmapLock,
	"&mapping->i_mmap_rwsem": kernel.IMmapRwsem,
}

// FencecheckName maps a lockdep class name to the name fencecheck uses and
// says whether it was renamed.
func FencecheckName(name string) (string, bool) {
	if n, ok := kernelNames[name]; ok {
		return n, true
	}
	return name, false
}

// CanonicalChain maps every name of a "A --> B --> C" line through the
// table, so a kernel's chain line and fencecheck's compare modulo spelling.
func CanonicalChain(line string) string {
	parts := strings.Split(line, " --> ")
	for i, p := range parts {
		parts[i], _ = FencecheckName(strings.TrimSpace(p))
	}
	return strings.Join(parts, " --> ")
}

type edgeKey struct{ from, to string }

// builtinEdges are the dependencies fencecheck's kernel prelude records in
// lockdep mode (dma_resv_lockdep() priming and reclaim → notifier map). An
// imported dependency that is one of them needs no path. They are read from
// the graph package itself, so the importer cannot drift from the model.
var builtinEdges = sync.OnceValue(func() map[edgeKey]bool {
	sc, _ := model.Load("prelude.yaml", []byte("fencecheck: 1\n"), model.Options{})
	out := map[edgeKey]bool{}
	if sc == nil {
		return out
	}
	g, _ := graph.Build(kernel.Compile(sc), graph.Lockdep)
	for _, e := range g.Edges() {
		if e.Kind == graph.EdgePrimed {
			out[edgeKey{e.From, e.To}] = true
		}
	}
	return out
})

// IsBuiltinEdge reports whether fencecheck's prelude already records
// from → to in lockdep mode.
func IsBuiltinEdge(from, to string) bool { return builtinEdges()[edgeKey{from, to}] }
