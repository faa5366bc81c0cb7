package explore

import (
	"math/bits"
	"slices"
	"strings"

	"github.com/fencecheck/fencecheck/internal/exec"
)

// State caching for the exhaustive explorer.
//
// Many interleavings that DPOR must tell apart (their dependent steps run
// in different orders) still reach the same state: five core-mm events
// that each bump a userptr's sequence under the notifier lock, in any
// order, leave the same sequence behind. Once every continuation of a
// state has been explored, an execution that reaches the state again can
// stop there (exec.Machine.Fingerprint says when two states are equal).
//
// Stateless DPOR and state caching do not combine naively: the races that
// the skipped continuations would have had with the steps before the
// state (on the new path) are never seen, so backtracking points are lost
// (Yang, Chen, Gopalakrishnan and Kirby, "Efficient stateful dynamic
// partial order reduction", SPIN 2008, which keeps a graph of the visible
// operations below each state for this). Here each explored state keeps
// the set of transitions pending at it or at any state below it; when an
// execution joins the state, each of them is checked against every step
// of the new path as if it could run right there, before everything that
// does not happen before its actor's present position. That over-
// approximates the races the continuations would find, so it only adds
// backtracking points (and an execution joins only if it adds few).
// Sleep sets: a state explored with sleep set Z1
// covers a visit with sleep set Z2 only if Z1 is a subset of Z2 (every
// transition the visit would explore was explored).

// stateCache maps each fully explored state to what its exploration
// covered.
type stateCache struct {
	// tries counts the explored states met again whose sleep sets allow
	// a join, joins those joined; off: joins were too rare to pay for the
	// fingerprints and race checks (see giveUp).
	tries, joins int
	off          bool
	states       map[[2]uint64]cached
	// trans interns the pending transitions the summaries name.
	trans []exec.Transition
	index map[string]int
}

type cached struct {
	sleep []string // actors asleep when it was explored, sorted
	sum   bitset
}

// maxCached bounds the cache's memory: beyond it, explored states are no
// longer added (the exploration goes on without them).
const maxCached = 1 << 20

func newStateCache() *stateCache {
	return &stateCache{states: map[[2]uint64]cached{}, index: map[string]int{}}
}

// join looks n's state up: if it was explored with no more awake
// transitions than n has, the execution stops here and the explored
// state's pending transitions race with the path (see above).
func (c *stateCache) join(e *explorer, hb *clocks, m *exec.Machine, n *node) bool {
	if c.off || len(n.en) < 2 {
		// A state with one way on is not worth a fingerprint: the next
		// state where paths may differ is looked up instead.
		return false
	}
	n.fp, n.hasFP = m.Fingerprint(), true
	st, ok := c.states[n.fp]

	if !ok || !subset(st.sleep, sleepActors(n.sleep)) {
		return false
	}
	c.tries++
	if c.tries >= giveUpAfter && c.joins*giveUpRatio < c.tries {
		c.off = true
		return false
	}
	// The explored state's pending transitions, as if each could run
	// right here, race with every dependent step of the path that does
	// not happen before its actor's present position. The backtracking
	// points that asks for are scheduled, unless they are more than
	// joinCost: then the execution goes on (joining would be sound, but
	// conservative backtracking can cost more than it saves).
	k := len(e.stack)
	type choice struct{ i, j int }
	var adds []choice
	for x := range st.sum.each() {
		p := c.trans[x]
		// Only the actor's present clock is known to come before p: a
		// later step of the thread comes after its next step, but that
		// step's footprint may differ when it runs (footprints are of
		// the state a step runs in), so its dependencies on the path are
		// not known here.
		cp := hb.clock(p.Actor)
		for i := k - 1; i >= 0; i-- {
			ni := e.stack[i]
			ei := ni.en[ni.cur]
			if ei.Actor == p.Actor || !exec.Dependent(ei, p) || !exec.CoEnabled(ei, p) || hb.before(i, ei.Actor, cp) {
				continue
			}
			for _, j := range freshChoices(hb, ni, i, p.Actor, cp) {
				if !slices.Contains(adds, choice{i, j}) {
					adds = append(adds, choice{i, j})
				}
			}
			if len(adds) > joinCost {
				return false
			}
		}
	}
	for _, a := range adds {
		e.stack[a.i].backtrack[a.j] = true
	}
	c.joins++
	if k > 0 {
		e.stack[k-1].sum.or(st.sum)
	}
	return true
}

