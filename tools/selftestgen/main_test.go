package main

import (
	"os"

	"github.com/fencecheck/fencecheck/internal/model"
	"github.com/fencecheck/fencecheck/internal/rules"
	"path/filepath"
	"strings"
	"testing"
)

// TestCommittedPortIsCurrent: the committed self-test scenarios are exactly
// what the generator writes, so nobody edits a generated file by hand.
func TestCommittedPortIsCurrent(t *testing.T) {
	tmp := t.TempDir()
	written, err := generate(tmp)
	if err != nil {
		t.Fatal(err)
	}
	if len(written) != 378 {
		t.Errorf("generator wrote %d cases, want 378", len(written))
	}
	for _, p := range written {
		rel := strings.TrimPrefix(p, tmp+string(filepath.Separator))
		want, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		got, err := os.ReadFile(filepath.Join("..", "..", rel))
		if err != nil {
			t.Errorf("%s is not committed: %v (run go run ./tools/selftestgen)", rel, err)
			continue
		}
		if string(got) != string(want) {
			t.Errorf("%s differs from the generator's output (run go run ./tools/selftestgen)", rel)
		}
	}
}

// TestLintCases: the cases whose failure is a step-balance error of the
// file itself (double unlock, initialising a held lock, ww context misuse)
// fail to load with exactly one bad-step error, as the self-test expects
// FAILURE.
func TestLintCases(t *testing.T) {
	n := 0
	for _, tc := range allCases() {
		if tc.dir != "internal/model/testdata/selftest" {
			continue
		}
		n++
		if tc.success || tc.rule != "bad-step" {
			t.Errorf("%s: lint cases are FAILUREs with bad-step", tc.fn)
		}
		_, ds := model.Load(tc.file, []byte(tc.yaml()), model.Options{})
		if len(ds) != 1 || ds[0].Rule != rules.BadStep {
			t.Errorf("%s: want exactly one bad-step error, got %+v", tc.fn, ds)
		}
	}
	if n != 18 {
		t.Errorf("want 18 lint cases, got %d", n)
	}
}
