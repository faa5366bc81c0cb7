// Package scenariotest loads scenarios for the tests of the packages under
// internal/: the bundled library, and designs written inline. A design
// that does not load fails the test that wrote it.
package scenariotest

import (
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/fencecheck/fencecheck/internal/kernel"
	"github.com/fencecheck/fencecheck/internal/model"
)

// LibraryDir is the bundled library, seen from a package under internal/
// (tests run in their package's directory).
const LibraryDir = "../../scenarios"

// Load loads src as the scenario file name, with no input size limit.
func Load(t testing.TB, name, src string) *model.Scenario {
	t.Helper()
	sc, ds := model.Load(name, []byte(src), model.Options{MaxBytes: 1 << 30})
	if sc == nil || len(ds) > 0 {
		t.Fatalf("%s does not load: %v\n%s", name, ds, src)
	}
	return sc
}

// Compile loads and compiles src.
func Compile(t testing.TB, name, src string) *kernel.Program {
	t.Helper()
	return kernel.Compile(Load(t, name, src))
}

// EachLibrary calls fn on every scenario of the library, in path order,
// and fails the test if there are fewer than min of them.
func EachLibrary(t testing.TB, min int, fn func(path string, sc *model.Scenario)) {
	t.Helper()
	files := 0
	err := filepath.WalkDir(LibraryDir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(path, ".yaml") {
			return err
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		files++
		fn(path, Load(t, path, string(data)))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if files < min {
		t.Fatalf("the library has %d scenarios, want at least %d", files, min)
	}
}
