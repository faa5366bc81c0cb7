package kernel_test

import (
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/fencecheck/fencecheck/internal/kernel"
	"github.com/fencecheck/fencecheck/internal/model"
)

// eachLibraryScenario calls fn on every scenario of the library that loads
// without diagnostics and returns how many there were.
func eachLibraryScenario(t *testing.T, fn func(path string, sc *model.Scenario)) int {
	t.Helper()
	files := 0
	err := filepath.WalkDir("../../scenarios", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(path, ".yaml") {
			return err
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		sc, ds := model.Load(path, data, model.Options{})
		if sc == nil || len(ds) > 0 {
			return nil
		}
		files++
		fn(path, sc)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return files
}

// Every interned op names its lock: Op.LockID indexes Program.LockNames,
// which holds each name once, and the ops that take a plain lock class
// (no subclass, no instance) are interned.
func TestLockIDsNameTheirLocks(t *testing.T) {
	interned := 0
	files := eachLibraryScenario(t, func(path string, sc *model.Scenario) {
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
	if files < 100 || interned == 0 {
		t.Fatalf("%d scenarios, %d interned ops", files, interned)
	}
}
