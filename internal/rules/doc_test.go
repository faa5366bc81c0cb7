package rules

import (
	"flag"
	"os"
	"testing"
)

var update = flag.Bool("update", false, "regenerate docs/rules.md")

func TestRulesDocInSync(t *testing.T) {
	const path = "../../docs/rules.md"
	want := Markdown()
	if *update {
		if err := os.WriteFile(path, []byte(want), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != want {
		t.Error("docs/rules.md is out of date with the catalog; run go test ./internal/rules -update")
	}
}

func TestCatalogWellFormed(t *testing.T) {
	ids, names := map[string]bool{}, map[string]bool{}
	for _, r := range All() {
		if ids[r.ID] || names[r.Name] {
			t.Errorf("duplicate rule %s %s", r.ID, r.Name)
		}
		ids[r.ID], names[r.Name] = true, true
		if r.Summary == "" || r.Doc == "" || r.Fix == "" || r.Category == "" {
			t.Errorf("%s: incomplete entry", r.ID)
		}
		if got, ok := Lookup(r.Name); !ok || got.ID != r.ID {
			t.Errorf("Lookup by name %s failed", r.Name)
		}
	}
}
