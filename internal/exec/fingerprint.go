package exec

import (
	"hash/maphash"
	"math/bits"

	"github.com/fencecheck/fencecheck/internal/kernel"
	"github.com/fencecheck/fencecheck/internal/model"
)

// Fingerprint hashes the state of the execution: everything that decides
// what can happen next and what will be reported (the threads with their
// frames, held locks and marks, every lock, fence, resv, job, engine, page
// table, page, sequence and invalidation count, the findings already
// reported, the step count). Two executions with equal fingerprints
// continue identically, so the explorer need explore the rest of only one
// of them (state caching, explore.go). What only names or caches state
// (the trace, the run queue's bookkeeping, memoised footprints) is left
// out.
//
// The hash is 128 bits (two 64-bit hashes over the same bytes); maps are
// hashed order-independently as the sum of their entries' hashes.
func (m *Machine) Fingerprint() [2]uint64 {
	s := m.s
	h := newStateHash()
	h.int(m.step)
	h.bool(m.done)
	h.bool(m.fellBack)
	h.int(len(s.threads))
	for _, t := range s.threads {
		s.fpThread(&h, t)
	}
	// Only held locks: s.locks gains a free entry whenever a lock is
	// looked at first (lockOf), so whether a free lock has an entry
	// depends on the order of steps that did not take it.
	var locks mapSum
	for k, l := range s.locks {
		if l.writer < 0 && l.ticket == 0 && len(l.readers) == 0 {
			continue
		}
		e := newStateHash()
		e.str(k)
		e.int(l.writer)
		e.int(l.ticket)
		var readers mapSum
		for id, n := range l.readers {
			r := newStateHash()
			r.int(id)
			r.int(n)
			readers.add(r)
		}
		e.sum(readers)
		locks.add(e)
	}
	h.sum(locks)
	fpMap(&h, s.fences, fpBool)
	fpMap(&h, s.unmapped, fpBool)
	fpMap(&h, s.reported, fpBool)
	fpMap(&h, s.pinnedFree, fpBool)
	var sites mapSum
	for k, st := range s.ptSites {
		e := newStateHash()
		e.str(k.vm)
		e.str(k.obj)
		// Which step (position and message), not the context or path
		// it ran in: the record is the last writer's, and two zaps that
		// change nothing (or clear the same entry) are declared
		// independent, so orders that differ only in which context's zap
		// wrote last are one state here. Golden-rule chains may then name
		// either context; the finding is the same.
		e.pos(st.Pos)
		e.str(st.Message)
		sites.add(e)
	}
	h.sum(sites)
	fpMap(&h, s.everSignalled, fpBool)
	fpMap(&h, s.inval, fpInt)
	fpMap(&h, s.seq, fpInt)
	fpMap(&h, s.slots, fpInt)
	fpMap(&h, s.refCount, fpInt)
	fpMap(&h, s.nameCount, fpInt)
	fpMap(&h, s.gpu.Faults(), fpInt)
	fpMap(&h, s.mmu.Mem.Pinned, fpInt)
	fpMap(&h, s.mmu.Mem.Freed, fpBool)
	fpMap(&h, s.lastSeq, fpInt64)
	fpMap(&h, s.seqno, fpInt64)
	fpMap(&h, s.entitySq, fpInt64)
	fpMap(&h, s.entityQ, fpList)
	var mapped mapSum
	s.mmu.EachMapped(func(obj string, vms []string) {
		e := newStateHash()
		e.str(obj)
		e.int(len(vms))
		for _, v := range vms {
			e.str(v)
		}
		mapped.add(e)
	})
	h.sum(mapped)
	var resvs mapSum
	for k, es := range s.resv {
		e := newStateHash()
		e.str(k)
		e.int(len(es))
		for _, x := range es {
			e.str(x.fence)
			e.str(x.usage)
		}
		resvs.add(e)
	}
	h.sum(resvs)
	var jobs mapSum
	for k, js := range s.jobs {
		e := newStateHash()
		e.str(k)
		e.bool(js.submitted)
		e.bool(js.started)
		e.bool(js.onEngine)
		e.bool(js.done)
		e.bool(js.timedOut)
		e.int(-1)
		if js.runThread != nil {
			e.int(js.runThread.id)
		}
		jobs.add(e)
	}
	h.sum(jobs)
	var engines mapSum
	for _, k := range s.gpu.Names() {
		en := s.gpu.Lookup(k)
		e := newStateHash()
		e.str(k)
		e.int(int(en.Left))
		e.int(len(en.Queue))
		for _, j := range en.Queue {
			e.str(j)
		}
		engines.add(e)
	}
	h.sum(engines)
	var vms mapSum
	for _, k := range s.mmu.Names() {
		v := s.mmu.Lookup(k)
		e := newStateHash()
		e.str(k)
		e.int(len(v.PTEs))
		var ptes mapSum
		for o, st := range v.PTEs {
			p := newStateHash()
			p.str(o)
			p.int(int(st))
			ptes.add(p)
		}
		e.sum(ptes)
		e.int(len(v.Tree))
		for _, mp := range v.Tree {
			e.int(int(mp.Start))
			e.int(int(mp.End))
			e.str(mp.Obj)
		}
		vms.add(e)
	}
	h.sum(vms)
	var reclaimed mapSum
	for pos, ok := range s.reclaimed {
		if ok {
			e := newStateHash()
			e.pos(pos)
			reclaimed.add(e)
		}
	}
	h.sum(reclaimed)
	// Wait queues: who is woken first is state.
	var queues mapSum
	for k, q := range s.lockWaiters {
		queues.add(fpQueue("l", k, q))
	}
	for k, q := range s.fenceWaiters {
		queues.add(fpQueue("f", k, q))
	}
	for k, q := range s.otherWaiters {
		queues.add(fpQueue("o"+k.kind, k.name, q))
	}
	h.sum(queues)
	h.bool(s.pressure)
	h.int(s.ticket)
	return [2]uint64{h.a, h.b}
}

