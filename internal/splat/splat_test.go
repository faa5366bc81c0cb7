package splat

import (
	"os"
	"strings"
	"testing"
)

func load(t *testing.T, name string) []byte {
	t.Helper()
	data, err := os.ReadFile("testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// quote turns a log into a mail reply: "> " quoting, with the kind of
// prefixes a forwarded dmesg has (timestamps, caller ids, priorities).
func quote(data []byte) []byte {
	var b strings.Builder
	b.WriteString("On Mon, 8 Nov 2021, someone wrote:\n> Hi, I see this on boot:\n>\n")
	for i, l := range strings.Split(string(data), "\n") {
		switch i % 3 {
		case 0:
			b.WriteString("> [  12.345678] " + l + "\n")
		case 1:
			b.WriteString("> <4>[  12.345679][ T1180] " + l + "\n")
		default:
			b.WriteString(">> " + l + "\n")
		}
	}
	b.WriteString("\nThanks,\n")
	return []byte(b.String())
}

func TestCases(t *testing.T) {
	cases := []struct {
		file            string
		acquiring, held string
		depths          []int
		chain           string
		heldCount       int
		release         string
	}{
		{"02.txt", "fs_reclaim", "dma_fence_map", []int{2, 1, 0}, "fs_reclaim --> mmu_notifier_invalidate_range_start --> dma_fence_map", 4, "5.15.0-rc7+"},
		{"05.txt", "reservation_ww_class_acquire", "fs_reclaim", []int{2, 1, 0}, "reservation_ww_class_acquire --> reservation_ww_class_mutex --> fs_reclaim", 1, "7.0.0-debug+"},
		{"09.txt", "&amdgpu_notifier_lock_key", "mmu_notifier_invalidate_range_start", []int{5, 0}, "&amdgpu_notifier_lock_key --> fs_reclaim --> mmu_notifier_invalidate_range_start", 0, "6.19.0+"},
		{"22.txt", "&vmm->mutex#3", "&svmm->mutex", []int{3, 2, 1, 0}, "&vmm->mutex#3 --> mmu_notifier_invalidate_range_start --> &svmm->mutex", 4, "5.5.0-rc5+"},
	}
	for _, c := range cases {
		plain := load(t, c.file)
		for _, variant := range []struct {
			name string
			data []byte
		}{{"plain", plain}, {"quoted", quote(plain)}} {
			rs := Parse(variant.data)
			if len(rs) != 1 {
				t.Fatalf("%s/%s: %d reports, want 1", c.file, variant.name, len(rs))
			}
			r := rs[0]
			if r.Kind != Circular {
				t.Errorf("%s/%s: kind %s", c.file, variant.name, r.Kind)
			}
			if r.Acquiring == nil || r.Acquiring.Name != c.acquiring {
				t.Errorf("%s/%s: acquiring %+v, want %s", c.file, variant.name, r.Acquiring, c.acquiring)
			}
			if r.Holding == nil || r.Holding.Name != c.held {
				t.Errorf("%s/%s: holding %+v, want %s", c.file, variant.name, r.Holding, c.held)
			}
			var depths []int
			for _, e := range r.Entries {
				depths = append(depths, e.Depth)
			}
			if !equalInts(depths, c.depths) {
				t.Errorf("%s/%s: depths %v, want %v", c.file, variant.name, depths, c.depths)
			}
			if got := strings.Join(r.Chain, " --> "); got != c.chain {
				t.Errorf("%s/%s: chain %q, want %q", c.file, variant.name, got, c.chain)
			}
			n := 0
			if len(r.Held) > 0 {
				n = len(r.Held[0].Locks)
			}
			if n != c.heldCount {
				t.Errorf("%s/%s: %d held locks, want %d", c.file, variant.name, n, c.heldCount)
			}
			if r.Release != c.release {
				t.Errorf("%s/%s: release %q, want %q", c.file, variant.name, r.Release, c.release)
			}
		}
	}
}

func TestCase02Details(t *testing.T) {
	r := Parse(load(t, "02.txt"))[0]
	e := r.Entries[0]
	if e.Lock.Name != "dma_fence_map" || e.Lock.Usage != "++++" || !e.Lock.HasWait || e.Lock.WaitInner != 0 {
		t.Errorf("entry #2 lock: %+v", e.Lock)
	}
	if len(e.Frames) != 3 || e.Frames[0].Func != "__dma_fence_might_wait" || e.Frames[1].Func != "dma_resv_lockdep" {
		t.Errorf("entry #2 frames: %+v", e.Frames)
	}
	last := r.Entries[2].Frames
	if f := last[len(last)-1]; f.Func != "intel_gt_debugfs_reset_store" || f.Module != "i915" {
		t.Errorf("entry #0 last frame: %+v", f)
	}
	h := r.Held[0]
	if h.Task != "gem_exec_captur/1180" || h.Locks[1].Lock.Name != "&attr->mutex" || h.Locks[1].Lock.WaitInner != 3 || h.Locks[1].Lock.At != "simple_attr_write" {
		t.Errorf("held: %+v", h)
	}
	if r.Task != "gem_exec_captur/1180" {
		t.Errorf("task %q", r.Task)
	}
}

func TestCondensedFrames(t *testing.T) {
	r := Parse(load(t, "05.txt"))[0]
	var fs []string
	for _, f := range r.Entries[2].Frames {
		fs = append(fs, f.Func)
	}
	want := "check_prev_add validate_chain __lock_acquire lock_acquire drm_gem_lru_scan msm_gem_shrinker_scan do_shrink_slab shrink_slab shrink_node balance_pgdat kswapd"
	if strings.Join(fs, " ") != want {
		t.Errorf("frames %q\nwant   %q", strings.Join(fs, " "), want)
	}
}

func TestNoReport(t *testing.T) {
	for _, f := range []string{"25-no-report.txt", "29-no-report.txt"} {
		if rs := Parse(load(t, f)); len(rs) != 0 {
			t.Errorf("%s: found %d reports in a text that has none", f, len(rs))
		}
	}
}

func TestOtherKinds(t *testing.T) {
	log := `[   10.000000] ============================================
[   10.000001] WARNING: possible recursive locking detected
[   10.000002] 6.8.0 #1 Not tainted
[   10.000003] --------------------------------------------
[   10.000004] kworker/0:1/42 is trying to acquire lock:
[   10.000005] ffff888100000000 (&dev->lock){+.+.}-{4:4}, at: foo_work+0x10/0x20 [foo]
[   10.000006] 
               but task is already holding lock:
[   10.000007] ffff888100000100 (&dev->lock){+.+.}-{4:4}, at: foo_work+0x8/0x20 [foo]
[   10.000010] 2 locks held by kworker/0:1/42:
[   10.000011]  #0: ffff888100000200 ((wq_completion)events){+.+.}-{0:0}, at: process_one_work+0x1/0x2
[   10.000012]  #1: ffff888100000300 ((work_completion)(&dev->work)){+.+.}-{0:0}, at: process_one_work+0x1/0x2
[   10.000013]  #2: ffff888100000000 (&dev->lock){+.+.}-{4:4}, at: foo_work+0x8/0x20 [foo]
<4>[   20.0] ================================
<4>[   20.0] WARNING: inconsistent lock state
<4>[   20.0] 6.8.0 #1 Not tainted
<4>[   20.0] --------------------------------
<4>[   20.0] inconsistent {HARDIRQ-ON-W} -> {IN-HARDIRQ-W} usage.
<4>[   20.0] swapper/0/0 [HC1[1]:SC0[0]:HE0:SE1] takes:
<4>[   20.0] ffff888100000400 (&ring->lock){?.+.}-{3:3}, at: ring_irq+0x1/0x2 [foo]
<4>[   20.0] {HARDIRQ-ON-W} state was registered at:
<4>[   20.0]   lock_acquire+0x1/0x2
<4>[   20.0]   _raw_spin_lock+0x1/0x2
<4>[   20.0]   ring_submit+0x1/0x2 [foo]
Nov 30 12:00:00 host kernel: INFO: task kworker/u8:2:123 blocked for more than 120 seconds.
Nov 30 12:00:00 host kernel:       Not tainted 6.8.0 #1
Nov 30 12:00:01 host kernel: Showing all locks held in the system:
Nov 30 12:00:01 host kernel: 1 lock held by kworker/u8:2/123:
Nov 30 12:00:01 host kernel:  #0: ffff888100000500 (&vm->lock){++++}-{4:4}, at: vm_bind+0x1/0x2 [foo]
Nov 30 12:00:01 host kernel: 1 lock held by khungtaskd/37:
Nov 30 12:00:01 host kernel:  #0: ffffffff82000000 (rcu_read_lock){....}-{1:2}, at: debug_show_all_locks+0x1/0x2
`
	rs := Parse([]byte(log))
	if len(rs) != 3 {
		t.Fatalf("%d reports, want 3", len(rs))
	}
	if r := rs[0]; r.Kind != Recursive || r.Acquiring.Name != "&dev->lock" || r.Holding.Name != "&dev->lock" || len(r.Held[0].Locks) != 3 ||
		r.Held[0].Locks[1].Lock.Name != "(work_completion)(&dev->work)" {
		t.Errorf("recursive: %+v", r)
	}
	if r := rs[1]; r.Kind != Inconsistent || r.UsageFrom != "HARDIRQ-ON-W" || r.UsageTo != "IN-HARDIRQ-W" || r.Acquiring.Name != "&ring->lock" ||
		len(r.StateTrace) != 3 || r.StateTrace[1].Func != "_raw_spin_lock" {
		t.Errorf("inconsistent: %+v", r)
	}
	if r := rs[2]; r.Kind != HungTask || r.Task != "kworker/u8:2/123" || len(r.Held) != 2 || r.Held[0].Locks[0].Lock.Name != "&vm->lock" {
		t.Errorf("hung task: %+v", r)
	}
}

func TestNormalizeStripsControl(t *testing.T) {
	got := Normalize("> [  1.0] \x1b[31mWARNING\x07 \u2028x")
	if strings.ContainsAny(got, "\x1b\x07\u2028") {
		t.Errorf("control characters survive: %q", got)
	}
}

func equalInts(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
