package kernel

import "github.com/fencecheck/fencecheck/internal/model"

// ObservedDep is a dependency a running kernel's lockdep recorded, from a
// base file (`fencecheck import lockdep`): From was held when To was
// acquired. It is a fact about the kernel, positioned in the base.
type ObservedDep struct {
	From, To string
	File     string
	Pos      model.Pos
}

// bases merges the scenario's bases: their lock classes (unless the
// scenario declares the class itself) and their observed dependencies, and
// the scenario's own observed: section.
func (c *compiler) bases() {
	n := 0
	count := func(f *model.File) {
		for _, o := range f.Observed {
			n += len(o.To)
		}
	}
	for _, b := range c.sc.Bases {
		count(b.File)
	}
	count(c.f)
	if n > 0 {
		c.p.Observed = make([]ObservedDep, 0, n)
	}
	add := func(sc *model.Scenario) {
		for i := range sc.File.Locks {
			l := &sc.File.Locks[i]
			if _, ok := c.locks[l.Name.V]; ok {
				continue
			}
			c.locks[l.Name.V] = l
			c.p.lockKinds[l.Name.V] = l.Kind.V
			c.p.irqSafe[l.Name.V] = l.IRQSafe.V
		}
		for _, o := range sc.File.Observed {
			for _, to := range o.To {
				c.p.Observed = append(c.p.Observed, ObservedDep{From: o.From.V, To: to.V, File: sc.Path, Pos: to.P})
			}
		}
	}
	for _, b := range c.sc.Bases {
		add(b)
	}
	for _, o := range c.f.Observed {
		for _, to := range o.To {
			c.p.Observed = append(c.p.Observed, ObservedDep{From: o.From.V, To: to.V, File: c.sc.Path, Pos: to.P})
		}
	}
}
