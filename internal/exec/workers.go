package exec

import "github.com/fencecheck/fencecheck/internal/model"

// markWorkloadWorkers makes a worker path that the workload starts with
// run: a work item that flush_work/flush_workqueue wait for, as one queued
// with queue_work is: in the kernel both are the same work_struct running
// in process_one_work (issue 14, gap 8: a flush under a mutex the worker
// takes was found as a cycle but never as a hang).
func (s *sim) markWorkloadWorkers() {
	for _, t := range s.threads {
		if t.src != nil && t.src.Workload && t.context == model.CtxWorker && t.worker == "" {
			t.worker = t.src.Root
		}
	}
}
