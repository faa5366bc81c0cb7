package exec

import (
	"fmt"

	"github.com/fencecheck/fencecheck/internal/model"
)

// signalComposites signals every dma_fence_array and dma_fence_chain link
// whose components have all signalled (kernel.FenceInfo.Components). An
// array signals from the callback of its last component, in that
// signaller's context (dma_fence_array_cb_func); a chain link from
// irq_work (dma_fence_chain_cb queues dma_fence_chain_irq_work).
// signal() calls it after each signal, so a composite of composites
// resolves in order; each fence signals once, so this ends.
func (s *sim) signalComposites(t *thread) {
	for _, name := range s.p.FenceOrder {
		fi := s.p.Fences[name]
		if len(fi.Components) == 0 || s.fences[name] {
			continue
		}
		ready := true
		for _, c := range fi.Components {
			if !s.fences[c] {
				ready = false
				break
			}
		}
		if !ready {
			continue
		}
		by, why := t, "dma_fence_array "+name+": its last pending fence signalled"
		if fi.Chain {
			by = &thread{name: "irq_work", context: model.CtxIRQWork, atomic: true}
			why = "dma_fence_chain " + name + ": its fence and previous link signalled (irq_work)"
		}
		s.signal(by, name, fi.Pos, why)
	}
}

// describeComposite explains a wait on an array or chain link: it waits for
// its first unsignalled component. It reports false for other fences.
func (s *sim) describeComposite(fence string, n *waitNode) bool {
	fi := s.p.Fences[fence]
	if fi == nil || len(fi.Components) == 0 {
		return false
	}
	for _, c := range fi.Components {
		if !s.fences[c] {
			n.step.Message = fmt.Sprintf("%s signals only after %s, which has not signalled", fence, c)
			n.step.To = c
			n.next = "fence:" + c
			return true
		}
	}
	return false
}
