package analysis

import (
	"reflect"
	"runtime"
	"runtime/debug"
	"strings"
	"testing"

	"github.com/fencecheck/fencecheck/internal/gen"
	"github.com/fencecheck/fencecheck/internal/graph"
	"github.com/fencecheck/fencecheck/internal/model"
)

func TestReusePercent(t *testing.T) {
	for _, c := range []struct {
		inUse, live uint64
		want        int
	}{
		{1000, 200, 400}, // the goal, 200 x (1 + 400/100), is the 1000 in use
		{300, 200, 50},
		{200, 200, 0}, // nothing to reuse
		{100, 200, 0},
		{1000, 0, 0},
		{1 << 62, 1, 1<<31 - 1}, // clamped to an int32
	} {
		if got := reusePercent(c.inUse, c.live); got != c.want {
			t.Errorf("reusePercent(%d, %d) = %d, want %d", c.inUse, c.live, got, c.want)
		}
	}
}

// bigScenario is a small design padded past collectAbove with a comment.
func bigScenario(t *testing.T) *model.Scenario {
	src := gen.Random(16, 40, true, 3) + "#" + strings.Repeat("x", collectAbove) + "\n"
	sc, ds := model.Load("big.yaml", []byte(src), model.Options{})
	if sc == nil || len(ds) > 0 {
		t.Fatalf("padded design does not load: %v", ds)
	}
	return sc
}

// TestSoleInputPacesTheCollector: with SoleInput, a large input's
// analysis runs with a collector goal that reaches the heap the loader left
// in use, and the setting is restored afterwards; without it, or with a
// GOGC of the user's, the setting is never touched. The findings are the
// same either way.
func TestSoleInputPacesTheCollector(t *testing.T) {
	t.Setenv("GOGC", "")
	sc := bigScenario(t)
	prev := debug.SetGCPercent(100)
	defer debug.SetGCPercent(prev)
	percentNow := func() int {
		p := debug.SetGCPercent(-1)
		debug.SetGCPercent(p)
		return p
	}
	// Garbage in use, as the loader's YAML tree is when Run starts.
	makeGarbage := func() {
		garbage := make([][]byte, 0, 256)
		for i := 0; i < 256; i++ {
			garbage = append(garbage, make([]byte, 256<<10))
		}
		runtime.KeepAlive(garbage)
	}
	makeGarbage()
	restore := releaseInput(sc, Options{SoleInput: true})
	if during := percentNow(); during <= 100 {
		t.Errorf("SoleInput: GC percent %d during the analysis, want above 100 (64 MB of garbage was in use)", during)
	}
	restore()
	if after := percentNow(); after != 100 {
		t.Errorf("GC percent %d after the analysis, want 100 restored", after)
	}
	restore = releaseInput(sc, Options{})
	if during := percentNow(); during != 100 {
		t.Errorf("not SoleInput: GC percent %d during the analysis, want 100 untouched", during)
	}
	restore()
	debug.SetGCPercent(1 << 30) // a laxer setting is kept
	makeGarbage()
	restore = releaseInput(sc, Options{SoleInput: true})
	if during := percentNow(); during != 1<<30 {
		t.Errorf("GC percent already %d: %d during the analysis, want it kept", 1<<30, during)
	}
	restore()
	debug.SetGCPercent(100)
	t.Setenv("GOGC", "100")
	restore = releaseInput(sc, Options{SoleInput: true})
	if during := percentNow(); during != 100 {
		t.Errorf("GOGC set: GC percent %d during the analysis, want 100 untouched", during)
	}
	restore()

	sole := Run(sc, Options{SoleInput: true, Mode: graph.Both})
	if after := percentNow(); after != 100 {
		t.Errorf("GC percent %d after Run, want 100 restored", after)
	}
	other := Run(sc, Options{Mode: graph.Both})
	if len(sole.Diags) == 0 || !reflect.DeepEqual(sole.Diags, other.Diags) {
		t.Errorf("SoleInput changed the findings (or there are none to compare):\n%v\n%v", sole.Diags, other.Diags)
	}
}
