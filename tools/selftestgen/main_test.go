package main

import (
	"os"
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
	if len(written) != 82 {
		t.Errorf("generator wrote %d cases, want 82", len(written))
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
