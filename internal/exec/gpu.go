package exec

// GPU page tables and VMs: mapping pages, zapping PTEs, TLB flushes and
// VM updates on the hw model (internal/hw).

import (
	"strings"

	"github.com/fencecheck/fencecheck/internal/diag"
	"github.com/fencecheck/fencecheck/internal/kernel"
)

func runMapPages(s *sim, t *thread, f *frame, o *kernel.Op) bool {
	vm := s.vmOf(*o)
	s.mmu.Map(vm, o.Ext().Obj)
	s.ptSite(t, o, vm, o.Ext().Obj, "writes the PTEs of ", o.Ext().Obj, " in ", vm)
	s.event2(t, "pte", o.Text, " (PTEs written)", o.Pos)
	return true
}

func runZapPTEs(s *sim, t *thread, f *frame, o *kernel.Op) bool {
	if s.p.Scenario.Kinds[o.Ext().Obj] == "vm" {
		s.mmu.ZapVM(o.Ext().Obj)
		s.ptSite(t, o, o.Ext().Obj, "", "zaps every PTE of ", o.Ext().Obj, "; the TLB keeps them until a flush")
	} else {
		s.mmu.ZapObject(o.Ext().Obj)
		for _, vm := range s.mmu.MappedIn(o.Ext().Obj) {
			s.ptSite(t, o, vm, o.Ext().Obj, "zaps the PTEs of ", o.Ext().Obj, " in ", vm, "; the TLB keeps them until a flush")
		}
	}
	s.event2(t, "pte", o.Text, " (PTEs cleared; TLB not yet flushed)", o.Pos)
	return true
}

func runTLBFlush(s *sim, t *thread, f *frame, o *kernel.Op) bool {
	if s.p.Scenario.Kinds[o.Ext().Obj] == "vm" {
		s.mmu.FlushVM(o.Ext().Obj)
	} else {
		s.mmu.FlushAll()
	}
	s.event2(t, "tlb", o.Text, " (TLB flushed)", o.Pos)
	return true
}

func runVMUpdate(s *sim, t *thread, f *frame, o *kernel.Op) bool {
	var start, end int64
	if len(o.Ext().Range) == 2 {
		start, end = o.Ext().Range[0], o.Ext().Range[1]
	}
	s.mmu.VM(o.Ext().Obj).Update(o.Ext().VMOp, start, end, o.Ext().Obj)
	s.event(t, "vm_update", o.Text, o.Pos)
	return true
}

// The page-table footprints are per VM: "pte:VM" its entries, "tlb:VM" the
// zapped entries its TLB still caches, "mapped:VM" whether a zap would
// clear one, "zapped:VM" whether a flush would drop one; "mappedin:OBJ"
// is which VMs ever mapped OBJ (hw.MMU.MappedIn) and "vms" which VMs
// exist (a flush of every TLB reads it; createsVM).

func footMapPages(s *sim, t *thread, o *kernel.Op) []string {
	vm := s.vmOf(*o)
	return s.createsVM(vm, []string{"pte:" + vm, "tlb:" + vm, "mapped:" + vm, "zapped:" + vm, "mappedin:" + o.Ext().Obj})
}

// createsVM adds "+vms" to the footprint of a step on vm when vm does not
// exist yet: every step that names a VM creates it (hw.MMU.VM), and a
// flush of every TLB walks the VMs that exist ("?vms"). Two creations
// commute (they add to a set).
func (s *sim) createsVM(vm string, foot []string) []string {
	if s.mmu.Lookup(vm) == nil {
		foot = append(foot, "+vms")
	}
	return foot
}

func footZapPTEs(s *sim, t *thread, o *kernel.Op) []string {
	// Zapping only clears PTEs (hw.VM.Zap) and a TLB flush only drops
	// zapped entries (hw.VM.Flush): two zaps commute, two flushes
	// commute, a zap and a flush do not, and both change what a
	// reader of the page tables (pteRead) sees. A zap with nothing
	// mapped to clear only reads that nothing is: only a map can
	// change that (another zap cannot make it clear something).
	obj := o.Ext().Obj
	vms := []string{obj}
	var foot []string
	if s.p.Scenario.Kinds[obj] != "vm" {
		vms = s.mmu.MappedIn(obj)
		foot = []string{"?mappedin:" + obj}
	} else {
		foot = s.createsVM(obj, foot)
	}
	if !s.zapClears(*o) {
		for _, vm := range vms {
			foot = append(foot, "?mapped:"+vm)
		}
		return foot
	}
	for _, vm := range vms {
		foot = append(foot, "+pte:"+vm, "?tlb:"+vm, "+zapped:"+vm)
	}
	return foot
}

