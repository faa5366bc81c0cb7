package exec

import (
	"math/rand/v2"
	"testing"
)

// TestIdSet checks the run queue's ordered set against a plain slice of
// booleans under random inserts and deletes, across capacity growth.
func TestIdSet(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	var s idSet
	var ref []bool
	for step := 0; step < 20000; step++ {
		id := rng.IntN(300)
		for len(ref) <= id {
			ref = append(ref, false)
		}
		if rng.IntN(3) == 0 {
			s.remove(id)
			ref[id] = false
		} else {
			s.add(id)
			ref[id] = true
		}
		var members []int
		for i, in := range ref {
			if in {
				members = append(members, i)
			}
		}
		if s.n != len(members) {
			t.Fatalf("step %d: n = %d, want %d", step, s.n, len(members))
		}
		if step%97 != 0 {
			continue
		}
		if len(members) > 0 && s.first() != members[0] {
			t.Fatalf("step %d: first() = %d, want %d", step, s.first(), members[0])
		}
		for k, m := range members {
			if got := s.kth(k); got != m {
				t.Fatalf("step %d: kth(%d) = %d, want %d", step, k, got, m)
			}
			if !s.has(m) {
				t.Fatalf("step %d: has(%d) = false", step, m)
			}
		}
	}
}
