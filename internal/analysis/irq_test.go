package analysis_test

import (
	"strings"
	"testing"

	"github.com/fencecheck/fencecheck/internal/graph"
)

// splatBody cuts a non-circular lockdep report: from the "=" bar to the
// line before fencecheck's own step list.
func splatBody(t *testing.T, out string) string {
	t.Helper()
	i := strings.Index(out, "\n=")
	j := strings.Index(out, "\neach step, with the YAML that made it:")
	if i < 0 || j < i {
		t.Fatalf("no report in:\n%s", out)
	}
	return out[i+1 : j]
}

func wantRules(t *testing.T, src string, mode graph.Mode, want string) string {
	t.Helper()
	ds, out := run(t, src, mode)
	if got := rulesIn(ds); got != want {
		t.Fatalf("%s mode: want %q, got %q\n%s", mode, want, got, out)
	}
	return out
}

// A nested spin_unlock_irq() re-enables interrupts while the outer
// irq-safe lock is held: inconsistent lock state naming both sites, and a
// fix that says so (not "declare it irq_safe").
func TestIRQNestedUnlockReenables(t *testing.T) {
	src := `locks:
  - {name: "&fence->lock", kind: spinlock}
  - {name: "&ring->lock", kind: spinlock}
paths:
  - name: signal_irq
    context: irq
    steps:
      - lock: "&fence->lock"
      - unlock: "&fence->lock"
  - name: retire
    context: worker
    steps:
      - lock: "&fence->lock"
        irq: save
      - lock: "&ring->lock"
        irq: disable
      - unlock: "&ring->lock"
        irq: enable
      - unlock: "&fence->lock"
        irq: restore
`
	for _, mode := range []graph.Mode{graph.Lockdep, graph.Precise} {
		out := wantRules(t, src, mode, "FC015")
		want := `================================
WARNING: inconsistent lock state
kernel 7.0 (fencecheck ` + string(mode) + ` mode) t.yaml
--------------------------------
inconsistent {IN-HARDIRQ-W} -> {HARDIRQ-ON-W} usage.
retire [HC0[0]:SC0[0]:HE1:SE1] takes:
(&fence->lock){?.+.}-{3:3}, at: t.yaml:18:17 (retire)
{IN-HARDIRQ-W} state was registered at:
  t.yaml:9:15 (signal_irq): lock: &fence->lock

other info that might help us debug this:
 Possible unsafe locking scenario:

       CPU0
       ----
  lock(&fence->lock);
  <Interrupt>
    lock(&fence->lock);

 *** DEADLOCK ***

2 locks held by retire:
 #0: ((work_completion)(retire)){+.+.}-{0:0}, at: t.yaml:11:11 (retire)
 #1: (&fence->lock){?.+.}-{3:3}, at: t.yaml:14:15 (retire)
`
		if mode == graph.Precise {
			// Precise mode keeps the held locks of interrupt-side usages
			// only (the copy costs on every class otherwise).
			want = want[:strings.Index(want, "2 locks held by")]
		}
		if got := splatBody(t, out); got != want {
			t.Errorf("%s mode:\n--- got\n%s--- want\n%s", mode, got, want)
		}
		if !strings.Contains(out, "fix: &fence->lock is held when interrupts are re-enabled at 18:17 (unlock: &ring->lock): a nested spin_unlock_irq()") {
			t.Errorf("the fix must name the re-enabling unlock:\n%s", out)
		}
	}
	// The fixed design (irqsave/irqrestore inside) is clean.
	fixed := strings.Replace(strings.Replace(src, "        irq: disable", "        irq: save", 1), "        irq: enable", "        irq: restore", 1)
	wantClean(t, fixed, graph.Lockdep)
	wantClean(t, fixed, graph.Precise)
}

const regmapSrc = `locks:
  - {name: "&map->spinlock", kind: spinlock}
  - {name: "&cache->lock", kind: spinlock}
paths:
FIRST
  - name: regmap_sync
    context: kthread
    steps:
      - lock: "&cache->lock"
      - unlock: "&cache->lock"
SECOND
`

const regmapIRQ = `  - name: codec_irq
    context: irq
    steps:
      - lock: "&map->spinlock"
      - unlock: "&map->spinlock"`

const regmapWrite = `  - name: regmap_write
    context: ioctl
    steps:
      - lock: "&map->spinlock"
        irq: save
      - lock: "&cache->lock"
      - unlock: "&cache->lock"
      - unlock: "&map->spinlock"
        irq: restore`

