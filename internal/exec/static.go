package exec

import (
	"fmt"

	"github.com/fencecheck/fencecheck/internal/diag"
	"github.com/fencecheck/fencecheck/internal/kernel"
	"github.com/fencecheck/fencecheck/internal/model"
	"github.com/fencecheck/fencecheck/internal/rules"
)

// Static checks the rules that hold for every schedule, by looking at each
// thread's ops in order: a VM modified before a step that can fail (R24),
// and CPU page-table writes that the GPU may observe torn (seed 000).
func Static(p *kernel.Program) []diag.Diagnostic {
	var out []diag.Diagnostic
	seen := map[string]bool{}
	add := func(d diag.Diagnostic) {
		k := d.Rule + d.Pos.String()
		if !seen[k] {
			seen[k] = true
			out = append(out, d)
		}
	}
	recoverable := map[string]bool{}
	for _, d := range p.Scenario.File.Devices {
		if d.MMU != nil && d.MMU.RecoverableFaults.V {
			recoverable[d.Name.V] = true
		}
	}
	vmDev := map[string]string{}
	for _, v := range p.Scenario.File.VMs {
		vmDev[v.Name.V] = v.Device.V
	}
	for _, t := range p.Threads {
		var update *kernel.Op
		for i := range t.Ops {
			o := t.Ops[i]
			if o.Kind == kernel.OpVMUpdate && update == nil {
				update = &t.Ops[i]
			}
			if update != nil {
				if why := canFail(o); why != "" {
					add(diag.Diagnostic{File: p.File, Pos: update.Pos, Rule: rules.PartialVMUpdate, Severity: rules.SeverityOf(rules.PartialVMUpdate),
						Message: fmt.Sprintf("VM %s is modified (%s) before a step that can fail (%s); the failure leaves the VM half updated (R24)", update.Ext().Obj, update.Text, why),
						Chain: []diag.Step{
							{File: p.File, Pos: update.Pos, Path: update.InPath(), Context: t.Context, Message: "the VA tree is modified here: " + update.Text},
							{File: p.File, Pos: o.Pos, Path: o.InPath(), Context: t.Context, Message: "this step can fail: " + why},
						},
						Hint: "Lock every object (drm_gpuvm_sm_map_exec_lock in one drm_exec loop) and pre-allocate before the first VA-tree update."})
				}
			}
			if o.Kind == kernel.OpWritePTE && !o.Atomic && recoverable[vmDev[o.Ext().Obj]] {
				add(diag.Diagnostic{File: p.File, Pos: o.Pos, Rule: rules.NonAtomicPTE, Severity: rules.SeverityOf(rules.NonAtomicPTE),
					Message: fmt.Sprintf("the CPU writes PTEs of %s non-atomically while device %s may retry faults on them: the GPU can read a torn 64-bit entry", o.Ext().Obj, vmDev[o.Ext().Obj]),
					Chain:   []diag.Step{{File: p.File, Pos: o.Pos, Path: o.InPath(), Context: t.Context, Message: o.Text}},
					Hint:    "Update page tables through the kernel paging engine (a kernel-only entity), or write PTEs atomically."})
			}
		}
	}
	diag.Sort(out)
	return out
}

// canFail says why an op may fail and return early, or "".
func canFail(o kernel.Op) string {
	switch o.Kind {
	case kernel.OpFail:
		return "fail: " + o.Text
	case kernel.OpAcquire:
		if o.Interruptible {
			return "interruptible lock, -EINTR: " + o.Text
		}
		if o.Ext().Ctx != "" {
			return "ww lock under contention, -EDEADLK: " + o.Text
		}
	case kernel.OpWait, kernel.OpWaitResv:
		if o.Interruptible {
			return "interruptible wait, -ERESTARTSYS: " + o.Text
		}
	case kernel.OpAlloc, kernel.OpReserve:
		if o.GFP&model.GFPDirectReclaim == 0 || o.Kind == kernel.OpReserve {
			return "allocation may fail, -ENOMEM: " + o.Text
		}
	}
	return ""
}
