package kernel_test

import (
	"strings"
	"testing"

	"github.com/fencecheck/fencecheck/internal/kernel"
	"github.com/fencecheck/fencecheck/internal/model"
	"github.com/fencecheck/fencecheck/internal/scenariotest"
)

func TestLockIDsNameTheirLocks(t *testing.T) {
	interned := 0
	scenariotest.EachLibrary(t, 100, func(path string, sc *model.Scenario) {
		p := kernel.Compile(sc)
		seen := map[string]bool{}
		for i, n := range p.LockNames {
			if (i == 0) != (n == "") || seen[n] {
				t.Errorf("%s: LockNames[%d] = %q (index 0 is \"\", every other name once)", path, i, n)
			}
			seen[n] = true
		}
		var check func(ops []kernel.Op)
		check = func(ops []kernel.Op) {
			for _, o := range ops {
				if o.LockID != 0 {
					interned++
					if int(o.LockID) >= len(p.LockNames) || p.LockNames[o.LockID] != o.Lock {
						t.Errorf("%s: %s (%s) has LockID %d, which does not name it", path, o.Text, o.Lock, o.LockID)
					}
				} else if (o.Kind == kernel.OpAcquire || o.Kind == kernel.OpRelease) && o.Lock != "" &&
					!strings.ContainsAny(o.Lock, "/[") && seen[o.Lock] && o.Text == "lock: "+o.Lock {
					t.Errorf("%s: %s takes an interned class without its ID", path, o.Text)
				}
				check(o.Ext().Then)
			}
		}
		for _, th := range p.Threads {
			check(th.Ops)
		}
		check(p.Reclaim)
	})
	if interned == 0 {
		t.Fatal("no library op has an interned lock ID")
	}
}