// regmap vs its cache lock: the regmap lock is used in the interrupt
// handler, and elsewhere (with interrupts disabled) takes the cache lock,
// which is taken with interrupts on. When the dependency is recorded last,
// lockdep prints "HARDIRQ-safe -> HARDIRQ-unsafe lock order detected".
func TestIRQSafeToUnsafe(t *testing.T) {
	src := strings.NewReplacer("FIRST", regmapIRQ, "SECOND", regmapWrite).Replace(regmapSrc)
	out := wantRules(t, src, graph.Lockdep, "FC018")
	want := `=====================================================
WARNING: HARDIRQ-safe -> HARDIRQ-unsafe lock order detected
kernel 7.0 (fencecheck lockdep mode) t.yaml
-----------------------------------------------------
regmap_write [HC0[0]:SC0[0]:HE0:SE1] is trying to acquire:
(&cache->lock){+.+.}-{3:3}, at: t.yaml:21:15 (regmap_write)

and this task is already holding:
(&map->spinlock){-...}-{3:3}, at: t.yaml:19:15 (regmap_write)
which would create a new lock dependency:
 (&map->spinlock){-...}-{3:3} -> (&cache->lock){+.+.}-{3:3}

but this new dependency connects a HARDIRQ-irq-safe lock:
 (&map->spinlock){-...}-{3:3}

... which became HARDIRQ-irq-safe at:
  t.yaml:9:15 (codec_irq): lock: &map->spinlock

to a HARDIRQ-irq-unsafe lock:
 (&cache->lock){+.+.}-{3:3}

... which became HARDIRQ-irq-unsafe at:
...
  t.yaml:14:15 (regmap_sync): lock: &cache->lock

other info that might help us debug this:

 Possible interrupt unsafe locking scenario:

       CPU0                    CPU1
       ----                    ----
  lock(&cache->lock);
                               local_irq_disable();
                               lock(&map->spinlock);
                               lock(&cache->lock);
  <Interrupt>
    lock(&map->spinlock);

 *** DEADLOCK ***

1 lock held by regmap_write:
 #0: (&map->spinlock){-...}-{3:3}, at: t.yaml:19:15 (regmap_write)
`
	if got := splatBody(t, out); got != want {
		t.Errorf("--- got\n%s--- want\n%s", got, want)
	}
	wantRules(t, src, graph.Precise, "FC018")
	// Fixed: the cache lock is taken with interrupts disabled everywhere.
	wantClean(t, strings.Replace(src, `      - lock: "&cache->lock"
      - unlock: "&cache->lock"
  - name: regmap_write`, `      - lock: "&cache->lock"
        irq: save
      - unlock: "&cache->lock"
        irq: restore
  - name: regmap_write`, 1), graph.Lockdep)
}

// The same design with the interrupt handler last: the regmap lock "just
// changed" its state, so lockdep prints "possible irq lock inversion
// dependency detected", naming the unsafe lock it took in the past.
func TestIRQLockInversion(t *testing.T) {
	src := strings.NewReplacer("FIRST", regmapWrite, "SECOND", regmapIRQ).Replace(regmapSrc)
	out := wantRules(t, src, graph.Lockdep, "FC018")
	for _, want := range []string{
		"========================================================\nWARNING: possible irq lock inversion dependency detected\n",
		"codec_irq just changed the state of lock:\n(&map->spinlock){-...}-{3:3}, at: t.yaml:23:15 (codec_irq)\nbut this lock took another, HARDIRQ-unsafe lock in the past:\n (&cache->lock){+.+.}-{3:3}\n\n\nand interrupts could create inverse lock ordering between them.\n",
		"  lock(&cache->lock);\n                               local_irq_disable();\n                               lock(&map->spinlock);\n                               lock(&cache->lock);\n  <Interrupt>\n    lock(&map->spinlock);\n",
		"no locks held by codec_irq.\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("lacks %q:\n%s", want, out)
		}
	}
}

// A PASID xarray lock taken under a fence lock: the fence lock is
// HARDIRQ-safe because a fence-chain irq_work signals under it (irq_work
// runs in hardirq context), and the xarray lock is taken with interrupts on
// by the ioctl that allocates PASIDs.
func TestIRQWorkIsHardIRQ(t *testing.T) {
	src := `locks:
  - {name: "&fence->lock", kind: spinlock, irq_safe: true}
  - {name: "&xa->xa_lock", kind: spinlock}
paths:
  - name: chain_irq_work
    context: irq_work
    steps:
      - lock: "&fence->lock"
      - unlock: "&fence->lock"
  - name: pasid_alloc
    context: ioctl
    steps:
      - lock: "&xa->xa_lock"
      - unlock: "&xa->xa_lock"
  - name: fence_release_cb
    context: process
    steps:
      - lock: "&fence->lock"
      - lock: "&xa->xa_lock"
      - unlock: "&xa->xa_lock"
      - unlock: "&fence->lock"
`
	out := wantRules(t, src, graph.Lockdep, "FC018")
	if !strings.Contains(out, "HARDIRQ-safe &fence->lock reaches HARDIRQ-unsafe &xa->xa_lock: &fence->lock --> &xa->xa_lock") ||
		!strings.Contains(out, "... which became HARDIRQ-irq-safe at:\n  t.yaml:9:15 (chain_irq_work): lock: &fence->lock\n") {
		t.Errorf("want the irq_work use as the HARDIRQ-safe site:\n%s", out)
	}
	// As a plain worker, the fence lock is not irq-safe: clean.
	wantClean(t, strings.Replace(src, "context: irq_work", "context: worker", 1), graph.Lockdep)
}

