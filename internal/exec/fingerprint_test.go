package exec

import (
	"os"
	"testing"

	"github.com/fencecheck/fencecheck/internal/kernel"
	"github.com/fencecheck/fencecheck/internal/model"
)

// TestFingerprintFollowsRewrittenFrames: in every interleaving, each
// frame's kept ops hash is the hash of its ops as they are now (a ww
// backoff rewrites them), so that states with different ops never share a
// fingerprint. Some interleaving must back off, or the test proves nothing.
func TestFingerprintFollowsRewrittenFrames(t *testing.T) {
	// Two ww acquire contexts taking two resvs in opposite orders, so
	// that Wait-Die backs one off and rewrites its frame's ops (the slow
	// lock first, locks.go).
	data, err := os.ReadFile("testdata/ww-abba.yaml")
	if err != nil {
		t.Fatal(err)
	}
	sc, ds := model.Load("ww-abba.yaml", data, model.Options{})
	if sc == nil || len(ds) > 0 {
		t.Fatal(ds)
	}
	p := kernel.Compile(sc)
	backoffs := 0
	var walk func(prefix []int)
	walk = func(prefix []int) {
		m := NewMachine(p, 0, false)
		for _, c := range prefix {
			m.Enabled()
			m.Fingerprint()
			m.Step(c)
		}
		en := m.Enabled()
		m.Fingerprint()
		for _, th := range m.s.threads {
			if th.slow != "" {
				backoffs++
			}
			for _, f := range th.frames {
				g := newStateHash()
				g.int(len(f.ops))
				for i := range f.ops {
					fpOp(&g, &f.ops[i])
				}
				if f.hashed && f.hash != [2]uint64{g.a, g.b} {
					t.Fatalf("after %v: %s's frame keeps the hash of ops it no longer has", prefix, th.name)
				}
			}
		}
		for i := range en {
			walk(append(append([]int(nil), prefix...), i))
		}
	}
	walk(nil)
	if backoffs == 0 {
		t.Fatal("no interleaving backed off")
	}
}
