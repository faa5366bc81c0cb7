package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestImportSplatCommand(t *testing.T) {
	dir := t.TempDir()
	in := repo + "internal/splat/testdata/02.txt"
	code, _, stderr := run(t, "", "import", "splat", in, "-o", dir)
	if code != ExitOK || !strings.Contains(stderr, "Chain exists of: fs_reclaim --> mmu_notifier_invalidate_range_start --> dma_fence_map") {
		t.Fatalf("import: %d %s", code, stderr)
	}
	out := filepath.Join(dir, "02-1-circular.yaml")
	first, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	if code, stdout, _ := run(t, "", "lint", dir); code != ExitOK {
		t.Errorf("lint of the import: %d %s", code, stdout)
	}
	if code, stdout, _ := run(t, "", "test", dir); code != ExitOK {
		t.Errorf("test of the import: %d %s", code, stdout)
	}
	code, stdout, _ := run(t, "", "check", "--mode", "lockdep", out)
	if code != ExitFindings || !strings.Contains(stdout, "Chain exists of:\n  fs_reclaim --> mmu_notifier_invalidate_range_start --> dma_fence_map") {
		t.Errorf("check --mode lockdep: %d\n%s", code, stdout)
	}
	// Same input, same bytes; standard input and a quoted reply work too.
	data, _ := os.ReadFile(in)
	quoted := "> " + strings.ReplaceAll(string(data), "\n", "\n> ")
	code, stdout, _ = run(t, quoted, "import", "splat")
	if code != ExitOK || stdout != string(first) {
		t.Errorf("quoted stdin import differs from the file import (%d)", code)
	}
	if code, _, stderr := run(t, "no splat here\n", "import", "splat", "-"); code != ExitFindings || !strings.Contains(stderr, "no lockdep report") {
		t.Errorf("empty log: %d %s", code, stderr)
	}
}

func TestImportLockdepCommand(t *testing.T) {
	dir := t.TempDir()
	write := func(name, text string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	proc := write("lockdep", `all lock classes:
00000000a1b2c3d4 FD:    3 BD:    1 +.+.: &mm->mmap_lock
 -> [00000000b1b2c3d4] &vm->lock
 -> [00000000e1b2c3d4] fs_reclaim

00000000b1b2c3d4 FD:    2 BD:    2 +.+.: &vm->lock
 -> [00000000e1b2c3d4] fs_reclaim

00000000e1b2c3d4 FD:    0 BD:    4 +.+.: fs_reclaim

`)
	chains := write("lockdep_chains", "all lock chains:\nirq_context: 0\n[00000000a1b2c3d4] &mm->mmap_lock\n[00000000b1b2c3d4] &vm->lock\n\n")
	base := filepath.Join(dir, "kernel.lockdep.yaml")
	code, _, stderr := run(t, "", "import", "lockdep", proc, "--chains", chains, "-o", base)
	if code != ExitOK || !strings.Contains(stderr, "3 classes, 3 dependencies, 1 chains") {
		t.Fatalf("import lockdep: %d %s", code, stderr)
	}
	design := write("design.yaml", `fencecheck: 1
name: notifier takes the VM lock the kernel holds around allocations
base: kernel.lockdep.yaml
paths:
  - name: my_invalidate
    context: notifier
    steps:
      - lock: "&vm->lock"
      - unlock: "&vm->lock"
`)
	code, stdout, _ := run(t, "", "check", "--root", filepath.Dir(design), "--mode", "lockdep", design)
	if code != ExitFindings || !strings.Contains(stdout, "(observed) &vm->lock --> fs_reclaim: observed by lockdep") ||
		!strings.Contains(stdout, "kernel.lockdep.yaml:") {
		t.Errorf("check against the base: %d\n%s", code, stdout)
	}
	if code, _, stderr := run(t, "", "import", "lockdep", write("junk", "hello\n")); code != ExitFatal || !strings.Contains(stderr, "not a /proc/lockdep line") {
		t.Errorf("junk input: %d %s", code, stderr)
	}
}