// Softirq state: a lock used in a softirq and taken elsewhere with bottom
// halves enabled; spin_lock_bh outside the softirq fixes it.
func TestSoftIRQ(t *testing.T) {
	src := `locks:
  - {name: "&q->lock", kind: spinlock}
paths:
  - name: tasklet
    context: softirq
    steps:
      - lock: "&q->lock"
      - unlock: "&q->lock"
  - name: submit
    context: ioctl
    steps:
      - lock: "&q->lock"BH
      - unlock: "&q->lock"BH
`
	out := wantRules(t, strings.ReplaceAll(src, "BH", ""), graph.Lockdep, "FC015")
	if !strings.Contains(out, "inconsistent {IN-SOFTIRQ-W} -> {SOFTIRQ-ON-W} usage.\nsubmit [HC0[0]:SC0[0]:HE1:SE1] takes:") ||
		!strings.Contains(out, "fix: Take &q->lock with spin_lock_bh()") {
		t.Errorf("want the softirq inconsistency:\n%s", out)
	}
	wantClean(t, strings.ReplaceAll(src, "BH", "\n        irq: bh"), graph.Lockdep)
}

// local_irq_disable()/enable() regions: a lock taken inside one is not
// HARDIRQ-ON; enabling interrupts while it is still held makes it so.
func TestLocalIRQRegion(t *testing.T) {
	src := `locks:
  - {name: A, kind: spinlock}
paths:
  - name: handler
    context: irq
    steps:
      - lock: A
      - unlock: A
  - name: p
    context: kthread
    steps:
      - local_irq: disable
      - lock: A
      - unlock: A
      - local_irq: enable
`
	wantClean(t, src, graph.Lockdep)
	bad := strings.Replace(src, "      - unlock: A\n      - local_irq: enable\n", "      - local_irq: enable\n      - unlock: A\n", 1)
	out := wantRules(t, bad, graph.Lockdep, "FC015")
	if !strings.Contains(out, "inconsistent {IN-HARDIRQ-W} -> {HARDIRQ-ON-W} usage.\np [HC0[0]:SC0[0]:HE1:SE1] takes:\n(A){?.+.}-{3:3}, at: t.yaml:15:20 (p)") {
		t.Errorf("want the local_irq_enable as the HARDIRQ-ON site:\n%s", out)
	}
}

// Wait types: a spinlock_t under a raw_spinlock is an invalid wait context
// since v6.13 (PROVE_RAW_LOCK_NESTING on with PROVE_LOCKING), not before;
// a mutex under a raw_spinlock always is.
func TestInvalidWaitContext(t *testing.T) {
	src := `kernel: {version: "VERSION"}
locks:
  - {name: "&gt->irq_lock", kind: raw_spinlock}
  - {name: "&uc->lock", kind: INNER}
paths:
  - name: p
    context: kthread
    steps:
      - lock: "&gt->irq_lock"
        irq: save
      - lock: "&uc->lock"
      - unlock: "&uc->lock"
      - unlock: "&gt->irq_lock"
        irq: restore
`
	spin := strings.Replace(src, "INNER", "spinlock", 1)
	out := wantRules(t, strings.Replace(spin, "VERSION", "7.0", 1), graph.Lockdep, "FC017")
	want := `=============================
[ BUG: Invalid wait context ]
kernel 7.0 (fencecheck lockdep mode) t.yaml
-----------------------------
p is trying to lock:
(&uc->lock){....}-{3:3}, at: t.yaml:12:15 (p)
other info that might help us debug this:
context-{5:5}
1 lock held by p:
 #0: (&gt->irq_lock){....}-{2:2}, at: t.yaml:10:15 (p)
`
	if got := splatBody(t, out); got != want {
		t.Errorf("--- got\n%s--- want\n%s", got, want)
	}
	wantClean(t, strings.Replace(spin, "VERSION", "6.12", 1), graph.Lockdep)
	mutex := strings.Replace(src, "INNER", "mutex", 1)
	out = wantRules(t, strings.Replace(mutex, "VERSION", "6.12", 1), graph.Lockdep, "FC017")
	if !strings.Contains(out, "(&uc->lock){....}-{3:3}, at: t.yaml:12:15 (p)\nother info that might help us debug this:\ncontext-{4:4}\n") {
		t.Errorf("6.12: sleeping lock is wait type 3, task context 4:\n%s", out)
	}
	// In interrupt context a mutex is invalid; a spinlock_t is not (device
	// handlers may be threaded: LD_WAIT_CONFIG).
	irq := `locks:
  - {name: L, kind: KIND}
paths:
  - name: h
    context: irq
    steps:
      - lock: L
      - unlock: L
`
	wantClean(t, strings.Replace(irq, "KIND", "spinlock", 1), graph.Lockdep)
	if ds, _ := run(t, strings.Replace(irq, "KIND", "mutex", 1), graph.Lockdep); !strings.Contains(rulesIn(ds), "FC017") {
		t.Errorf("mutex in hardirq: want FC017, got %s", rulesIn(ds))
	}
}
