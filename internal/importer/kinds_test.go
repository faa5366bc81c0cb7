package importer_test

import (
	"strings"
	"testing"

	"github.com/fencecheck/fencecheck/internal/analysis"
	"github.com/fencecheck/fencecheck/internal/graph"
	"github.com/fencecheck/fencecheck/internal/rules"
)

// Reports of the other kinds, written in the formats of
// print_deadlock_bug(), print_usage_bug(), print_irq_inversion_bug() and
// check_hung_task() + debug_show_all_locks().
const recursiveLog = `============================================
WARNING: possible recursive locking detected
6.8.0 #1 Not tainted
--------------------------------------------
kworker/0:1/42 is trying to acquire lock:
ffff888100000000 (&dev->lock){+.+.}-{4:4}, at: foo_reset+0x10/0x20 [foo]

but task is already holding lock:
ffff888100000100 (&dev->lock){+.+.}-{4:4}, at: foo_work+0x8/0x20 [foo]

other info that might help us debug this:
 Possible unsafe locking scenario:

       CPU0
       ----
  lock(&dev->lock);
  lock(&dev->lock);

 *** DEADLOCK ***

 May be due to missing lock nesting notation

3 locks held by kworker/0:1/42:
 #0: ffff888100000200 ((wq_completion)events){+.+.}-{0:0}, at: process_one_work+0x1/0x2
 #1: ffff888100000300 ((work_completion)(&dev->work)){+.+.}-{0:0}, at: process_one_work+0x1/0x2
 #2: ffff888100000100 (&dev->lock){+.+.}-{4:4}, at: foo_work+0x8/0x20 [foo]

stack backtrace:
CPU: 0 PID: 42 Comm: kworker/0:1 Not tainted 6.8.0 #1
Call Trace:
 <TASK>
 dump_stack_lvl+0x1/0x2
 __lock_acquire+0x1/0x2
 lock_acquire+0x1/0x2
 __mutex_lock+0x1/0x2
 foo_reset+0x10/0x20 [foo]
 foo_work+0x30/0x40 [foo]
 process_one_work+0x1/0x2
 worker_thread+0x1/0x2
 kthread+0x1/0x2
 </TASK>
`

const inconsistentLog = `================================
WARNING: inconsistent lock state
6.8.0 #1 Not tainted
--------------------------------
inconsistent {HARDIRQ-ON-W} -> {IN-HARDIRQ-W} usage.
swapper/0/0 [HC1[1]:SC0[0]:HE0:SE1] takes:
ffff888100000400 (&ring->lock){?.+.}-{3:3}, at: ring_irq+0x1/0x2 [foo]
{HARDIRQ-ON-W} state was registered at:
  lock_acquire+0x1/0x2
  _raw_spin_lock+0x1/0x2
  ring_submit+0x1/0x2 [foo]
  foo_ioctl_submit+0x1/0x2 [foo]
  drm_ioctl_kernel+0x1/0x2
irq event stamp: 1234
stack backtrace:
Call Trace:
 <IRQ>
 _raw_spin_lock+0x1/0x2
 ring_irq+0x1/0x2 [foo]
 __handle_irq_event_percpu+0x1/0x2
 handle_irq_event+0x1/0x2
 </IRQ>
`

const inversionLog = `========================================================
WARNING: possible irq lock inversion dependency detected
6.8.0 #1 Not tainted
--------------------------------------------------------
swapper/0/0 just changed the state of lock:
ffff888100000400 (&ring->irq_lock){-...}-{3:3}, at: ring_irq_handler+0x1/0x2 [foo]
but this lock took another, HARDIRQ-unsafe lock in the past:
 (&ring->list_lock){+.+.}-{3:3}


and interrupts could create inverse lock ordering between them.
`

const hungLog = `INFO: task kworker/u8:2:123 blocked for more than 120 seconds.
      Not tainted 6.8.0 #1
"echo 0 > /proc/sys/kernel/hung_task_timeout_secs" disables this message.
task:kworker/u8:2    state:D stack:0     pid:123   ppid:2      flags:0x00004000
Call Trace:
 __schedule+0x1/0x2
 schedule+0x1/0x2
 dma_fence_default_wait+0x1/0x2
 foo_vm_bind+0x1/0x2 [foo]

Showing all locks held in the system:
1 lock held by khungtaskd/37:
 #0: ffffffff82000000 (rcu_read_lock){....}-{1:2}, at: debug_show_all_locks+0x1/0x2
2 locks held by kworker/u8:2/123:
 #0: ffff888100000500 (&vm->lock){++++}-{4:4}, at: foo_vm_bind+0x1/0x2 [foo]
 #1: ffff888100000600 (reservation_ww_class_mutex){+.+.}-{4:4}, at: foo_vm_bind+0x2/0x3 [foo]
`

