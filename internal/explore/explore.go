// Package explore is the systematic explorer: stateless model checking over
// the executor's transitions (exec.Machine). It runs every interleaving of
// a design up to a preemption bound (CHESS's iterative context bounding:
// Musuvathi and Qadeer, PLDI 2007), deepening the bound from 0 so that each
// finding is first shown by an interleaving with the fewest preemptions;
// or, in exhaustive mode, every interleaving with sleep-set reduction
// (Godefroid 1996): two interleavings that differ only in the order of
// independent steps (different lock instances, fences, objects) are run
// once. Sleep sets are not combined with the preemption bound, which is
// unsound (Coons, Musuvathi and McKinley, OOPSLA 2013).
//
// The explorer knows nothing about locks or fences: it asks the machine
// which transitions are enabled, whether two are dependent, and to apply
// one; it replays a prefix to backtrack.
package explore

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/fencecheck/fencecheck/internal/diag"
	"github.com/fencecheck/fencecheck/internal/exec"
	"github.com/fencecheck/fencecheck/internal/kernel"
)

// Defaults, chosen from the library and the chain benchmarks
// (docs/performance.md): most bugs need at most two preemptions (CHESS),
// and the budget bounds a run of the largest generated designs.
const (
	DefaultBound  = 2
	DefaultBudget = 20000
	// DefaultMaxDepth caps the length of one execution: an explored step
	// costs footprints, clocks and race checks for every live actor, so
	// designs whose FIFO run is longer are for random schedules.
	DefaultMaxDepth = 20000
	// DefaultStepBudget caps the scheduling points of one exploration:
	// about twice what the library's largest complete exploration takes
	// (seeds/03-dma-resv-usages: 0.7 million), several seconds of work.
	DefaultStepBudget = 1_500_000
)

// Options select the exploration.
type Options struct {
	// Exhaustive explores every interleaving (sleep sets, no bound);
	// otherwise the preemption bound is deepened from 0 to Bound.
	Exhaustive bool
	Bound      int
	// Budget caps the number of executions (0: DefaultBudget).
	Budget int
	// StepBudget caps the scheduling points taken over all executions
	// (0: DefaultStepBudget), so that the cost of a run is bounded by
	// the design's size as well as by the number of interleavings.
	StepBudget int
	// Invariants checks the machine state after every step.
	Invariants bool
	// MaxDepth caps the scheduling points of one execution (0: default).
	MaxDepth int
	// NoReduction turns partial-order reduction off in bounded mode:
	// every choice within the bound is explored (the reference the
	// reduction is tested against).
	NoReduction bool
	// Stepwise turns off the atomic critical sections (exec/atomic.go):
	// the reference that reduction is tested against. Its interleaving
	// IDs do not replay.
	Stepwise bool
	// NoCache turns state caching off in exhaustive mode (cache.go): the
	// reference that reduction is tested against.
	NoCache bool
}

// Result is what the exploration covered and found.
type Result struct {
	Findings   []diag.Diagnostic
	Executions int // in the last (deepest) pass
	Total      int // over all passes
	Redundant  int // executions cut by sleep sets
	Joined     int // executions cut at a state explored before (cache.go)
	Steps      int // scheduling points taken (replayed prefixes included)
	Bound      int // deepest bound explored completely (-1: none)
	Exhaustive bool
	Complete   bool
	TooDeep    int // an execution was longer than MaxDepth (FIFO steps, or scheduling points)
	Violations []string
	// FIFO is the FIFO schedule's result when the design was too deep to
	// explore (TooDeep): what is left to report.
	FIFO *exec.Result
	// Witness maps each finding (rule, fingerprint, message) to the ID of
	// the interleaving with the fewest preemptions (then steps) seen to
	// show it, for fencecheck trace --schedule.
	Witness map[string]string
}

