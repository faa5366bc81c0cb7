package kernel

import "testing"

// TestProfileBoundaries: each fact switches at the release its commit
// landed in (docs/model.md, "Kernel profiles").
func TestProfileBoundaries(t *testing.T) {
	cases := []struct {
		version                                                         string
		mmap                                                            string
		fences, fsNotifier, waitTypes, table, srcu, trylock, rawNesting bool
	}{
		{"5.5", "&mm->mmap_sem", false, false, false, false, false, false, false},
		{"5.7", "&mm->mmap_sem", false, false, true, false, false, false, false},
		{"5.8", "&mm->mmap_lock", false, false, true, false, false, false, false},
		{"5.9", "&mm->mmap_lock", true, false, true, false, false, false, false},
		{"5.11", "&mm->mmap_lock", true, true, true, false, false, false, false},
		{"6.3", "&mm->mmap_lock", true, true, true, false, false, false, false},
		{"6.4", "&mm->mmap_lock", true, true, true, true, true, false, false},
		{"6.12", "&mm->mmap_lock", true, true, true, true, true, false, false},
		{"6.13", "&mm->mmap_lock", true, true, true, true, true, true, true},
		{"", "&mm->mmap_lock", true, true, true, true, true, true, true},
	}
	for _, c := range cases {
		p := ProfileFor(c.version)
		got := []bool{p.FenceAnnotations, p.FsReclaimTouchesNotifier, p.WaitTypes, p.TableReadSync, p.SRCUSync, p.BeginSignallingTrylock, p.RawLockNesting}
		want := []bool{c.fences, c.fsNotifier, c.waitTypes, c.table, c.srcu, c.trylock, c.rawNesting}
		for i := range got {
			if got[i] != want[i] {
				t.Errorf("%q: fact %d = %v, want %v", c.version, i, got[i], want[i])
			}
		}
		if p.MmapLockClass != c.mmap || p.ClassName(MmapLock+"/1") != c.mmap+"/1" || p.ClassName(IMmapRwsem) != "&mapping->i_mmap_rwsem" {
			t.Errorf("%q: class names %q %q", c.version, p.MmapLockClass, p.ClassName(MmapLock+"/1"))
		}
		if p.SchedAnnotates {
			t.Errorf("%q: no mainline drm_sched annotates its callbacks", c.version)
		}
	}
	if ProfileFor("").Version != NewestVersion {
		t.Errorf("default profile is not the newest")
	}
	for _, alias := range []string{"&mm->mmap_lock", "&mm->mmap_sem", "mmap_sem"} {
		if CanonicalLock(alias) != MmapLock {
			t.Errorf("%s is not an alias of %s", alias, MmapLock)
		}
	}
}
