package hw

import "slices"

// Engines are the GPU's engines in one execution: each runs the jobs
// queued on it in order (Engine). Busy lists, by name, the engines with a
// queued job. A device's recoverable page faults stall its faulting jobs
// while a fault handler runs (R19): the number running per device is kept
// here too.
type Engines struct {
	byName map[string]*Engine
	names  []string // sorted
	busy   []string // sorted
	faults map[string]int
}

func NewEngines() *Engines {
	return &Engines{byName: map[string]*Engine{}, faults: map[string]int{}}
}

// Get returns the named engine, creating it idle on first use.
func (g *Engines) Get(name string) *Engine {
	e := g.byName[name]
	if e == nil {
		e = &Engine{Name: name}
		g.byName[name] = e
		i, _ := slices.BinarySearch(g.names, name)
		g.names = slices.Insert(g.names, i, name)
	}
	return e
}

// Lookup returns the named engine, or nil if no job ever used it.
func (g *Engines) Lookup(name string) *Engine { return g.byName[name] }

// Names lists every engine in use; Busy those with a queued job. Both are
// sorted.
func (g *Engines) Names() []string { return g.names }
func (g *Engines) Busy() []string  { return g.busy }

// Push queues job on the named engine (running it if the engine is idle).
func (g *Engines) Push(name, job string, duration int64) {
	g.Get(name).Push(job, duration)
	if i, ok := slices.BinarySearch(g.busy, name); !ok {
		g.busy = slices.Insert(g.busy, i, name)
	}
}

// Pop completes the named engine's head job and returns it ("" if idle).
func (g *Engines) Pop(name string, nextDuration func(job string) int64) string {
	e := g.byName[name]
	if e == nil {
		return ""
	}
	j := e.Pop(nextDuration)
	if j != "" && e.Head() == "" {
		if i, ok := slices.BinarySearch(g.busy, name); ok {
			g.busy = slices.Delete(g.busy, i, i+1)
		}
	}
	return j
}

// FaultStart and FaultEnd count the fault handlers running for a device;
// Faulting says whether one is.
func (g *Engines) FaultStart(dev string)    { g.faults[dev]++ }
func (g *Engines) FaultEnd(dev string)      { g.faults[dev]-- }
func (g *Engines) Faulting(dev string) bool { return g.faults[dev] > 0 }

// Faults is the number of running fault handlers per device (read only).
func (g *Engines) Faults() map[string]int { return g.faults }
