package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestCoverageIsSaid: check says what the exploration covered: one line
// for a single file; for a directory, the files not explored completely
// and a count. A design too long to explore says it ran FIFO only.
func TestCoverageIsSaid(t *testing.T) {
	_, _, errOut := run(t, "", "check", repo+"scenarios/seeds/03-dma-resv-missing-reserve.yaml")
	if !strings.Contains(errOut, "03-dma-resv-missing-reserve.yaml: explored all 1 interleavings (complete; 0 more cut by sleep sets)") {
		t.Errorf("single file: %q", errOut)
	}
	_, _, errOut = run(t, "", "check", repo+"scenarios/seeds/")
	if !strings.HasSuffix(errOut, "fencecheck: interleavings: 13 of 13 files explored completely\n") || strings.Count(errOut, "\n") != 1 {
		t.Errorf("directory: %q", errOut)
	}
	dir := t.TempDir()
	long := filepath.Join(dir, "long.yaml")
	if code, _, e := run(t, "", "gen", "driver", "--scale", "20", "-o", long); code != 0 {
		t.Fatal(e)
	}
	code, _, errOut := run(t, "", "check", long)
	if code != 0 || !strings.Contains(errOut, "not explored systematically: an execution has more than 20000 steps; ran the FIFO interleaving only") {
		t.Errorf("long design: %d %q", code, errOut)
	}
	// --schedules keeps the random schedules, and says they are.
	_, _, errOut = run(t, "", "check", "--schedules", "3", repo+"scenarios/seeds/03-dma-resv-missing-reserve.yaml")
	if !strings.Contains(errOut, "ran 3 schedules (FIFO and random, seed 1): not exhaustive") {
		t.Errorf("--schedules: %q", errOut)
	}
	_ = os.Remove(long)
}
