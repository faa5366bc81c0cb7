// Package group folds the consequences of a bug into the finding that
// explains it, so that one bug is one report. A dependency cycle (FC001) or
// recursive locking (FC002) is the cause; a hang (FC003) whose wait-for
// cycle runs through the cycle's locks and fences, and the fences that
// hang leaves unsignalled (FC004), are what it does when it happens. They
// become Related entries of the cause: still shown (as "consequences"),
// still matched by expectations, but not counted as bugs of their own.
package group

import (
	"github.com/fencecheck/fencecheck/internal/diag"
	"github.com/fencecheck/fencecheck/internal/rules"
)

// Group returns ds with consequences moved under their cause. Order is
// kept; the input must come from one file and one mode.
func Group(ds []diag.Diagnostic) []diag.Diagnostic {
	type cand struct {
		idx   int
		nodes map[string]bool
	}
	var causes, hangs []cand
	for i, d := range ds {
		switch d.Rule {
		case rules.Cycle, rules.RecursiveLocking:
			causes = append(causes, cand{i, nodeSet(d)})
		case rules.Hang:
			hangs = append(hangs, cand{i, nodeSet(d)})
		}
	}
	parent := make([]int, len(ds))
	for i := range parent {
		parent[i] = -1
	}
	// best returns the cause sharing the most nodes with n (first on ties,
	// so the choice is deterministic), or -1.
	best := func(among []cand, n map[string]bool, self int) int {
		bi, bs := -1, 0
		for _, c := range among {
			if c.idx == self || parent[c.idx] >= 0 {
				continue
			}
			if s := shared(c.nodes, n); s > bs {
				bi, bs = c.idx, s
			}
		}
		return bi
	}
	// A hang is explained by recursive locking at its own step, or by a
	// cycle through the same locks and fences; the same wait-for cycle in
	// another interleaving is the same hang.
	for _, h := range hangs {
		d := ds[h.idx]
		for _, c := range causes {
			if ds[c.idx].Rule == rules.RecursiveLocking && ds[c.idx].Pos == d.Pos && shared(c.nodes, h.nodes) > 0 {
				parent[h.idx] = c.idx
				break
			}
		}
		if parent[h.idx] < 0 {
			parent[h.idx] = best(causes, h.nodes, -1)
		}
		if parent[h.idx] < 0 {
			for _, o := range hangs {
				if o.idx < h.idx && parent[o.idx] < 0 && sameSet(o.nodes, h.nodes) {
					parent[h.idx] = o.idx
					break
				}
			}
		}
	}
	// An unsignalled fence is explained by the cause of the hang it is part
	// of, or by the hang, or by a cycle through the fence.
	for i, d := range ds {
		if d.Rule != rules.Unsignalled {
			continue
		}
		n := nodeSet(d)
		if p := best(causes, n, -1); p >= 0 {
			parent[i] = p
			continue
		}
		if p := best(hangs, n, -1); p >= 0 {
			parent[i] = p
			continue
		}
		// Several unsignalled fences of one stuck chain: the first names it.
		for j := 0; j < i; j++ {
			if ds[j].Rule == rules.Unsignalled && parent[j] < 0 && shared(nodeSet(ds[j]), n) > 0 {
				parent[i] = j
				break
			}
		}
	}
	// Attach to the root cause (a hang that is itself a consequence passes
	// its own consequences up).
	root := func(i int) int {
		for n := 0; parent[i] >= 0 && n < len(ds); n++ {
			i = parent[i]
		}
		return i
	}
	out := make([]diag.Diagnostic, 0, len(ds))
	pos := make([]int, len(ds))
	for i, d := range ds {
		if parent[i] < 0 {
			pos[i] = len(out)
			out = append(out, d)
		}
	}
	for i, d := range ds {
		if parent[i] >= 0 {
			r := root(i)
			d.Related = nil
			out[pos[r]].Related = append(out[pos[r]].Related, d)
		}
	}
	return out
}

// Flatten returns the findings and their consequences as one list (for
// --no-group and for matching expectations).
func Flatten(ds []diag.Diagnostic) []diag.Diagnostic {
	var out []diag.Diagnostic
	for _, d := range ds {
		rel := d.Related
		d.Related = nil
		out = append(out, d)
		out = append(out, rel...)
	}
	return out
}

// nodeSet: the names a finding is about (cycle nodes, chain endpoints).
// A wait-for cycle also names threads; they never match a lock or fence of
// a dependency cycle, so they do no harm.
func nodeSet(d diag.Diagnostic) map[string]bool {
	s := map[string]bool{}
	for _, n := range d.Cycle {
		s[n] = true
	}
	for _, st := range d.Chain {
		if st.From != "" {
			s[st.From] = true
		}
		if st.To != "" {
			s[st.To] = true
		}
	}
	return s
}

func shared(a, b map[string]bool) int {
	n := 0
	for k := range b {
		if a[k] {
			n++
		}
	}
	return n
}

func sameSet(a, b map[string]bool) bool {
	return len(a) == len(b) && shared(a, b) == len(a)
}
