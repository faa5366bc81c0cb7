package hw

import (
	"reflect"
	"testing"
)

// TestVMUpdateSplitMerge follows gpuvm's split semantics: a map over part of
// an existing mapping leaves prev/next remainders; an unmap in the middle
// splits one mapping into two; remap replaces the range.
func TestVMUpdateSplitMerge(t *testing.T) {
	v := NewVM("vm")
	v.Update("map", 0x0, 0x4000, "bo1")
	v.Update("map", 0x1000, 0x2000, "bo2")
	want := []Mapping{{0x0, 0x1000, "bo1"}, {0x1000, 0x2000, "bo2"}, {0x2000, 0x4000, "bo1"}}
	if !reflect.DeepEqual(v.Tree, want) {
		t.Fatalf("map split: got %+v want %+v", v.Tree, want)
	}
	v.Update("unmap", 0x800, 0x3000, "")
	want = []Mapping{{0x0, 0x800, "bo1"}, {0x3000, 0x4000, "bo1"}}
	if !reflect.DeepEqual(v.Tree, want) {
		t.Fatalf("unmap: got %+v want %+v", v.Tree, want)
	}
	v.Update("remap", 0x0, 0x4000, "bo3")
	want = []Mapping{{0x0, 0x4000, "bo3"}}
	if !reflect.DeepEqual(v.Tree, want) {
		t.Fatalf("remap: got %+v want %+v", v.Tree, want)
	}
	// Merge: mapping the same object next to itself extends the gpuva.
	v.Update("map", 0x4000, 0x6000, "bo3")
	want = []Mapping{{0x0, 0x6000, "bo3"}}
	if !reflect.DeepEqual(v.Tree, want) {
		t.Fatalf("merge: got %+v want %+v", v.Tree, want)
	}
	// ... but not next to another object.
	v.Update("map", 0x6000, 0x7000, "bo4")
	if len(v.Tree) != 2 {
		t.Fatalf("different objects must not merge: %+v", v.Tree)
	}
}

func TestPTEAndTLB(t *testing.T) {
	v := NewVM("vm")
	v.Map("bo")
	if v.Reachable("bo") == "" {
		t.Fatal("mapped object must be reachable")
	}
	v.Zap("bo")
	if v.Reachable("bo") == "" {
		t.Fatal("zapped but unflushed object must still be reachable through the TLB")
	}
	v.Flush()
	if r := v.Reachable("bo"); r != "" {
		t.Fatalf("after the flush nothing reaches it, got %q", r)
	}
}

func TestEngineInOrder(t *testing.T) {
	e := &Engine{Name: "gfx"}
	e.Push("a", 1)
	e.Push("b", 1)
	if e.Head() != "a" || e.Pop(func(string) int64 { return 1 }) != "a" || e.Head() != "b" {
		t.Fatal("engine must complete jobs in push order")
	}
}

// TestMMUGoldenRuleReach: a mapped object is reachable until its PTEs are
// zapped and the TLB flushed (R20); zap and flush say beforehand whether
// they would change anything, and the reverse map names every VM.
func TestMMUGoldenRuleReach(t *testing.T) {
	m := NewMMU()
	if vms, _ := m.Reach("bo"); len(vms) != 0 || m.ZapClears("bo", false) || m.FlushDrops("bo", false) {
		t.Fatalf("an unmapped object is reachable or zappable")
	}
	m.Map("vm2", "bo")
	m.Map("vm1", "bo")
	m.Map("vm1", "bo")
	if got := m.MappedIn("bo"); !reflect.DeepEqual(got, []string{"vm1", "vm2"}) {
		t.Fatalf("reverse map %v", got)
	}
	vms, why := m.Reach("bo")
	if !reflect.DeepEqual(vms, []string{"vm1", "vm2"}) || why[0] != "a GPU PTE in vm1 still maps it" {
		t.Fatalf("reach after map: %v %v", vms, why)
	}
	if !m.ZapClears("bo", false) || m.FlushDrops("bo", false) {
		t.Fatal("a mapped object: a zap clears, a flush drops nothing")
	}
	m.ZapObject("bo")
	if vms, why := m.Reach("bo"); len(vms) != 2 || why[1] != "its PTEs in vm2 are zapped but the TLB has not been flushed" {
		t.Fatalf("reach after zap: %v %v", vms, why)
	}
	if m.ZapClears("bo", false) || !m.FlushDrops("vm1", true) {
		t.Fatal("zapped: a second zap clears nothing, a flush drops the entry")
	}
	m.FlushVM("vm1")
	if vms, _ := m.Reach("bo"); !reflect.DeepEqual(vms, []string{"vm2"}) {
		t.Fatalf("after flushing vm1: %v", vms)
	}
	m.FlushAll()
	if vms, _ := m.Reach("bo"); len(vms) != 0 || m.FlushDrops("bo", false) {
		t.Fatalf("after flushing every VM: %v", vms)
	}
}

