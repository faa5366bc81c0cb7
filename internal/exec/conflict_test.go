package exec_test

import (
	"math/rand/v2"
	"testing"

	"github.com/fencecheck/fencecheck/internal/exec"
)

// TestConflict: writes conflict with every access of their key, reads with
// writes and updates, updates with writes and reads; two reads or two
// updates commute, and different keys never conflict.
func TestConflict(t *testing.T) {
	cases := []struct {
		x, y string
		want bool
	}{
		{"k", "k", true}, {"k", "?k", true}, {"k", "+k", true},
		{"?k", "?k", false}, {"+k", "+k", false},
		{"?k", "+k", true}, {"+k", "?k", true},
		{"k", "j", false}, {"?k", "+j", false}, {"+k", "j", false},
	}
	for _, c := range cases {
		if got := exec.Conflict(c.x, c.y); got != c.want {
			t.Errorf("Conflict(%q, %q) = %v, want %v", c.x, c.y, got, c.want)
		}
	}
	a := exec.Transition{Actor: "a", Foot: []string{"+inval", "?seq:u"}}
	b := exec.Transition{Actor: "b", Foot: []string{"+inval", "+seq:u"}}
	if !exec.Dependent(a, b) {
		t.Error("a read and an update of seq:u must be dependent")
	}
	b.Foot = []string{"+inval"}
	if exec.Dependent(a, b) {
		t.Error("two updates of inval must be independent")
	}
	if !exec.Dependent(a, exec.Transition{Actor: "c"}) {
		t.Error("a nil footprint depends on everything")
	}
}

// TestDependentIsAnyConflict: Dependent is exactly "some pair of entries
// conflicts", on random footprints over a few keys and access modes
// (including empty keys and footprints).
func TestDependentIsAnyConflict(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	keys := []string{"", "k", "j", "lock:a", "lock:b", "?", "+"}
	modes := []string{"", "?", "+"}
	foot := func() []string {
		f := []string{}
		for n := rng.IntN(4); n > 0; n-- {
			f = append(f, modes[rng.IntN(len(modes))]+keys[rng.IntN(len(keys))])
		}
		return f
	}
	for i := 0; i < 20000; i++ {
		a, b := exec.Transition{Foot: foot()}, exec.Transition{Foot: foot()}
		want := false
		for _, x := range a.Foot {
			for _, y := range b.Foot {
				want = want || exec.Conflict(x, y)
			}
		}
		if got := exec.Dependent(a, b); got != want {
			t.Fatalf("Dependent(%q, %q) = %v, want %v", a.Foot, b.Foot, got, want)
		}
	}
}