// Coverage says honestly what was explored.
func (r *Result) Coverage() string {
	switch {
	case r.TooDeep > 0:
		return fmt.Sprintf("not explored: an execution has more than %d steps; use --explore random=N", r.TooDeep)
	case r.Complete && r.Exhaustive && r.Joined > 0:
		return fmt.Sprintf("explored all %d interleavings (complete; %d more cut by sleep sets, %d at a state explored before)", r.Executions, r.Redundant, r.Joined)
	case r.Complete && r.Exhaustive:
		return fmt.Sprintf("explored all %d interleavings (complete; %d more cut by sleep sets)", r.Executions, r.Redundant)
	case r.Complete:
		return fmt.Sprintf("explored all %d interleavings up to %d preemptions (complete)", r.Executions, r.Bound)
	case r.Exhaustive && r.Joined > 0:
		return fmt.Sprintf("stopped at budget after %d interleavings (and %d stopped at a state explored before); exhaustive exploration not finished", r.Total, r.Joined)
	case r.Exhaustive:
		return fmt.Sprintf("stopped at budget after %d interleavings; exhaustive exploration not finished", r.Total)
	case r.Bound >= 0:
		return fmt.Sprintf("stopped at budget after %d interleavings; complete up to %d preemptions, bound %d not exhausted", r.Total, r.Bound, r.Bound+1)
	}
	return fmt.Sprintf("stopped at budget after %d interleavings; bound 0 not exhausted", r.Total)
}

type node struct {
	en    []exec.Transition
	cur   int
	done  []bool
	sleep []exec.Transition
	prev  string // actor of the previous step
	pre   int    // preemptions before this choice
	// backtrack: choices DPOR found must also be explored from here
	// (exhaustive mode); nil in bounded mode, where every choice is.
	backtrack []bool
	// seen: actors first present at this state (replayed into the clocks).
	seen []string
	// State caching (cache.go): the state's fingerprint, and the pending
	// transitions seen at it and below it.
	fp    [2]uint64
	hasFP bool
	sum   bitset
}

// preempts: choosing j switches away from an actor that could go on.
func (n *node) preempts(j int) bool {
	if n.prev == "" || n.en[j].Actor == n.prev {
		return false
	}
	for _, t := range n.en {
		if t.Actor == n.prev {
			return true
		}
	}
	return false
}

// deflt is the non-preemptive choice: the previous actor if it can go on,
// else the first enabled one. IDs record only deviations from it.
func (n *node) deflt() int {
	for j, t := range n.en {
		if t.Actor == n.prev {
			return j
		}
	}
	return 0
}

func (n *node) sleeping(j int) bool {
	for _, s := range n.sleep {
		if s.Actor == n.en[j].Actor {
			return true
		}
	}
	return false
}

// Run explores p.
func Run(p *kernel.Program, opt Options) *Result {
	if opt.Budget <= 0 {
		opt.Budget = DefaultBudget
	}
	if opt.Bound < 0 {
		opt.Bound = 0
	}
	if opt.MaxDepth <= 0 {
		opt.MaxDepth = DefaultMaxDepth
	}
	if opt.StepBudget <= 0 {
		opt.StepBudget = DefaultStepBudget
	}
	res := &Result{Bound: -1, Exhaustive: opt.Exhaustive, Witness: map[string]string{}}
	maxSteps := exec.StepBudget(p)
	// The FIFO schedule measures the design first: one execution of the
	// plain executor costs a fraction of one explored execution (no
	// footprints, no clocks), and a design whose executions are longer
	// than the depth cap is not explored at all.
	fifo := exec.Run(p, exec.Options{Schedules: 1, Only: -1, MaxSteps: maxSteps})
	if len(fifo.Schedules) == 1 && fifo.Schedules[0].Steps > opt.MaxDepth {
		res.TooDeep, res.FIFO = opt.MaxDepth, fifo
		return res
	}
	seen := map[string]witness{}
	bounds := []int{}
	if opt.Exhaustive {
		bounds = append(bounds, -1)
	} else {
		for k := 0; k <= opt.Bound; k++ {
			bounds = append(bounds, k)
		}
	}
	for _, k := range bounds {
		e := &explorer{p: p, opt: opt, k: k, maxSteps: maxSteps, res: res, seen: seen}
		if k < 0 && !opt.NoCache {
			e.cache = newStateCache()
		}
		if !e.pass() {
			shorten(p, opt, maxSteps, res, seen)
			diag.Sort(res.Findings)
			return res
		}
		res.Executions = e.executions
		if k >= 0 {
			res.Bound = k
		}
	}
	res.Complete = true
	shorten(p, opt, maxSteps, res, seen)
	diag.Sort(res.Findings)
	return res
}

// Budgets of the shortening passes, a tenth of the exploration's.
const (
	shortenBudget     = DefaultBudget / 10
	shortenStepBudget = DefaultStepBudget / 10
)

