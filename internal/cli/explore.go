package cli

import (
	"slices"

	"github.com/fencecheck/fencecheck/internal/diag"
	"github.com/fencecheck/fencecheck/internal/exec"
	"github.com/fencecheck/fencecheck/internal/explore"
	"github.com/fencecheck/fencecheck/internal/kernel"
)

// exploreReplay replays one explored interleaving with its trace.
func exploreReplay(p *kernel.Program, id string) (*exec.Schedule, error) {
	sch, err := explore.Replay(p, id)
	if err != nil {
		return nil, err
	}
	sch.Index = -1
	return sch, nil
}

// exploreWitnesses explores p and replays, with its trace, the first
// interleaving that showed each finding (one per distinct interleaving).
func exploreWitnesses(p *kernel.Program, opt explore.Options) *exec.Result {
	xr := explore.Run(p, opt)
	res := &exec.Result{Findings: xr.Findings}
	var ids []string
	for _, id := range xr.Witness {
		if !slices.Contains(ids, id) {
			ids = append(ids, id)
		}
	}
	slices.Sort(ids)
	for _, id := range ids {
		if sch, err := exploreReplay(p, id); err == nil {
			res.Schedules = append(res.Schedules, sch)
		}
	}
	if len(ids) == 0 {
		// Nothing found: show the non-preemptive interleaving.
		if sch, err := exploreReplay(p, "x"); err == nil {
			sch.Findings = append([]diag.Diagnostic(nil), sch.Findings...)
			res.Schedules = append(res.Schedules, sch)
		}
	}
	for _, s := range res.Schedules {
		s.Outcome += "; " + xr.Coverage()
	}
	return res
}
