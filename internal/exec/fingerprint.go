package exec

import (
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
	h.int(len(s.locks))
	h.mapSum(func(add func(stateHash)) {
		for k, l := range s.locks {
			e := newStateHash()
			e.str(k)
			e.int(l.writer)
			e.int(l.ticket)
			e.int(len(l.readers))
			e.mapSum(func(add func(stateHash)) {
				for id, n := range l.readers {
					r := newStateHash()
					r.int(id)
					r.int(n)
					add(r)
				}
			})
			add(e)
		}
	})
	fpBools(&h, s.fences)
	fpBools(&h, s.unmapped)
	fpBools(&h, s.reported)
	fpBools(&h, s.pinnedFree)
	fpBools(&h, s.everSignalled)
	fpInts(&h, s.inval)
	fpInts(&h, s.seq)
	fpInts(&h, s.slots)
	fpInts(&h, s.refCount)
	fpInts(&h, s.nameCount)
	fpInts(&h, s.faultActive)
	fpInts(&h, s.mem.Pinned)
	fpBools(&h, s.mem.Freed)
	fpInt64s(&h, s.lastSeq)
	fpInt64s(&h, s.seqno)
	fpInt64s(&h, s.entitySq)
	fpLists(&h, s.entityQ)
	fpLists(&h, s.mappedIn)
	h.mapSum(func(add func(stateHash)) {
		for k, es := range s.resv {
			e := newStateHash()
			e.str(k)
			e.int(len(es))
			for _, x := range es {
				e.str(x.fence)
				e.str(x.usage)
			}
			add(e)
		}
	})
	h.mapSum(func(add func(stateHash)) {
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
			add(e)
		}
	})
	h.mapSum(func(add func(stateHash)) {
		for k, en := range s.engines {
			e := newStateHash()
			e.str(k)
			e.int(int(en.Left))
			e.int(len(en.Queue))
			for _, j := range en.Queue {
				e.str(j)
			}
			add(e)
		}
	})
	h.mapSum(func(add func(stateHash)) {
		for k, v := range s.vms {
			e := newStateHash()
			e.str(k)
			e.int(len(v.PTEs))
			e.mapSum(func(add func(stateHash)) {
				for o, st := range v.PTEs {
					p := newStateHash()
					p.str(o)
					p.int(int(st))
					add(p)
				}
			})
			e.int(len(v.Tree))
			for _, mp := range v.Tree {
				e.int(int(mp.Start))
				e.int(int(mp.End))
				e.str(mp.Obj)
			}
			add(e)
		}
	})
	h.mapSum(func(add func(stateHash)) {
		for pos, ok := range s.reclaimed {
			if ok {
				e := newStateHash()
				e.pos(pos)
				add(e)
			}
		}
	})
	// Wait queues: who is woken first is state.
	h.mapSum(func(add func(stateHash)) {
		for k, q := range s.lockWaiters {
			add(fpQueue("l", k, q))
		}
		for k, q := range s.fenceWaiters {
			add(fpQueue("f", k, q))
		}
		for k, q := range s.otherWaiters {
			add(fpQueue("o"+k.kind, k.name, q))
		}
	})
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
		fpOp(h, &b.op)
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
	fpInts(h, t.tickets)
	fpInts(h, t.ctxPC)
	fpInts(h, t.scopes)
	h.mapSum(func(add func(stateHash)) {
		for k, r := range t.readBegin {
			e := newStateHash()
			e.str(k)
			e.int(r.frame)
			e.int(r.pc)
			e.int(r.held)
			e.int(r.seq)
			add(e)
		}
	})
	h.int(len(t.invalActive))
	for _, u := range t.invalActive {
		h.str(u)
	}
}

func fpOp(h *stateHash, o *kernel.Op) {
	h.int(int(o.Kind))
	h.pos(o.Pos)
	h.str(o.Text)
	h.str(o.InPath)
	h.str(o.Lock)
	h.str(o.Obj)
	h.str(o.Inst)
	h.str(o.Fence)
	h.int(int(o.Mode))
	h.bool(o.Synthetic)
	h.int(len(o.Then))
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

func fpBools(h *stateHash, m map[string]bool) {
	h.mapSum(func(add func(stateHash)) {
		for k, v := range m {
			e := newStateHash()
			e.str(k)
			e.bool(v)
			add(e)
		}
	})
}

func fpInts(h *stateHash, m map[string]int) {
	h.mapSum(func(add func(stateHash)) {
		for k, v := range m {
			e := newStateHash()
			e.str(k)
			e.int(v)
			add(e)
		}
	})
}

func fpInt64s(h *stateHash, m map[string]int64) {
	h.mapSum(func(add func(stateHash)) {
		for k, v := range m {
			e := newStateHash()
			e.str(k)
			e.int(int(v))
			add(e)
		}
	})
}

func fpLists(h *stateHash, m map[string][]string) {
	h.mapSum(func(add func(stateHash)) {
		for k, v := range m {
			e := newStateHash()
			e.str(k)
			e.int(len(v))
			for _, x := range v {
				e.str(x)
			}
			add(e)
		}
	})
}

// stateHash is a pair of 64-bit hashes over the same byte stream: FNV-1a and a
// multiply-rotate hash with another constant.
type stateHash struct{ a, b uint64 }

func newStateHash() stateHash { return stateHash{a: 14695981039346656037, b: 0x9e3779b97f4a7c15} }

func (h *stateHash) byte1(c byte) {
	h.a = (h.a ^ uint64(c)) * 1099511628211
	h.b = bits.RotateLeft64((h.b^uint64(c))*0xff51afd7ed558ccd, 29)
}

func (h *stateHash) int(v int) {
	u := uint64(v)
	for i := 0; i < 8; i++ {
		h.byte1(byte(u >> (8 * i)))
	}
}

func (h *stateHash) bool(v bool) {
	if v {
		h.byte1(1)
	} else {
		h.byte1(0)
	}
}

// str hashes s with its length, so that concatenations differ.
func (h *stateHash) str(s string) {
	h.int(len(s))
	for i := 0; i < len(s); i++ {
		h.byte1(s[i])
	}
}

func (h *stateHash) pos(p model.Pos) {
	h.int(p.Line)
	h.int(p.Col)
}

// mapSum hashes a map's entries in any order: the sums of the entries'
// own hashes, then their count.
func (h *stateHash) mapSum(each func(add func(stateHash))) {
	var sa, sb uint64
	n := 0
	each(func(e stateHash) {
		sa += e.a
		sb += e.b
		n++
	})
	h.int(int(sa))
	h.int(int(sb))
	h.int(n)
}