// shorten gives each finding of an exhaustive exploration the
// counterexample with the fewest preemptions: DPOR runs one interleaving
// per class of equivalent ones, not necessarily the one with the fewest
// preemptions. Bounded passes at 0, 1, ... preemptions (iterative
// deepening, as CHESS does) replace a witness by one within the bound;
// once a pass completes, no finding it did not show needs so few. A pass
// stops at its own budget, and the witnesses are then the best seen.
func shorten(p *kernel.Program, opt Options, maxSteps int, res *Result, seen map[string]witness) {
	if !opt.Exhaustive || res.TooDeep > 0 {
		return
	}
	sopt := opt
	sopt.Exhaustive, sopt.Budget, sopt.StepBudget = false, shortenBudget, shortenStepBudget
	for k := 0; ; k++ {
		worst := -1
		for _, w := range seen {
			worst = max(worst, w.cost[0])
		}
		if k >= worst {
			return
		}
		tmp := &Result{Bound: -1, Witness: res.Witness, Findings: res.Findings}
		e := &explorer{p: p, opt: sopt, k: k, maxSteps: maxSteps, res: tmp, seen: seen}
		done := e.pass()
		res.Findings = tmp.Findings
		if !done {
			return
		}
	}
}

type explorer struct {
	p          *kernel.Program
	opt        Options
	k          int // preemption bound; -1 unbounded with sleep sets
	maxSteps   int
	res        *Result
	seen       map[string]witness
	stack      []*node
	executions int
	cache      *stateCache // nil: no state caching
}

// pass explores every interleaving within the bound; false when the budget
// ran out first.
func (e *explorer) pass() bool {
	for {
		if e.res.Total >= e.opt.Budget || e.res.Steps >= e.opt.StepBudget || e.res.TooDeep > 0 {
			diag.Sort(e.res.Findings)
			return false
		}
		e.execute()
		if e.res.TooDeep > 0 {
			diag.Sort(e.res.Findings)
			return false
		}
		if !e.backtrack() {
			return true
		}
	}
}

func (e *explorer) execute() {
	m := exec.NewMachine(e.p, e.maxSteps, false)
	if e.opt.Invariants {
		m.SetInvariants()
	}
	if e.opt.Stepwise {
		m.SetStepwise()
	}
	for d, n := range e.stack {
		en := m.Enabled()
		if len(en) != len(n.en) || en[n.cur].Actor != n.en[n.cur].Actor {
			e.res.Violations = append(e.res.Violations, fmt.Sprintf("replay diverged at step %d", d))
			return
		}
		m.Step(n.cur)
	}
	e.res.Steps += len(e.stack) // replaying the prefix costs as much as taking it
	hb := newClocks()
	memo := map[string]pendingMemo{}
	{
		for d, n := range e.stack {
			for _, a := range n.seen {
				hb.see(a, d)
			}
			hb.event(d, n.en[n.cur])
		}
	}
	prev, pre := "", 0
	if len(e.stack) > 0 {
		top := e.stack[len(e.stack)-1]
		prev, pre = top.en[top.cur].Actor, top.pre
		if top.preempts(top.cur) {
			pre++
		}
	}
	redundant, joined := false, false
	for {
		en := m.Enabled()
		if len(en) == 0 {
			e.lastRaces(hb, m, memo)
			break
		}
		if len(e.stack) >= e.opt.MaxDepth {
			e.res.TooDeep = e.opt.MaxDepth
			return
		}
		n := &node{en: append([]exec.Transition(nil), en...), prev: prev, pre: pre, done: make([]bool, len(en))}
		if e.k < 0 && len(e.stack) > 0 {
			n.sleep = childSleep(e.stack[len(e.stack)-1])
		}
		if e.cache != nil && e.cache.join(e, hb, m, n) {
			joined = true
			break
		}
		pick := n.deflt()
		if n.sleeping(pick) {
			pick = -1
			for j := range n.en {
				if !n.sleeping(j) {
					pick = j
					break
				}
			}
			if pick < 0 {
				redundant = true // every continuation was explored before
				e.lastRaces(hb, m, memo)
				break
			}
		}
		n.cur = pick
		e.stack = append(e.stack, n)
		if !(e.opt.NoReduction && e.k >= 0) {
			n.backtrack = make([]bool, len(n.en))
			n.backtrack[pick] = true
			pending := m.Pending()
			e.races(hb, pending, memo)
			if e.cache != nil {
				e.cache.record(n, pending)
			}
			hb.event(len(e.stack)-1, n.en[pick])
		}
		if n.preempts(pick) {
			pre++
		}
		prev = n.en[pick].Actor
		m.Step(pick)
		e.res.Steps++
	}
	e.res.Violations = append(e.res.Violations, m.Violations()...)
	if !joined {
		e.executions++
		e.res.Total++
	}
	if redundant {
		e.res.Redundant++
		return
	}
	id := e.id()
	lab := label(id, pre)
	var sch *exec.Schedule
	if joined {
		e.res.Joined++
		sch = m.Partial(lab, id)
	} else {
		sch = m.Result(lab, id)
	}
	cost := [2]int{pre, len(e.stack)}
	for _, d := range sch.Findings {
		key := d.Rule + "\x00" + d.Fingerprint
		if d.Fingerprint == "" {
			// The message names its interleaving (a hang's); the same
			// finding in another interleaving is the same finding.
			key = d.Rule + "\x00" + d.Pos.String() + "\x00" + strings.Replace(d.Message, "interleaving "+lab, "", 1)
		}
		// Each finding keeps the interleaving that shows it with the
		// fewest preemptions, then the fewest steps: the shortest
		// counterexample among those explored.
		w, ok := e.seen[key]
		if ok && (w.cost[0] < cost[0] || w.cost[0] == cost[0] && w.cost[1] <= cost[1]) {
			continue
		}
		if ok {
			old := e.res.Findings[w.index]
			delete(e.res.Witness, old.Rule+"\x00"+old.Fingerprint+"\x00"+old.Message)
			e.res.Findings[w.index] = d
		} else {
			w.index = len(e.res.Findings)
			e.res.Findings = append(e.res.Findings, d)
		}
		w.cost = cost
		e.seen[key] = w
		e.res.Witness[d.Rule+"\x00"+d.Fingerprint+"\x00"+d.Message] = id
	}
}