func TestImportOtherKinds(t *testing.T) {
	cases := []struct {
		name, log, rule, lock, ctx string
	}{
		{"recursive", recursiveLog, rules.RecursiveLocking, "&dev->lock", "context: worker"},
		{"inconsistent", inconsistentLog, rules.IRQUnsafeLock, "&ring->lock", "context: irq"},
		{"inversion", inversionLog, rules.IRQUnsafeLock, "&ring->list_lock", "context: irq"},
	}
	for _, c := range cases {
		for _, v := range []struct {
			name string
			data []byte
		}{{"plain", []byte(c.log)}, {"quoted", quoteReply([]byte(c.log))}} {
			name := c.name + "/" + v.name
			im, sc := importOne(t, name, v.data)
			if !strings.Contains(im.YAML, c.ctx) {
				t.Errorf("%s: no %q in\n%s", name, c.ctx, im.YAML)
			}
			res := analysis.Run(sc, analysis.Options{Mode: graph.Lockdep})
			found := false
			for _, d := range res.Diags {
				if d.Rule == c.rule && (strings.Contains(d.Message, c.lock) || len(d.Cycle) > 0 && d.Cycle[0] == c.lock) {
					found = true
				}
			}
			if !found {
				t.Errorf("%s: no %s on %s in %v\n%s", name, c.rule, c.lock, res.Diags, im.YAML)
			}
			if vd := analysis.Verify(sc); vd.Status != "pass" {
				t.Errorf("%s: expect: %s %v", name, vd.Status, vd.Problems)
			}
		}
	}
	im, _ := importOne(t, "hung", []byte(hungLog))
	if !im.Unsupported || !strings.Contains(im.YAML, `lock: "&vm->lock"`) || strings.Contains(im.YAML, "rcu_read_lock") {
		t.Errorf("hung task import:\n%s", im.YAML)
	}
}

const waitLog = `=============================
[ BUG: Invalid wait context ]
6.8.0 #1 Not tainted
-----------------------------
kworker/0:1/42 is trying to lock:
ffff888100000000 (&dev->mutex){+.+.}-{4:4}, at: foo_update+0x1/0x2 [foo]
other info that might help us debug this:
context-{5:5}
1 lock held by kworker/0:1/42:
 #0: ffff888100000100 (&dev->spin){....}-{3:3}, at: foo_update+0x0/0x2 [foo]
stack backtrace:
Call Trace:
 __mutex_lock+0x1/0x2
 foo_update+0x1/0x2 [foo]
 process_one_work+0x1/0x2
`

func TestImportWaitContext(t *testing.T) {
	im, sc := importOne(t, "wait", []byte(waitLog))
	if !im.Unsupported || len(sc.File.Expect) != 0 {
		t.Errorf("wait context: want an import without expect:\n%s", im.YAML)
	}
	p := sc.File.Paths[0]
	if p.Context.V != "worker" || len(p.Steps) != 4 {
		t.Errorf("wait context path: %s with %d steps\n%s", p.Context.V, len(p.Steps), im.YAML)
	}
	if !strings.Contains(im.YAML, `{name: "&dev->spin", kind: spinlock}`) || !strings.Contains(im.YAML, `{name: "&dev->mutex", kind: mutex}`) {
		t.Errorf("kinds:\n%s", im.YAML)
	}
}

// Two ww acquire contexts nested in one task (a recursive report on the
// ww class): each gets its own name so the scenario loads, and the nesting
// is the recursive-locking finding.
func TestImportNestedTicket(t *testing.T) {
	log := strings.NewReplacer("&dev->lock", "reservation_ww_class_acquire", "{4:4}", "{0:0}").Replace(recursiveLog)
	im, sc := importOne(t, "ticket", []byte(log))
	if !strings.Contains(im.YAML, "ww_acquire_init: ticket2") {
		t.Errorf("no second ticket:\n%s", im.YAML)
	}
	res := analysis.Run(sc, analysis.Options{Mode: graph.Lockdep})
	found := false
	for _, d := range res.Diags {
		if d.Rule == rules.RecursiveLocking {
			found = true
		}
	}
	if !found {
		t.Errorf("no recursive locking: %v\n%s", res.Diags, im.YAML)
	}
}