func (s *sim) fpThread(h *stateHash, t *thread) {
	h.str(t.name)
	h.int(t.ord)
	h.str(t.context)
	h.bool(t.atomic)
	h.bool(t.done)
	h.bool(t.parked)
	h.bool(t.faultStarted)
	h.str(t.worker)
	h.str(t.job)
	h.str(t.role)
	h.str(t.slow)
	if b := t.blocked; b != nil {
		h.str(b.kind)
		h.str(b.inst)
		h.str(b.fence)
		fpOp(h, b.op)
	} else {
		h.str("-")
	}
	h.int(len(t.frames))
	for _, f := range t.frames {
		if !f.hashed {
			g := newStateHash()
			g.int(len(f.ops))
			for i := range f.ops {
				fpOp(&g, &f.ops[i])
			}
			f.hash, f.hashed = [2]uint64{g.a, g.b}, true
		}
		h.int(int(f.hash[0]))
		h.int(int(f.hash[1]))
		h.int(f.pc)
		h.bool(f.reclaim)
		h.str(f.why)
		h.pos(f.origin)
	}
	h.int(len(t.held))
	for _, x := range t.held {
		h.str(x.key)
		h.str(x.inst)
		h.str(x.name)
		h.int(int(x.mode))
		h.str(x.ctx)
		h.bool(x.section)
		h.str(x.fence)
		h.pos(x.pos)
		h.str(x.path)
	}
	fpMap(h, t.tickets, fpInt)
	fpMap(h, t.ctxPC, fpInt)
	fpMap(h, t.scopes, fpInt)
	var marks mapSum
	for k, r := range t.readBegin {
		e := newStateHash()
		e.str(k)
		e.int(r.frame)
		e.int(r.pc)
		e.int(r.held)
		e.int(r.seq)
		marks.add(e)
	}
	h.sum(marks)
	h.int(len(t.invalActive))
	for _, u := range t.invalActive {
		h.str(u)
	}
}

func fpOp(h *stateHash, o *kernel.Op) {
	h.int(int(o.Kind))
	h.pos(o.Pos)
	h.str(o.Text)
	h.str(o.InPath())
	h.str(o.Lock)
	h.str(o.Ext().Obj)
	h.str(o.Inst)
	h.str(o.Ext().Fence)
	h.int(int(o.Mode))
	h.bool(o.Synthetic)
	h.int(len(o.Ext().Then))
}

func fpQueue(kind, name string, q []*thread) stateHash {
	e := newStateHash()
	e.str(kind)
	e.str(name)
	e.int(len(q))
	for _, t := range q {
		e.int(t.id)
	}
	return e
}

// fpMap hashes a string-keyed map in any order: each entry is its key
// and its value (hashed by val), summed (mapSum).
func fpMap[V any](h *stateHash, m map[string]V, val func(*stateHash, V)) {
	var acc mapSum
	for k, v := range m {
		e := newStateHash()
		e.str(k)
		val(&e, v)
		acc.add(e)
	}
	h.sum(acc)
}

func fpBool(h *stateHash, v bool)   { h.bool(v) }
func fpInt(h *stateHash, v int)     { h.int(v) }
func fpInt64(h *stateHash, v int64) { h.int(int(v)) }
func fpList(h *stateHash, v []string) {
	h.int(len(v))
	for _, x := range v {
		h.str(x)
	}
}

// stateHash is a pair of 64-bit hashes over the same words, with
// different multipliers; strings enter as their maphash under two seeds
// fixed per process (fingerprints are compared within one process only).
type stateHash struct{ a, b uint64 }

var seedA, seedB = maphash.MakeSeed(), maphash.MakeSeed()

func newStateHash() stateHash { return stateHash{a: 14695981039346656037, b: 0x9e3779b97f4a7c15} }

func (h *stateHash) word(x, y uint64) {
	h.a = bits.RotateLeft64(h.a^(x*0x9e3779b97f4a7c15), 31) * 0xbf58476d1ce4e5b9
	h.b = bits.RotateLeft64(h.b^(y*0xc2b2ae3d27d4eb4f), 29)*0x94d049bb133111eb + 1
}

func (h *stateHash) int(v int) { h.word(uint64(v), uint64(v)) }

func (h *stateHash) bool(v bool) {
	if v {
		h.int(1)
	} else {
		h.int(0)
	}
}

func (h *stateHash) str(s string) {
	h.word(maphash.String(seedA, s), maphash.String(seedB, s))
}

func (h *stateHash) pos(p model.Pos) { h.int(p.Line<<20 ^ p.Col) }

// mapSum hashes a map's entries in any order: the sums of the entries'
// own hashes, and their count.
type mapSum struct {
	a, b uint64
	n    int
}

func (m *mapSum) add(e stateHash) {
	m.a += e.a
	m.b += e.b
	m.n++
}

func (h *stateHash) sum(m mapSum) {
	h.word(m.a, m.b)
	h.int(m.n)
}