// lastRaces checks the races of the transitions pending in the state an
// execution ends in: none enabled (the end, or a hang) or every enabled
// one asleep. DPOR updates the backtrack sets on entering every state,
// whether or not anything is explored from it (Flanagan and Godefroid,
// POPL 2005, Explore's first loop): a thread that blocks there on a lock
// another holds races with that lock's acquisition, and skipping the
// check lost ABBA deadlocks whose second acquisition only ever blocked in
// a sleep-set-blocked execution (TestStateCachingLosesNothing's designs).
func (e *explorer) lastRaces(hb *clocks, m *exec.Machine, memo map[string]pendingMemo) {
	if e.opt.NoReduction && e.k >= 0 {
		return
	}
	pending := m.Pending()
	if len(pending) == 0 {
		return
	}
	e.stack = append(e.stack, &node{})
	e.races(hb, pending, memo)
	e.stack = e.stack[:len(e.stack)-1]
	if e.cache != nil && len(e.stack) > 0 {
		e.cache.record(e.stack[len(e.stack)-1], pending)
	}
}

// witness is the best interleaving seen for a finding.
type witness struct {
	index int    // in Result.Findings
	cost  [2]int // preemptions, scheduling points
}

// childSleep: what sleeps after the parent's choice is what slept or was
// explored before it at the parent, unless dependent on the choice.
func childSleep(parent *node) []exec.Transition {
	t := parent.en[parent.cur]
	var out []exec.Transition
	for _, s := range parent.sleep {
		if !exec.Dependent(s, t) {
			out = append(out, s)
		}
	}
	for j, d := range parent.done {
		if d && j != parent.cur && !exec.Dependent(parent.en[j], t) {
			out = append(out, parent.en[j])
		}
	}
	return out
}

