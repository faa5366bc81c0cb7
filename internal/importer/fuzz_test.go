package importer_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/fencecheck/fencecheck/internal/analysis"
	"github.com/fencecheck/fencecheck/internal/diag"
	"github.com/fencecheck/fencecheck/internal/graph"
	"github.com/fencecheck/fencecheck/internal/importer"
	"github.com/fencecheck/fencecheck/internal/lockdepproc"
	"github.com/fencecheck/fencecheck/internal/model"
	"github.com/fencecheck/fencecheck/internal/splat"
)

// FuzzImportSplat: whatever reports the parser finds in any input, the
// scenarios written for them load without a lint error and analyse without
// panicking.
func FuzzImportSplat(f *testing.F) {
	files, _ := filepath.Glob("../splat/testdata/*.txt")
	for _, p := range files {
		if data, err := os.ReadFile(p); err == nil {
			f.Add(data)
		}
	}
	for _, s := range []string{recursiveLog, inconsistentLog, inversionLog, hungLog} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		rs := splat.Parse(data)
		for i := range rs {
			if i == 4 {
				break
			}
			im := importer.ImportSplat(&rs[i], i+1)
			sc, ds := model.Load("fuzz.yaml", []byte(im.YAML), model.Options{})
			for _, d := range ds {
				if d.Severity == diag.Error {
					t.Fatalf("imported scenario does not load: %v\n%s", d, im.YAML)
				}
			}
			if sc != nil {
				analysis.Run(sc, analysis.Options{Mode: graph.Lockdep, Schedules: 1})
			}
		}
	})
}

// FuzzLockdepProc: any input either parses or is refused with an error;
// what parses writes a base that loads without a lint error.
func FuzzLockdepProc(f *testing.F) {
	ld, ch := lockdepproc.Generate(40, 120, 1)
	f.Add(ld, ch)
	f.Add([]byte("all lock classes:\nffff FD: 1 BD: 1 +.+.: &a->b\n -> [eeee] fs_reclaim\n\n"), []byte("all lock chains:\nirq_context: 2\n[ffff] &a->b\n\n"))
	f.Fuzz(func(t *testing.T, data, chains []byte) {
		db, err := lockdepproc.Parse(data)
		if err != nil {
			return
		}
		_ = db.ParseChains(chains)
		text := importer.WriteBase(db, "fuzz")
		_, ds := model.Load("base.yaml", []byte(text), model.Options{})
		for _, d := range ds {
			if d.Severity == diag.Error {
				t.Fatalf("base does not load: %v\n%s", d, text)
			}
		}
	})
}
