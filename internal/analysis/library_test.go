package analysis_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/fencecheck/fencecheck/internal/analysis"
	"github.com/fencecheck/fencecheck/internal/model"
)

// TestScenarioLibrary is `fencecheck test scenarios/` inside go test: every
// bundled scenario carries its expected verdict, and every verdict holds.
func TestScenarioLibrary(t *testing.T) {
	var files []string
	_ = filepath.WalkDir("../../scenarios", func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() && filepath.Ext(p) == ".yaml" {
			files = append(files, p)
		}
		return nil
	})
	if len(files) < 10 {
		t.Fatalf("scenario library too small: %d files", len(files))
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			data, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			sc, ds := model.Load(f, data, model.Options{})
			if sc == nil || len(ds) > 0 {
				t.Fatalf("does not load: %+v", ds)
			}
			v := analysis.Verify(sc)
			switch v.Status {
			case "none":
				t.Fatal("library scenarios must carry an expect: section")
			case "fail":
				for _, p := range v.Problems {
					t.Errorf("%s:%s: %s", p.File, p.Pos, p.Message)
				}
			}
		})
	}
}