func footTLBFlush(s *sim, t *thread, o *kernel.Op) []string {
	// A flush with no zapped entry to drop reads that there is none:
	// only a zap that clears something changes that.
	vms := []string{o.Ext().Obj}
	var foot []string
	if s.p.Scenario.Kinds[o.Ext().Obj] != "vm" {
		vms = s.mmu.Names()
		foot = []string{"?vms"}
	} else {
		foot = s.createsVM(o.Ext().Obj, foot)
	}
	if !s.flushDrops(*o) {
		for _, vm := range vms {
			foot = append(foot, "?zapped:"+vm)
		}
		return foot
	}
	for _, vm := range vms {
		foot = append(foot, "?pte:"+vm, "+tlb:"+vm)
	}
	return foot
}

func footVMUpdate(s *sim, t *thread, o *kernel.Op) []string {
	return s.createsVM(o.Ext().Obj, []string{"vm:" + o.Ext().Obj})
}

// tagMMU: the page-table steps' footprints depend on the op and on the
// page tables alone (which VMs exist, what their PTEs and TLBs hold, where
// an object was mapped), which hw.MMU.Version tracks.
func tagMMU(s *sim, t *thread, o *kernel.Op) (footTag, bool) {
	return footTag{n: s.mmu.Version()}, true
}

// registered in transitions.go
func init() {
	stepKinds[kernel.OpMapPages] = stepKind{run: runMapPages, foot: footMapPages, footTag: tagMMU}
	stepKinds[kernel.OpTLBFlush] = stepKind{run: runTLBFlush, foot: footTLBFlush, footTag: tagMMU}
	stepKinds[kernel.OpVMUpdate] = stepKind{run: runVMUpdate, foot: footVMUpdate, footTag: tagMMU}
	stepKinds[kernel.OpWritePTE] = stepKind{run: nil, foot: footPrivate}
	stepKinds[kernel.OpZapPTEs] = stepKind{run: runZapPTEs, foot: footZapPTEs, footTag: tagMMU}
}

// ptSite records the step that last wrote (or zapped) obj's PTEs in vm
// ("" obj: every PTE of vm), so that a golden-rule finding shows where
// the reachable PTE came from; what, concatenated, says what it did.
// The record is rebuilt only when it changes: in direct reclaim the same
// zap runs at every allocation site.
func (s *sim) ptSite(t *thread, o *kernel.Op, vm, obj string, what ...string) {
	if s.ptSites == nil {
		s.ptSites = map[ptKey]*diag.Step{}
	}
	cell := s.ptSites[ptKey{vm, obj}]
	if cell == nil {
		cell = &diag.Step{}
		s.ptSites[ptKey{vm, obj}] = cell
	}
	if cell.Pos != o.Pos || cell.Context != t.context || cell.Path != o.InPath() || !isSiteMessage(cell.Message, o.Text, what) {
		*cell = diag.Step{File: s.p.File, Pos: o.Pos, Path: o.InPath(), Context: t.context, Message: o.Text + ": " + strings.Join(what, "")}
	}
	if s.memoOn && s.memo.part >= 0 && s.memo.t == t {
		s.memo.sites = append(s.memo.sites, siteWrite{cell, *cell}) // reclaimmemo.go
	}
}

// ptKey names a VM's PTEs of one object ("" obj: all of them).
type ptKey struct{ vm, obj string }

// isSiteMessage says whether msg is text, ": " and the parts of what,
// without building it.
func isSiteMessage(msg, text string, what []string) bool {
	if !strings.HasPrefix(msg, text) {
		return false
	}
	msg = msg[len(text):]
	if !strings.HasPrefix(msg, ": ") {
		return false
	}
	msg = msg[2:]
	for _, w := range what {
		if !strings.HasPrefix(msg, w) {
			return false
		}
		msg = msg[len(w):]
	}
	return msg == ""
}
