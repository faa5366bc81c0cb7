package kernel

import "github.com/fencecheck/fencecheck/internal/model"

// prepareAndRun is the scheduler's run work for a job with a prepare_job
// callback: drm_sched_entity_pop_job() -> drm_sched_job_dependency() calls
// ops->prepare_job until it returns no fence, then drm_sched_run_job_work()
// calls ops->run_job (drivers/gpu/drm/scheduler/sched_entity.c, sched_main.c).
// Both run before the job's finished fence can signal, so both are its
// signalling code (R16); the executor runs them as one thread, in order.
func (c *compiler) prepareAndRun(job string, ji *JobInfo) {
	prep := c.paths[ji.PrepareJob]
	if prep == nil {
		return
	}
	c.rooted[ji.PrepareJob] = true
	entry := c.schedHeld(ji.Scheduler, []Held{section(ji.Fence, "prepare_job and run_job of "+job+" (R16)", ji.Pos)})
	entry = append(entry, c.pathSections(prep)...)
	name, ctx := "prepare_job("+job+")", model.CtxPrepareJob
	ops := c.expand(prep, model.CtxPrepareJob, 0, false)
	if run := c.paths[ji.RunJob]; run != nil {
		c.rooted[ji.RunJob] = true
		entry = append(entry, c.pathSections(run)...)
		name, ctx = "run_job("+job+")", model.CtxRunJob
		ops = append(ops, c.expand(run, model.CtxRunJob, 0, false)...)
	}
	c.p.Threads = append(c.p.Threads, &Thread{Name: name, Context: ctx, Root: ji.PrepareJob, Entry: entry,
		Ops: ops, Pos: prep.Name.P, Trigger: "job-run:" + job})
}
