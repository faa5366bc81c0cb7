package exec

import (
	"cmp"
	"slices"
)

// ReclaimDesign is reclaimDesign for the external tests.
var ReclaimDesign = reclaimDesign

// SettledFingerprint is Fingerprint up to what two orders of the same
// independent steps may legitimately leave different, and nothing can
// observe:
//
//   - whether a thread was last found unable to run, and on which wait
//     queue it sits: Enabled() parks the threads that would block in the
//     state it is asked about, so one order may leave a thread parked that
//     the other has not tried yet (drop and signal wake every waiter, so
//     queue order decides nothing);
//   - the order in which threads were spawned (two schedulers starting a
//     job each): threads are compared by name and instance, as the
//     explorer names them (Transition.Actor);
//   - ww ticket values when no acquire context can ever compare them
//     (ticketsCompared).
//
// It changes the machine: call it last.
func (m *Machine) SettledFingerprint() [2]uint64 {
	s := m.s
	for _, t := range s.threads {
		t.blocked, t.parked, t.woken = nil, false, false
	}
	clear(s.lockWaiters)
	clear(s.fenceWaiters)
	clear(s.otherWaiters)
	slices.SortStableFunc(s.threads, func(a, b *thread) int {
		return cmp.Or(cmp.Compare(a.name, b.name), cmp.Compare(a.ord, b.ord))
	})
	newID := map[int]int{}
	for i, t := range s.threads {
		newID[t.id] = i
		t.id = i
	}
	for _, l := range s.locks {
		if l.writer >= 0 {
			l.writer = newID[l.writer]
		}
		readers := map[int]int{}
		for id, n := range l.readers {
			readers[newID[id]] = n
		}
		l.readers = readers
	}
	if !s.ticketsCompared {
		s.ticket = 0
		for _, t := range s.threads {
			for c := range t.tickets {
				t.tickets[c] = 0
			}
		}
		for _, l := range s.locks {
			l.ticket = min(l.ticket, 1)
		}
	}
	return m.Fingerprint()
}
