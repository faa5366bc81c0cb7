package hw

import "slices"

// MMU is the GPU's view of memory in one execution: every VM's page tables
// and TLB, which VMs' page tables ever mapped each object (the reverse map
// the golden rule walks before pages are freed), and the pages themselves.
// The executor asks it what a zap, a flush or a free would find; the
// state is its own.
type MMU struct {
	vms      map[string]*VM
	names    []string            // VM names, sorted
	mappedIn map[string][]string // object -> VMs that mapped it, sorted
	Mem      *Memory
	// ver changes whenever the VMs, their PTEs and TLBs or the reverse
	// map do (Version).
	ver uint64
}

func NewMMU() *MMU {
	return &MMU{vms: map[string]*VM{}, mappedIn: map[string][]string{}, Mem: NewMemory()}
}

// VM returns the named VM, creating its (empty) page tables on first use.
func (m *MMU) VM(name string) *VM {
	v := m.vms[name]
	if v == nil {
		v = NewVM(name)
		m.vms[name] = v
		m.ver++
		i, _ := slices.BinarySearch(m.names, name)
		m.names = slices.Insert(m.names, i, name)
	}
	return v
}

// Version changes whenever a VM is created, a PTE is written, zapped or
// flushed from a TLB, or an object is first mapped in a VM: what the
// executor derives from the page tables alone (what a zap or a flush
// would find) holds while it is the same. A VM's VA tree (VM.Update) is
// not counted.
func (m *MMU) Version() uint64 { return m.ver }

// Lookup returns the named VM, or nil if nothing ever used it.
func (m *MMU) Lookup(name string) *VM { return m.vms[name] }

// Names lists the VMs in use, sorted.
func (m *MMU) Names() []string { return m.names }

// MappedIn lists the VMs whose page tables ever mapped obj, sorted.
func (m *MMU) MappedIn(obj string) []string { return m.mappedIn[obj] }

// EachMapped calls fn for every object some VM mapped (in no order).
func (m *MMU) EachMapped(fn func(obj string, vms []string)) {
	for o, v := range m.mappedIn {
		fn(o, v)
	}
}

// Map writes obj's PTEs in vm.
func (m *MMU) Map(vm, obj string) {
	m.VM(vm).Map(obj)
	m.ver++
	if !slices.Contains(m.mappedIn[obj], vm) {
		i, _ := slices.BinarySearch(m.mappedIn[obj], vm)
		m.mappedIn[obj] = slices.Insert(m.mappedIn[obj], i, vm)
	}
}

// ZapVM clears every PTE of a VM; ZapObject clears obj's PTEs in every VM
// that mapped it. The TLB keeps the zapped entries until a flush.
func (m *MMU) ZapVM(vm string) {
	if m.VM(vm).Zap("") {
		m.ver++
	}
}

func (m *MMU) ZapObject(obj string) {
	for _, name := range m.mappedIn[obj] {
		if m.vms[name].Zap(obj) {
			m.ver++
		}
	}
}

// FlushVM flushes one VM's TLB; FlushAll every VM's.
func (m *MMU) FlushVM(vm string) {
	if m.VM(vm).Flush() {
		m.ver++
	}
}

func (m *MMU) FlushAll() {
	for _, name := range m.names {
		if m.vms[name].Flush() {
			m.ver++
		}
	}
}

// ZapClears says whether zapping (the VM, or the object everywhere) would
// clear a mapped PTE now.
func (m *MMU) ZapClears(name string, isVM bool) bool {
	if isVM {
		return m.vms[name] != nil && m.vms[name].Has(Mapped, "")
	}
	for _, vm := range m.mappedIn[name] {
		if m.vms[vm] != nil && m.vms[vm].Has(Mapped, name) {
			return true
		}
	}
	return false
}

// FlushDrops says whether flushing (the VM, or every VM) would drop a
// zapped entry now.
func (m *MMU) FlushDrops(name string, isVM bool) bool {
	if isVM {
		return m.vms[name] != nil && m.vms[name].Has(Zapped, "")
	}
	for _, v := range m.vms {
		if v.Has(Zapped, "") {
			return true
		}
	}
	return false
}

// Reach says, per VM that mapped obj, why the GPU may still reach its
// pages (a live PTE, or a zapped one still in the TLB); empty if it
// cannot. The golden rule (R20) forbids freeing pages it can reach.
func (m *MMU) Reach(obj string) (vms, why []string) {
	for _, name := range m.mappedIn[obj] {
		if w := m.vms[name].Reachable(obj); w != "" {
			vms, why = append(vms, name), append(why, w)
		}
	}
	return vms, why
}