// TestEnginesQueueInOrder: jobs complete in queue order, busy lists the
// engines with queued work, and fault handlers are counted per device.
func TestEnginesQueueInOrder(t *testing.T) {
	g := NewEngines()
	g.Push("copy", "j1", 1)
	g.Push("copy", "j2", 1)
	g.Push("gfx", "j3", 1)
	if !reflect.DeepEqual(g.Busy(), []string{"copy", "gfx"}) || !reflect.DeepEqual(g.Names(), []string{"copy", "gfx"}) {
		t.Fatalf("busy %v names %v", g.Busy(), g.Names())
	}
	dur := func(string) int64 { return 1 }
	if j := g.Pop("copy", dur); j != "j1" || g.Lookup("copy").Head() != "j2" {
		t.Fatalf("popped %s, head %s", j, g.Lookup("copy").Head())
	}
	g.Pop("copy", dur)
	if !reflect.DeepEqual(g.Busy(), []string{"gfx"}) || g.Pop("copy", dur) != "" || g.Pop("none", dur) != "" {
		t.Fatalf("an empty engine is still busy or pops: %v", g.Busy())
	}
	g.FaultStart("gpu")
	if !g.Faulting("gpu") || g.Faulting("other") {
		t.Fatal("fault count")
	}
	g.FaultEnd("gpu")
	if g.Faulting("gpu") {
		t.Fatal("fault count after the handler ends")
	}
}

// TestMMUVersion: Version moves exactly when what a zap or flush would
// find can have changed (a VM created, PTEs written, zapped or flushed),
// and not for a zap or flush that finds nothing or a VA-tree update; the
// executor keeps page-table footprints while it stands still.
func TestMMUVersion(t *testing.T) {
	m := NewMMU()
	steps := []struct {
		what  string
		do    func()
		moves bool
	}{
		{"create vm", func() { m.VM("vm") }, true},
		{"look up vm again", func() { m.VM("vm") }, false},
		{"zap an empty vm", func() { m.ZapVM("vm") }, false},
		{"flush an empty vm", func() { m.FlushVM("vm") }, false},
		{"map bo", func() { m.Map("vm", "bo") }, true},
		{"VA tree update", func() { m.VM("vm").Update("map", 0, 0x1000, "bo") }, false},
		{"zap bo", func() { m.ZapObject("bo") }, true},
		{"zap bo again", func() { m.ZapObject("bo") }, false},
		{"flush every vm", func() { m.FlushAll() }, true},
		{"flush every vm again", func() { m.FlushAll() }, false},
		{"map bo again", func() { m.Map("vm", "bo") }, true},
		{"zap the vm", func() { m.ZapVM("vm") }, true},
		{"flush the vm", func() { m.FlushVM("vm") }, true},
		{"flush the vm again", func() { m.FlushVM("vm") }, false},
	}
	for _, s := range steps {
		before := m.Version()
		s.do()
		if moved := m.Version() != before; moved != s.moves {
			t.Errorf("%s: Version moved %v, want %v", s.what, moved, s.moves)
		}
	}
}
