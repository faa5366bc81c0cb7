package exec

import (
	"fmt"
	"slices"
	"strings"

	"github.com/fencecheck/fencecheck/internal/kernel"
)

// checkInvariants verifies, after a step, that the machine state is
// consistent (Options.Invariants; the property tests turn it on):
//
//   - every lock state's owner and readers hold that instance, and every
//     hold of a real instance is recorded in its lock state;
//   - no thread holds one instance for write twice;
//   - reserved slots are never negative and resv slots only name known
//     fences; a signalled fence stays signalled;
//   - the step before was a release only if the named instance is held
//     once less (checked by the release itself, see released).
func (s *sim) checkInvariants(step int) {
	bad := func(format string, args ...any) {
		if len(s.violations) < 32 {
			s.violations = append(s.violations, fmt.Sprintf("schedule %d step %d: ", s.k, step)+fmt.Sprintf(format, args...))
		}
	}
	holds := map[string]map[int]int{} // instance -> thread -> write holds
	reads := map[string]map[int]int{}
	for _, t := range s.threads {
		if t.done && len(t.held) > 0 {
			bad("thread %s finished holding %d locks", t.name, len(t.held))
		}
		for _, h := range t.held {
			if h.inst == "" {
				continue
			}
			m := holds
			if h.mode != kernel.Write {
				m = reads
			}
			if m[h.inst] == nil {
				m[h.inst] = map[int]int{}
			}
			m[h.inst][t.id]++
		}
	}
	for inst, by := range holds {
		l := s.locks[inst]
		for id, n := range by {
			if n > 1 {
				bad("thread %s holds %s for write %d times", s.threads[id].name, inst, n)
			}
			if l == nil || l.writer != id {
				bad("thread %s holds %s but the lock's owner is %v", s.threads[id].name, inst, ownerOf(l))
			}
		}
	}
	for _, inst := range sortedKeys(s.locks) {
		l := s.locks[inst]
		if l.writer >= 0 && holds[inst][l.writer] == 0 {
			bad("%s is owned by thread %s, which does not hold it", inst, s.threads[l.writer].name)
		}
		if l.writer >= 0 && len(l.readers) > 0 {
			bad("%s has a writer and readers", inst)
		}
		for id, n := range l.readers {
			if reads[inst][id] != n {
				bad("%s records %d read holds by %s, which holds it %d times", inst, n, s.threads[id].name, reads[inst][id])
			}
		}
	}
	for obj, n := range s.slots {
		if n < 0 {
			bad("resv %s has %d reserved slots", obj, n)
		}
	}
	for obj, es := range s.resv {
		for _, e := range es {
			if _, ok := s.p.Fences[e.fence]; !ok {
				bad("resv %s holds unknown fence %q", obj, e.fence)
			}
		}
	}
	for f := range s.everSignalled {
		if !s.fences[f] {
			bad("fence %s was signalled and is not any more", f)
		}
	}
	for f, ok := range s.fences {
		if ok {
			if s.everSignalled == nil {
				s.everSignalled = map[string]bool{}
			}
			s.everSignalled[f] = true
		}
	}
}

func ownerOf(l *lockState) any {
	if l == nil {
		return "nobody"
	}
	if l.writer < 0 {
		return "nobody"
	}
	return l.writer
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// released checks that a release step dropped the instance it names.
func (s *sim) released(t *thread, key string, before int) {
	if !s.opt.Invariants {
		return
	}
	after := 0
	for _, h := range t.held {
		if h.key == key || strings.HasPrefix(h.key, key+"/") {
			after++
		}
	}
	if before > 0 && after != before-1 {
		s.violations = append(s.violations, fmt.Sprintf("schedule %d: thread %s released %s: held %d times before, %d after", s.k, t.name, key, before, after))
	}
}
