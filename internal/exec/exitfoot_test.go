package exec

import (
	"slices"
	"strings"
	"testing"

	"github.com/fencecheck/fencecheck/internal/scenariotest"
)

// TestReadBeginOnUnmappedRangeDeclaresTheExit: read_begin on a range
// already unmapped ends the thread (-EFAULT). For a run_job thread that
// exit hands the job to its engine and frees its scheduler, so the step's
// footprint must say so, as the thread's normal exit does (an audit
// found it declared only the locks held).
func TestReadBeginOnUnmappedRangeDeclaresTheExit(t *testing.T) {
	src := `fencecheck: 1
devices:
  - name: gpu
    engines: [{name: gfx}]
    schedulers:
      - {name: sched, engine: gfx, entities: [{name: q}]}
vms:
  - {name: vm0, device: gpu}
userptrs:
  - {name: up, device: gpu, vm: vm0, notifier: inv}
jobs:
  - {name: j1, entity: q, submit: sub, run_job: rj}
paths:
  - {name: inv, context: notifier, steps: [{zap_ptes: up}]}
  - {name: sub, context: ioctl, steps: [{sleep: x}]}
  - {name: rj, context: run_job, steps: [{read_begin: up}, {sleep: y}]}
workload:
  - munmap: up
  - submit: j1
`
	m := NewMachine(scenariotest.Compile(t, "rb.yaml", src), 1000, false)
	for i := 0; i < 100; i++ {
		en := m.Enabled()
		if len(en) == 0 {
			break
		}
		for _, tr := range en {
			if strings.HasPrefix(tr.Actor, "run_job(j1)") && slices.Contains(tr.Foot, "?unmapped:up") {
				if !slices.Contains(tr.Foot, "engine:gfx") || !slices.Contains(tr.Foot, "sched:sched") {
					t.Fatalf("read_begin on the unmapped range ends run_job, but its footprint is %v", tr.Foot)
				}
				return
			}
		}
		m.Step(0) // munmap first (FIFO order), then the submission
	}
	t.Fatal("the run_job thread never reached read_begin on the unmapped range")
}
