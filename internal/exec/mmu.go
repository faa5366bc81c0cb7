package exec

// Userptrs and mmu notifiers: the read_begin/read_retry sequence, set_seq
// under the notifier lock, munmap (mm/mmu_notifier.c, mm/hmm.c).

import (
	"fmt"

	"github.com/fencecheck/fencecheck/internal/kernel"
)

func runMunmap(s *sim, t *thread, f *frame, o *kernel.Op) bool {
	s.unmapped[o.Ext().Obj] = true
	s.event(t, "munmap", o.Text, o.Pos)
	return true
}

func runReadBegin(s *sim, t *thread, f *frame, o *kernel.Op) bool {
	if s.unmapped[o.Ext().Obj] {
		// The range is gone: getting its pages fails and the ioctl
		// returns -EFAULT, releasing what it holds.
		s.event2(t, "fail", o.Text, ": the range is unmapped, the ioctl fails with -EFAULT", o.Pos)
		t.frames = nil
		s.finish(t)
		return false
	}
	if s.inval[o.Ext().Obj] > 0 {
		t.blocked = &blockOn{kind: "invalidation", inst: o.Ext().Obj, op: o}
		return false
	}
	if t.readBegin == nil {
		t.readBegin = map[string]readMark{}
	}
	t.readBegin[o.Ext().Obj] = readMark{frame: len(t.frames) - 1, pc: f.pc, held: len(t.held), seq: s.seq[o.Ext().Obj]}
	if s.opt.Trace {
		s.event(t, "read_begin", fmt.Sprintf("%s = seq %d", o.Text, s.seq[o.Ext().Obj]), o.Pos)
	} else {
		s.steps++
	}
	return true
}

func runSetSeq(s *sim, t *thread, f *frame, o *kernel.Op) bool {
	s.seq[o.Ext().Obj]++
	s.event(t, "set_seq", o.Text, o.Pos)
	return true
}

func runReadRetry(s *sim, t *thread, f *frame, o *kernel.Op) bool {
	m, ok := t.readBegin[o.Ext().Obj]
	if ok && s.seq[o.Ext().Obj] != m.seq && m.frame == len(t.frames)-1 {
		// An invalidation ran since read_begin: drop what was taken
		// since, and go again (the HMM retry loop, K10).
		for i := len(t.held) - 1; i >= m.held; i-- {
			if t.held[i].inst != "" {
				s.drop(t, t.held[i].inst)
			}
			t.held = t.held[:i]
		}
		s.event2(t, "read_retry", o.Text, ": the range was invalidated, retry from read_begin", o.Pos)
		f.pc = m.pc
		return false
	}
	s.event2(t, "read_retry", o.Text, " (no invalidation)", o.Pos)
	return true
}

func footMunmap(s *sim, t *thread, o *kernel.Op) []string {
	return []string{"unmapped:" + o.Ext().Obj}
}

func footReadBegin(s *sim, t *thread, o *kernel.Op) []string {
	if s.unmapped[o.Ext().Obj] {
		// The ioctl fails and the thread returns (finish): its exit's
		// footprint, what it holds included.
		exit := s.exitFoot(t)
		if exit == nil {
			return nil
		}
		return append([]string{"?unmapped:" + o.Ext().Obj, "?inval:" + o.Ext().Obj, "?seq:" + o.Ext().Obj}, exit...)
	}
	// Reads the invalidation count, the sequence and whether the
	// range is still mapped; writes only its own mark.
	return []string{"?inval:" + o.Ext().Obj, "?seq:" + o.Ext().Obj, "?unmapped:" + o.Ext().Obj}
}

func footSetSeq(s *sim, t *thread, o *kernel.Op) []string {
	// mmu_interval_set_seq bumps the sequence: two bumps commute,
	// and readers only compare it with their read_begin's value.
	return []string{"+seq:" + o.Ext().Obj}
}

func footReadRetry(s *sim, t *thread, o *kernel.Op) []string {
	// Reads the sequence; after an invalidation it loops back to
	// read_begin, dropping the locks taken since. With no
	// invalidation since read_begin it only reads (the footprint is
	// of the state the step runs in, as for zap_ptes): a set_seq
	// racing with it is a conflict on the sequence.
	foot := []string{"?seq:" + o.Ext().Obj}
	if !s.willRetry(t, o) {
		return foot
	}
	if m, ok := t.readBegin[o.Ext().Obj]; ok {
		for _, h := range t.held[min(m.held, len(t.held)):] {
			if h.inst != "" {
				foot = append(foot, "lock:"+h.inst, "resvslots:"+h.key)
			}
		}
	}
	return foot
}

// registered in transitions.go
func init() {
	stepKinds[kernel.OpMunmap] = stepKind{run: runMunmap, foot: footMunmap}
	stepKinds[kernel.OpReadBegin] = stepKind{run: runReadBegin, foot: footReadBegin}
	stepKinds[kernel.OpReadRetry] = stepKind{run: runReadRetry, foot: footReadRetry}
	stepKinds[kernel.OpRegNotifier] = stepKind{run: nil, foot: footPrivate}
	stepKinds[kernel.OpSetSeq] = stepKind{run: runSetSeq, foot: footSetSeq, footTag: tagOp}
}