// races is DPOR's step (Flanagan and Godefroid, POPL 2005) at the state on
// top of the stack: for each actor's next transition p, the last earlier
// step that is dependent with p and does not happen before it is a race;
// the state before that step must also try p first (or, if p was not
// enabled there, an actor whose later steps lead to p; or, failing that,
// everything).
//
// Under a preemption bound, trying p there may be a preemption the bound
// forbids, so the race is also reversed conservatively at the state where
// the racing step's actor began its current run, where switching costs no
// new preemption (BPOR: Coons, Musuvathi and McKinley, "Bounded
// partial-order reduction", OOPSLA 2013, section 4).
//
// A pending transition unchanged since it was last checked (same
// footprint, same blocking; its actor's clock only moves when it steps)
// has had every older step checked already: only the steps since are
// scanned, so that a long execution costs linear, not quadratic, time.
func (e *explorer) races(hb *clocks, pending []exec.Transition, memo map[string]pendingMemo) {
	k := len(e.stack) - 1 // the state being extended; its step is not taken yet
	top := e.stack[k]
	for _, p := range pending {
		if _, ok := hb.first[p.Actor]; !ok {
			hb.see(p.Actor, k)
			top.seen = append(top.seen, p.Actor)
		}
		cp := hb.clock(p.Actor)
		from := 0
		if mm, ok := memo[p.Actor]; ok && mm.blocked == p.Blocked && slices.Equal(mm.foot, p.Foot) && (mm.foot == nil) == (p.Foot == nil) {
			from = mm.k
		}
		memo[p.Actor] = pendingMemo{foot: p.Foot, blocked: p.Blocked, k: k}
		for i := k - 1; i >= from; i-- {
			ni := e.stack[i]
			ei := ni.en[ni.cur]
			if ei.Actor == p.Actor || !exec.Dependent(ei, p) || !exec.CoEnabled(ei, p) || hb.before(i, ei.Actor, cp) {
				continue
			}
			addBacktrack(hb, ni, i, p.Actor, cp)
			if e.k >= 0 {
				j := i
				for j > 0 && e.stack[j-1].en[e.stack[j-1].cur].Actor == ei.Actor {
					j--
				}
				if j < i {
					addBacktrack(hb, e.stack[j], j, p.Actor, cp)
				}
			}
			break
		}
	}
}

// pendingMemo is what races last checked for an actor's pending
// transition: steps below k were scanned for it.
type pendingMemo struct {
	foot    []string
	blocked string
	k       int
}

// addBacktrack makes state i (node ni) also try actor a first, or, if a
// is not enabled there, an actor whose later steps lead to a's pending
// transition (clock cp), or, failing that, everything.
func addBacktrack(hb *clocks, ni *node, i int, a string, cp []int) {
	for j, t := range ni.en {
		if t.Actor == a {
			ni.backtrack[j] = true
			return
		}
	}
	for j, t := range ni.en {
		if hb.after(t.Actor, i, cp) {
			ni.backtrack[j] = true
			return
		}
	}
	for j := range ni.backtrack {
		ni.backtrack[j] = true
	}
}

// clocks are vector clocks over the steps of one execution: step d
// happens before step d' if a chain of dependent steps (or one actor's
// program order) leads from d to d'. Entries hold step index + 1.
type clocks struct {
	idx        map[string]int
	actor      map[string][]int
	first      map[string]int // the state where an actor was first seen
	ev         [][]int
	lastKey    map[string][]int // the last write of each key
	reads      map[string][]int // reads of a key since its last write
	updates    map[string][]int // commuting updates since its last write
	lastGlobal []int
	all        []int
}

func newClocks() *clocks {
	return &clocks{idx: map[string]int{}, actor: map[string][]int{}, first: map[string]int{}, lastKey: map[string][]int{}, reads: map[string][]int{}, updates: map[string][]int{}}
}

func join(a, b []int) []int {
	if len(b) > len(a) {
		a = append(a, make([]int, len(b)-len(a))...)
	}
	for i, v := range b {
		if v > a[i] {
			a[i] = v
		}
	}
	return a
}

// see records that actor a exists at state k: a thread spawned by step k-1
// starts after it.
func (c *clocks) see(a string, k int) {
	if _, ok := c.first[a]; !ok {
		c.first[a] = k
	}
}

func (c *clocks) clock(a string) []int {
	if v, ok := c.actor[a]; ok {
		return v
	}
	if k := c.first[a]; k > 0 && k-1 < len(c.ev) {
		return c.ev[k-1]
	}
	return nil
}

func (c *clocks) id(a string) int {
	i, ok := c.idx[a]
	if !ok {
		i = len(c.idx)
		c.idx[a] = i
	}
	return i
}

// before: step i (by actor a) happens before the transition whose clock is cp.
func (c *clocks) before(i int, a string, cp []int) bool {
	x := c.id(a)
	return x < len(cp) && cp[x] >= i+1
}

// after: actor a has a step after i that happens before the clock cp.
func (c *clocks) after(a string, i int, cp []int) bool {
	x, ok := c.idx[a]
	return ok && x < len(cp) && cp[x] > i+1
}

// event records step d, taken by t.
func (c *clocks) event(d int, t exec.Transition) {
	c.see(t.Actor, d)
	vc := c.after1(t)
	x := c.id(t.Actor)
	if x >= len(vc) {
		vc = append(vc, make([]int, x+1-len(vc))...)
	}
	vc[x] = d + 1
	c.record(d, t, vc)
}

