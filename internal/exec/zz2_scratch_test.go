package exec

import (
	"os"
	"testing"

	"github.com/fencecheck/fencecheck/internal/kernel"
	"github.com/fencecheck/fencecheck/internal/model"
)

func TestScratchKinds(t *testing.T) {
	data, _ := os.ReadFile("/tmp/p2/d25.yaml")
	sc, _ := model.Load("x.yaml", data, model.Options{})
	p := kernel.Compile(sc)
	r := Run(p, Options{Schedules: 1, Trace: true, Only: -1})
	kinds := map[string]int{}
	threads := map[string]int{}
	for _, e := range r.Schedules[0].Events {
		kinds[e.Kind]++
		threads[e.Thread]++
	}
	t.Logf("events=%d kinds=%v reclaim=%d", len(r.Schedules[0].Events), kinds, len(p.Reclaim))
	n := 0
	for th, c := range threads {
		if c > 2000 && n < 10 {
			t.Logf("%s %d", th, c)
			n++
		}
	}
}
