package kernel

import (
	"strings"

	"github.com/fencecheck/fencecheck/internal/model"
)

// Completions, workqueues and SRCU (docs/model.md, "Waits that are not
// fences"). Each lowers to primitives the executor already runs:
//
//   - wait_for_completion(C) is a wait on the synthetic fence
//     "completion(C)" and complete(C) its signal, so the executor blocks the
//     waiter until some thread completes it. The completing thread holds a
//     section of the completion from its start to the complete() (a
//     read-trylock, as a fence signalling section): what it does before
//     complete() is what the waiter waits for. Lockdep has not tracked
//     completions since cross-release was removed (v4.15), so lockdep mode
//     sees neither the wait nor the section.
//   - a worker on a workqueue runs under (wq_completion)WQ, then its own
//     (work_completion) map (process_one_work); flush_workqueue touches the
//     queue's map (touch_wq_lockdep_map) and waits for each work item of the
//     queue; flush_work touches the queue's map too when the queue is ordered
//     or has a rescuer (start_flush_work).
//   - srcu_read_lock is a recursive-read acquire of the srcu_struct's map
//     (srcu_lock_acquire -> lock_map_acquire_read) and synchronize_srcu a
//     write acquire and release (srcu_lock_sync -> lock_sync, v6.4+): it
//     waits until no reader holds it.

// CompletionNode names a completion's node (and synthetic fence).
func CompletionNode(name string) string { return "completion(" + name + ")" }

// IsCompletion reports a completion node.
func IsCompletion(name string) bool { return strings.HasPrefix(name, "completion(") }

// WQNode names a workqueue's lockdep map as lockdep prints it.
func WQNode(wq string) string { return "(wq_completion)" + wq }

// WorkNode names a work item's lockdep map.
func WorkNode(path string) string { return "(work_completion)(" + path + ")" }

// CompletionUnannotated says why lockdep mode ignores a completion.
const CompletionUnannotated = "lockdep does not track completions (cross-release checking was removed in v4.15)"

func (c *compiler) workqueue(name string) *model.Workqueue {
	for i := range c.f.Workqueues {
		if c.f.Workqueues[i].Name.V == name {
			return &c.f.Workqueues[i]
		}
	}
	return nil
}

// isSyncStep says whether syncStep may lower op (so that other steps are
// not copied into it).
func isSyncStep(op string) bool {
	switch op {
	case "user_access", "pin", "wait_for_completion", "complete", "synchronize_srcu",
		"flush_workqueue", "drain_workqueue", "flush_work", "cancel_work_sync":
		return true
	}
	return false
}

// syncStep lowers the completion, workqueue and SRCU steps; ok is false for
// any other step.
func (c *compiler) syncStep(s *model.Step, op string, v model.Str, o Op) (out []Op, ok bool) {
	switch op {
	case "user_access":
		return c.userAccess(s, v, o), true
	case "pin":
		if _, ok := c.userptrs[v.V]; ok {
			return c.pinUser(v, o), true
		}
	case "wait_for_completion":
		o.Kind, o.Mut().Fence, o.Text = OpWait, CompletionNode(v.V), "wait_for_completion("+v.V+")"
		return []Op{o}, true
	case "complete":
		o.Kind, o.Mut().Fence, o.Text = OpSignal, CompletionNode(v.V), "complete("+v.V+")"
		end := o
		end.Kind, end.Text = OpEndSig, "complete("+v.V+") returns: later steps no longer delay its waiters"
		return []Op{o, end}, true
	case "synchronize_srcu":
		// The same as sync: (lock_sync(), a write acquire released at once).
		o.Kind, o.Lock, o.Sync = OpMight, v.V, true
		o.Text = "synchronize_srcu(" + v.V + ")"
		return []Op{o}, true
	case "flush_workqueue", "drain_workqueue":
		t := o
		t.Kind, t.Lock, t.Mut().Obj, t.Text = OpFlushWQ, WQNode(v.V), v.V, op+"("+v.V+")"
		out = append(out, t)
		for _, p := range c.f.Paths {
			if p.Workqueue.V == v.V {
				w := o
				w.Kind, w.Lock = OpFlushWork, WorkNode(p.Name.V)
				x := w.Mut()
				x.Path, x.Obj = p.Name.V, v.V
				w.Text = op + "(" + v.V + ") waits for " + p.Name.V
				out = append(out, w)
			}
		}
		return out, true
	case "flush_work", "cancel_work_sync":
		if p := c.paths[v.V]; p != nil && op == "flush_work" {
			if wq := c.workqueue(p.Workqueue.V); wq != nil && (wq.Ordered.V || wq.MemReclaim.V) {
				t := o
				t.Kind, t.Lock, t.Text = OpFlushWQ, WQNode(wq.Name.V), "flush_work("+v.V+") on "+wq.Name.V+": start_flush_work touches the queue's map (ordered or rescuer)"
				out = append(out, t)
			}
		}
		o.Kind, o.Mut().Path, o.Lock = OpFlushWork, v.V, WorkNode(v.V)
		return append(out, o), true
	}
	return nil, false
}

// srcuRead turns a lock of an srcu class into srcu_read_lock: a recursive
// read acquire of its map.
func (c *compiler) srcuRead(o *Op, ref string) {
	if l := c.locks[ref]; l != nil && l.Kind.V == "srcu" {
		o.Mode = RecursiveRead
		o.Text = "srcu_read_lock(" + ref + ")"
	}
}

// completionSections gives every thread that completes a completion the
// completion's section from its start (see above).
func (c *compiler) completionSections() {
	for _, t := range c.p.Threads {
		var seen map[string]bool
		for i := range t.Ops {
			o := &t.Ops[i]
			if o.Kind != OpSignal || !IsCompletion(o.Ext().Fence) || seen[o.Ext().Fence] {
				continue
			}
			if seen == nil {
				seen = map[string]bool{}
			}
			seen[o.Ext().Fence] = true
			h := section(o.Ext().Fence, t.Name+" completes "+strings.TrimSuffix(strings.TrimPrefix(o.Ext().Fence, "completion("), ")")+" here: its waiters wait for everything before", o.Pos)
			h.Unannotated = CompletionUnannotated
			t.Entry = append(t.Entry, h)
		}
	}
}

// workerEntry is what process_one_work holds around a work function: the
// queue's map (unless system_wq), then the work's.
func (c *compiler) workerEntry(p *model.Path) []Held {
	var hs []Held
	if p.Workqueue.V != "" {
		hs = append(hs, Held{Lock: WQNode(p.Workqueue.V), Why: "worker " + p.Name.V + " runs under its workqueue's map (process_one_work)", Pos: p.Workqueue.P})
	}
	return append(hs, Held{Lock: WorkNode(p.Name.V), Why: "worker " + p.Name.V + " runs under its work map", Pos: p.Name.P})
}