// after1 joins t's actor's clock with the clocks of the steps t depends on.
func (c *clocks) after1(t exec.Transition) []int {
	vc := append([]int(nil), c.clock(t.Actor)...)
	if t.Foot == nil {
		vc = join(vc, c.all)
	} else {
		vc = join(vc, c.lastGlobal)
		for _, f := range t.Foot {
			k, mode := exec.Access(f)
			vc = join(vc, c.lastKey[k])
			if mode != exec.Read {
				vc = join(vc, c.reads[k])
			}
			if mode != exec.Update {
				vc = join(vc, c.updates[k])
			}
		}
	}
	return vc
}

// record stores vc as step d's clock (taken by t).
func (c *clocks) record(d int, t exec.Transition, vc []int) {
	c.actor[t.Actor] = vc
	for len(c.ev) <= d {
		c.ev = append(c.ev, nil)
	}
	c.ev[d] = vc
	if t.Foot == nil {
		c.lastGlobal = vc
	}
	for _, f := range t.Foot {
		// A write is after every earlier access of its key, so it alone
		// orders what comes next; reads and updates accumulate until then.
		switch k, mode := exec.Access(f); mode {
		case exec.Write:
			c.lastKey[k] = vc
			delete(c.reads, k)
			delete(c.updates, k)
		case exec.Read:
			c.reads[k] = join(append([]int(nil), c.reads[k]...), vc)
		case exec.Update:
			c.updates[k] = join(append([]int(nil), c.updates[k]...), vc)
		}
	}
	c.all = join(append([]int(nil), c.all...), vc)
}

// backtrack moves to the next unexplored choice; false when none is left.
func (e *explorer) backtrack() bool {
	for len(e.stack) > 0 {
		n := e.stack[len(e.stack)-1]
		n.done[n.cur] = true
		for j := range n.en {
			if n.done[j] || n.sleeping(j) || (n.backtrack != nil && !n.backtrack[j]) {
				continue
			}
			if e.k >= 0 && n.preempts(j) && n.pre+1 > e.k {
				continue
			}
			n.cur = j
			return true
		}
		e.stack = e.stack[:len(e.stack)-1]
		if e.cache != nil {
			e.cache.done(e, n)
		}
	}
	return false
}

// id names the interleaving by its deviations from the non-preemptive
// default: "x" then "step:choice" pairs.
func (e *explorer) id() string {
	var b strings.Builder
	b.WriteString("x")
	sep := ""
	for d, n := range e.stack {
		if n.cur != n.deflt() {
			fmt.Fprintf(&b, "%s%d:%d", sep, d, n.cur)
			sep = "."
		}
	}
	return b.String()
}

func label(id string, pre int) string {
	s := "s"
	if pre == 1 {
		s = ""
	}
	return fmt.Sprintf("%s, %d preemption%s", id, pre, s)
}

// ParseID reads an interleaving ID; ok is false if s is not one.
func ParseID(s string) (map[int]int, bool) {
	if !strings.HasPrefix(s, "x") {
		return nil, false
	}
	out := map[int]int{}
	if s == "x" {
		return out, true
	}
	for _, part := range strings.Split(s[1:], ".") {
		a, b, ok := strings.Cut(part, ":")
		if !ok {
			return nil, false
		}
		d, err1 := strconv.Atoi(a)
		c, err2 := strconv.Atoi(b)
		if err1 != nil || err2 != nil || d < 0 || c < 0 {
			return nil, false
		}
		out[d] = c
	}
	return out, true
}

// Replay runs exactly the interleaving id names, with its trace.
func Replay(p *kernel.Program, id string) (*exec.Schedule, error) {
	dev, ok := ParseID(id)
	if !ok {
		return nil, fmt.Errorf("%q is not an interleaving ID (they look like x or x3:1.7:0)", id)
	}
	m := exec.NewMachine(p, exec.StepBudget(p), true)
	prev, pre := "", 0
	for d := 0; ; d++ {
		en := m.Enabled()
		if len(en) == 0 {
			break
		}
		n := &node{en: en, prev: prev}
		pick := n.deflt()
		if c, ok := dev[d]; ok {
			if c >= len(en) {
				return nil, fmt.Errorf("interleaving %s: step %d has only %d choices", id, d, len(en))
			}
			pick = c
		}
		if n.preempts(pick) {
			pre++
		}
		prev = en[pick].Actor
		m.Step(pick)
	}
	sch := m.Result(label(id, pre), id)
	sch.Outcome += " (interleaving " + label(id, pre) + ")"
	return sch, nil
}
