package importer_test

import (
	"os"
	"strings"
	"testing"

	"github.com/fencecheck/fencecheck/internal/analysis"
	"github.com/fencecheck/fencecheck/internal/graph"
	"github.com/fencecheck/fencecheck/internal/importer"
	"github.com/fencecheck/fencecheck/internal/model"
	"github.com/fencecheck/fencecheck/internal/rules"
	"github.com/fencecheck/fencecheck/internal/splat"
)

// quoteReply turns a report into a mail reply with log prefixes.
func quoteReply(data []byte) []byte {
	var b strings.Builder
	b.WriteString("On Tue, someone wrote:\n> I hit this on boot:\n>\n")
	for i, l := range strings.Split(string(data), "\n") {
		switch i % 3 {
		case 0:
			b.WriteString("> [  812.345678] " + l + "\n")
		case 1:
			b.WriteString("> <4>[  812.345679][ T1180] " + l + "\n")
		default:
			b.WriteString("> > " + l + "\n")
		}
	}
	b.WriteString("\nDoes this look familiar?\n")
	return []byte(b.String())
}

// importOne imports the only report of data and loads the scenario.
func importOne(t *testing.T, name string, data []byte) (importer.Imported, *model.Scenario) {
	t.Helper()
	rs := splat.Parse(data)
	if len(rs) != 1 {
		t.Fatalf("%s: %d reports, want 1", name, len(rs))
	}
	im := importer.ImportSplat(&rs[0], 1)
	sc, ds := model.Load(name+".yaml", []byte(im.YAML), model.Options{})
	if sc == nil || len(ds) > 0 {
		t.Fatalf("%s: imported scenario does not lint clean: %v\n%s", name, ds, im.YAML)
	}
	return im, sc
}

// The six cases: each splat imported as text and as a quoted reply
// reproduces its chain line in lockdep mode and its expect: passes. Cases
// 25 and 29 have no splat (a documented design and a patch discussion):
// the parser must find nothing in them.
func TestImportCases(t *testing.T) {
	cases := []struct{ file, chain string }{
		{"02.txt", "fs_reclaim --> mmu_notifier_invalidate_range_start --> dma_fence_map"},
		{"05.txt", "reservation_ww_class_acquire --> reservation_ww_class_mutex --> fs_reclaim"},
		{"09.txt", "&amdgpu_notifier_lock_key --> fs_reclaim --> mmu_notifier_invalidate_range_start"},
		{"22.txt", "&vmm->mutex#3 --> mmu_notifier_invalidate_range_start --> &svmm->mutex"},
	}
	for _, c := range cases {
		plain, err := os.ReadFile("../splat/testdata/" + c.file)
		if err != nil {
			t.Fatal(err)
		}
		for _, v := range []struct {
			name string
			data []byte
		}{{"plain", plain}, {"quoted", quoteReply(plain)}} {
			name := c.file + "/" + v.name
			im, sc := importOne(t, name, v.data)
			if im.Chain != c.chain {
				t.Errorf("%s: expected chain %q, want %q", name, im.Chain, c.chain)
			}
			res := analysis.Run(sc, analysis.Options{Mode: graph.Lockdep})
			var got []string
			for _, d := range res.Diags {
				if d.Rule == rules.Cycle {
					got = append(got, d.ChainExists)
				}
			}
			// Equal to the report's line, compared modulo the one name
			// table (identical for these four: none uses a renamed class).
			found := false
			for _, g := range got {
				if importer.CanonicalChain(g) == importer.CanonicalChain(c.chain) {
					found = true
				}
			}
			if !found {
				t.Errorf("%s: lockdep-mode chains %q, want %q\n%s", name, got, c.chain, im.YAML)
			}
			if vd := analysis.Verify(sc); vd.Status != "pass" {
				t.Errorf("%s: expect: %s %v", name, vd.Status, vd.Problems)
			}
		}
	}
	for _, f := range []string{"25-no-report.txt", "29-no-report.txt"} {
		data, _ := os.ReadFile("../splat/testdata/" + f)
		if rs := splat.Parse(data); len(rs) != 0 {
			t.Errorf("%s: %d reports in a text without a splat", f, len(rs))
		}
	}
}
