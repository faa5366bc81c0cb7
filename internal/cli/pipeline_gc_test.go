package cli

import (
	"os"
	"path/filepath"
	"runtime/debug"
	"strings"
	"sync"
	"testing"
)

// TestManySmallInputsGC: several small inputs run with the larger
// collector target, a run with a large input or a single input with the
// default, and the setting is restored afterwards.
func TestManySmallInputsGC(t *testing.T) {
	t.Setenv("GOGC", "") // as if unset, whatever the test process got
	dir := t.TempDir()
	small := filepath.Join(dir, "small.yaml")
	big := filepath.Join(dir, "big.yaml")
	if err := os.WriteFile(small, []byte("fencecheck: 1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(big, []byte(strings.Repeat("#\n", smallInput)), 0o644); err != nil {
		t.Fatal(err)
	}
	prev := debug.SetGCPercent(100)
	defer debug.SetGCPercent(prev)
	var mu sync.Mutex // reading the setting is a write: one worker at a time
	during := func(ins []input) []int {
		return eachInput(ins, func(input) int {
			mu.Lock()
			defer mu.Unlock()
			p := debug.SetGCPercent(-1)
			debug.SetGCPercent(p)
			return p
		}, func(input, string) int { return -2 })
	}
	for _, c := range []struct {
		ins  []input
		want int
	}{
		{[]input{{path: small}, {path: small}}, manySmallGCPercent},
		{[]input{{path: small}, {path: big}}, 100},
		{[]input{{path: small}}, 100},
	} {
		for _, got := range during(c.ins) {
			if got != c.want {
				t.Errorf("%d inputs: GC percent %d during the run, want %d", len(c.ins), got, c.want)
			}
		}
		if after := debug.SetGCPercent(100); after != 100 {
			t.Errorf("GC percent %d after the run, want 100 restored", after)
		}
	}
	// A user's GOGC is theirs: many small inputs keep it.
	t.Setenv("GOGC", "50")
	for _, got := range during([]input{{path: small}, {path: small}}) {
		if got != 100 {
			t.Errorf("GOGC set: GC percent %d during the run, want it left at 100", got)
		}
	}
}