// joinCost bounds the new backtracking points a join may schedule: a
// join that would need more goes on instead, and DPOR finds the
// continuations' races precisely. Measured (docs/performance.md): at 0,
// language/05-fork-userptr-notifier-lock-fixed stops at the budget; with
// no bound, two joins turn the fixed chain at N=8, K=4 from 9 interleavings
// into 168; 10 keeps both small, and seed 03 explores 2,489 instead of
// 15,685.
const joinCost = 10

// When fewer than one in giveUpRatio of the first giveUpAfter states met
// again can be joined (each would need more than joinCost new choices),
// caching stops for the rest of the exploration, which goes on as plain
// DPOR: on the contended chain (N=4, K=10) no join is ever possible, and
// the fingerprints and race checks doubled the time. The decision depends
// only on counts, so the output stays deterministic.
const (
	giveUpAfter = 2000
	giveUpRatio = 20
)

// freshChoices are the choices addBacktrack(hb, ni, i, a, cp) would
// schedule that are neither scheduled, explored nor asleep.
func freshChoices(hb *clocks, ni *node, i int, a string, cp []int) []int {
	fresh := func(j int) bool { return !ni.backtrack[j] && !ni.done[j] && !ni.sleeping(j) }
	one := func(j int) []int {
		if fresh(j) {
			return []int{j}
		}
		return nil
	}
	for j, t := range ni.en {
		if t.Actor == a {
			return one(j)
		}
	}
	for j, t := range ni.en {
		if hb.after(t.Actor, i, cp) {
			return one(j)
		}
	}
	var out []int
	for j := range ni.en {
		if fresh(j) {
			out = append(out, j)
		}
	}
	return out
}

// record adds the transitions pending at n to its summary.
func (c *stateCache) record(n *node, pending []exec.Transition) {
	if c.off {
		return
	}
	for _, p := range pending {
		n.sum.set(c.intern(p))
	}
}

// done stores n, whose every continuation has been explored, and passes
// its summary up to its parent.
func (c *stateCache) done(e *explorer, n *node) {
	if k := len(e.stack); k > 0 {
		e.stack[k-1].sum.or(n.sum)
	}
	if !n.hasFP || c.off {
		return
	}
	sl := sleepActors(n.sleep)
	if old, ok := c.states[n.fp]; ok {
		if !subset(sl, old.sleep) {
			return // the stored exploration covers more
		}
	} else if len(c.states) >= maxCached {
		return
	}
	c.states[n.fp] = cached{sleep: sl, sum: slices.Clone(n.sum)}
}

func (c *stateCache) intern(t exec.Transition) int {
	var b strings.Builder
	b.WriteString(t.Actor)
	b.WriteByte(0)
	b.WriteString(t.Blocked)
	if t.Foot == nil {
		b.WriteString("\x00*")
	}
	for _, f := range t.Foot {
		b.WriteByte(0)
		b.WriteString(f)
	}
	for _, r := range t.Releases {
		b.WriteByte(1)
		b.WriteString(r)
	}
	key := b.String()
	if i, ok := c.index[key]; ok {
		return i
	}
	i := len(c.trans)
	c.trans = append(c.trans, t)
	c.index[key] = i
	return i
}

func sleepActors(ts []exec.Transition) []string {
	out := make([]string, len(ts))
	for i, t := range ts {
		out[i] = t.Actor
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// subset: every element of sorted a is in sorted b.
func subset(a, b []string) bool {
	j := 0
	for _, x := range a {
		for j < len(b) && b[j] < x {
			j++
		}
		if j == len(b) || b[j] != x {
			return false
		}
	}
	return true
}

// bitset is a set of small integers.
type bitset []uint64

func (s *bitset) set(i int) {
	for len(*s) <= i/64 {
		*s = append(*s, 0)
	}
	(*s)[i/64] |= 1 << (i % 64)
}

func (s *bitset) or(o bitset) {
	for len(*s) < len(o) {
		*s = append(*s, 0)
	}
	for i, w := range o {
		(*s)[i] |= w
	}
}

// each yields the members in increasing order.
func (s bitset) each() func(func(int) bool) {
	return func(yield func(int) bool) {
		for i, w := range s {
			for w != 0 {
				b := bits.TrailingZeros64(w)
				if !yield(i*64 + b) {
					return
				}
				w &= w - 1
			}
		}
	}
}
