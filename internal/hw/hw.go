// Package hw models the GPU and MMU side of a design: engines that execute
// jobs in order, per-VM page tables with PTE and TLB state, and backing
// pages. The executor (internal/exec) drives it; hw only keeps state and
// answers the questions the kernel's rules ask of it.
package hw

import "sort"

// Engine is a hardware ring: it executes the jobs pushed to it strictly in
// order (K8, R14: one ring completes its fences in order).
type Engine struct {
	Name  string
	Queue []string // job names, head is running
	// Left is the remaining duration of the head job, in ticks.
	Left int64
}

// Push appends a job; it starts when it reaches the head.
func (e *Engine) Push(job string, duration int64) {
	if len(e.Queue) == 0 {
		e.Left = duration
	}
	e.Queue = append(e.Queue, job)
}

// Head returns the running job, or "".
func (e *Engine) Head() string {
	if len(e.Queue) == 0 {
		return ""
	}
	return e.Queue[0]
}

// Pop removes the head job (completion or forced completion after reset)
// and starts the next one with its duration.
func (e *Engine) Pop(nextDuration func(job string) int64) string {
	if len(e.Queue) == 0 {
		return ""
	}
	j := e.Queue[0]
	e.Queue = e.Queue[1:]
	if len(e.Queue) > 0 {
		e.Left = nextDuration(e.Queue[0])
	}
	return j
}

// PTE is the state of one object's mapping in one VM's page tables.
type PTE int

const (
	Unmapped PTE = iota
	Mapped
	// Zapped: the entries are cleared but the TLB may still cache them
	// until the next flush (R20).
	Zapped
)

// VM is a GPU address space: the root page directory stays resident while
// the VM lives; lower levels are page-table objects that can be evicted and
// re-allocated (K13).
type VM struct {
	Name string
	PTEs map[string]PTE
	// Tree is the VA interval tree (drm_gpuvm): ranges and their object.
	Tree []Mapping
}

// Mapping is one drm_gpuva.
type Mapping struct {
	Start, End int64
	Obj        string
}

// NewVM returns an empty VM.
func NewVM(name string) *VM { return &VM{Name: name, PTEs: map[string]PTE{}} }

// Map writes PTEs for obj.
func (v *VM) Map(obj string) { v.PTEs[obj] = Mapped }

// Zap clears obj's PTEs (or every object's when obj is ""); the TLB still
// caches them until Flush. It says whether it cleared any.
func (v *VM) Zap(obj string) bool {
	changed := false
	for o, s := range v.PTEs {
		if (obj == "" || o == obj) && s == Mapped {
			v.PTEs[o] = Zapped
			changed = true
		}
	}
	return changed
}

// Has says whether an entry of obj (of any object when obj is "") is in
// state st.
func (v *VM) Has(st PTE, obj string) bool {
	for o, s := range v.PTEs {
		if (obj == "" || o == obj) && s == st {
			return true
		}
	}
	return false
}

// Flush completes a TLB flush: zapped entries are gone. It says whether
// it dropped any.
func (v *VM) Flush() bool {
	changed := false
	for o, s := range v.PTEs {
		if s == Zapped {
			delete(v.PTEs, o)
			changed = true
		}
	}
	return changed
}

// Reachable says whether the GPU may still reach obj's pages through this VM
// and why ("" if not).
func (v *VM) Reachable(obj string) string {
	switch v.PTEs[obj] {
	case Mapped:
		return "a GPU PTE in " + v.Name + " still maps it"
	case Zapped:
		return "its PTEs in " + v.Name + " are zapped but the TLB has not been flushed"
	}
	return ""
}

// Update applies a VM_BIND operation to the VA tree with gpuvm's split and
// merge semantics (K12): map inserts [start,end) after splitting any
// overlapping mapping into prev/next remainders; unmap removes the range,
// keeping the non-overlapping remainders; remap is unmap then map; a mapping
// contiguous with a neighbour of the same object merges with it.
func (v *VM) Update(op string, start, end int64, obj string) {
	if end <= start {
		return
	}
	var out []Mapping
	for _, m := range v.Tree {
		if m.End <= start || m.Start >= end {
			out = append(out, m)
			continue
		}
		if m.Start < start {
			out = append(out, Mapping{Start: m.Start, End: start, Obj: m.Obj})
		}
		if m.End > end {
			out = append(out, Mapping{Start: end, End: m.End, Obj: m.Obj})
		}
	}
	if op == "map" || op == "remap" {
		out = append(out, Mapping{Start: start, End: end, Obj: obj})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Start < out[j].Start })
	// Merge: contiguous mappings of the same object become one gpuva, as
	// drm_gpuvm_sm_map() does when a new mapping extends a neighbour.
	merged := out[:0]
	for _, m := range out {
		if n := len(merged); n > 0 && merged[n-1].Obj == m.Obj && merged[n-1].End == m.Start {
			merged[n-1].End = m.End
			continue
		}
		merged = append(merged, m)
	}
	v.Tree = merged
}

// Memory tracks backing pages of buffers and userptrs.
type Memory struct {
	Freed  map[string]bool
	Pinned map[string]int
}

// NewMemory returns memory with every object's pages present.
func NewMemory() *Memory { return &Memory{Freed: map[string]bool{}, Pinned: map[string]int{}} }
