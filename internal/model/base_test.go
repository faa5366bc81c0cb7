package model_test

import (
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/fencecheck/fencecheck/internal/model"
)

// Many scenarios checked at once share one load of their base, and a
// nested base is resolved relative to the file that names it.
func TestBaseLoadedOnce(t *testing.T) {
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "kernel"), 0o755); err != nil {
		t.Fatal(err)
	}
	files := map[string]string{
		"kernel/base.yaml":   "fencecheck: 1\nbase: common.yaml\nobserved:\n  - {from: \"&a->lock\", to: fs_reclaim}\n",
		"kernel/common.yaml": "fencecheck: 1\nlocks:\n  - {name: \"&a->lock\", kind: mutex}\n",
	}
	for name, text := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	design := []byte("fencecheck: 1\nbase: kernel/base.yaml\npaths:\n  - name: p\n    context: notifier\n    steps:\n      - lock: \"&a->lock\"\n      - unlock: \"&a->lock\"\n")
	cache := &model.BaseCache{}
	const n = 8
	got := make([]*model.Scenario, n)
	var wg sync.WaitGroup
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			sc, ds := model.Load(filepath.Join(dir, "design.yaml"), design, model.Options{Bases: cache})
			if sc == nil || len(ds) > 0 {
				t.Errorf("load %d: %v", i, ds)
				return
			}
			got[i] = sc
		}(i)
	}
	wg.Wait()
	for i := 0; i < n; i++ {
		if got[i] == nil || len(got[i].Bases) != 2 {
			t.Fatalf("load %d: bases %v", i, got[i])
		}
		if got[i].Bases[1] != got[0].Bases[1] || got[i].Bases[0] != got[0].Bases[0] {
			t.Errorf("load %d loaded the base again", i)
		}
	}
	if p := got[0].Bases[1].Path; p != filepath.Join(dir, "kernel", "base.yaml") {
		t.Errorf("base shown as %q", p)
	}
}
