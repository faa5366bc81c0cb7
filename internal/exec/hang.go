package exec

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"sort"
	"strings"

	"github.com/fencecheck/fencecheck/internal/diag"
	"github.com/fencecheck/fencecheck/internal/kernel"
	"github.com/fencecheck/fencecheck/internal/model"
	"github.com/fencecheck/fencecheck/internal/rules"
)

// waitNode is one hop of a wait-for chain: a blocked thread, a lock
// instance, a fence or a job.
type waitNode struct {
	key  string
	step diag.Step
	next string // key of the next node, "" if the chain ends here
}

// reportHang explains a state where nothing can run: it follows each blocked
// thread's wait-for chain (thread → lock/fence → owner/signaller → …) and
// reports every distinct cycle, with positions.
func (s *sim) reportHang() {
	first := len(s.findings)
	nodes := map[string]*waitNode{}
	var order []string
	for _, t := range s.threads {
		if t.done || t.blocked == nil {
			continue
		}
		order = append(order, s.threadKey(t))
	}
	var build func(key string)
	build = func(key string) {
		if _, ok := nodes[key]; ok || key == "" {
			return
		}
		n := s.describe(key)
		nodes[key] = n
		build(n.next)
	}
	for _, k := range order {
		build(k)
	}
	blocked := s.blockedTasks(order, nodes)
	defer func() {
		for i := first; i < len(s.findings); i++ {
			if s.findings[i].Rule == rules.Hang {
				s.findings[i].Blocked = blocked
			}
		}
	}()
	seen := map[string]bool{}
	for _, start := range order {
		// Follow the chain until a node repeats.
		pos := map[string]int{}
		var path []string
		for k := start; k != ""; k = nodes[k].next {
			if i, ok := pos[k]; ok {
				cyc := path[i:]
				sig := cycleSig(cyc)
				if !seen[sig] {
					seen[sig] = true
					s.hangFinding(cyc, nodes)
				}
				break
			}
			pos[k] = len(path)
			path = append(path, k)
		}
	}
	if len(seen) == 0 && len(order) > 0 {
		// Blocked without a cycle: on something that never happens.
		t := order[0]
		var chain []diag.Step
		for k := t; k != ""; k = nodes[k].next {
			chain = append(chain, nodes[k].step)
			if len(chain) > 64 {
				break
			}
		}
		s.findings = append(s.findings, diag.Diagnostic{File: s.p.File, Pos: chain[0].Pos, Rule: rules.Hang, Severity: diag.Error,
			Message: fmt.Sprintf("execution hangs (%s): %s", s.where(), chainText(chain)), Chain: chain,
			Fingerprint: fp(rules.Hang, stableKey(t)), Hint: "The chain ends at something nothing will ever do; see the last step."})
	}
}

// blockedTasks describes every blocked task: its blocking step, and every
// lock and signalling section it holds with the step that took it. A
// thread that waits on a fence while holding a device-wide lock stalls
// everything that needs the lock; the report must show it.
func (s *sim) blockedTasks(order []string, nodes map[string]*waitNode) []diag.Blocked {
	var out []diag.Blocked
	for _, k := range order {
		t := s.threadByKey(k)
		if t == nil {
			continue
		}
		b := diag.Blocked{Task: t.name, Context: t.context, Waits: nodes[k].step}
		for _, h := range t.held {
			what := h.name
			if h.section {
				what = "signalling section of " + h.fence
			}
			st := diag.Step{File: s.p.File, Pos: h.pos, To: h.name, Path: h.path, Context: t.context, Message: what}
			if !h.pos.Valid() {
				// Held from the thread's start: the context holds it
				// implicitly (a notifier runs under the notifier map).
				st.Pos, st.Path, st.Message = t.src.Pos, t.src.Root, what+" (held by the "+t.context+" context)"
			}
			b.Holds = append(b.Holds, st)
		}
		out = append(out, b)
	}
	return out
}

func cycleSig(keys []string) string {
	c := append([]string(nil), keys...)
	sort.Strings(c)
	return strings.Join(c, "\x00")
}

// stableKey drops the thread number from a wait-for key: threads spawned
// by the model (run_job, callbacks) are numbered in creation order, which
// differs between interleavings of the same hang.
func stableKey(k string) string {
	if strings.HasPrefix(k, "thread:") {
		if i := strings.LastIndexByte(k, '#'); i > 0 {
			return k[:i]
		}
	}
	return k
}

func stableSig(keys []string) string {
	c := make([]string, len(keys))
	for i, k := range keys {
		c[i] = stableKey(k)
	}
	return cycleSig(c)
}

// where names the interleaving in messages: the random schedule and seed,
// or the explored interleaving's ID.
func (s *sim) where() string {
	if s.label != "" {
		return "interleaving " + s.label
	}
	return fmt.Sprintf("schedule %d, seed %d", s.k, s.opt.Seed)
}

// replay is the command that prints this interleaving again.
func (s *sim) replay() string {
	if s.label != "" {
		return "fencecheck trace --schedule " + s.labelID + " " + shellQuote(s.p.File)
	}
	return fmt.Sprintf("fencecheck trace --schedules %d --seed %d --schedule %d %s", s.k+1, s.opt.Seed, s.k, shellQuote(s.p.File))
}

// shellQuote quotes a file name for a command line a user pastes.
func shellQuote(p string) string {
	if p == "" || p == "-" {
		return "FILE"
	}
	safe := true
	for _, r := range p {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("/._-+,", r)) {
			safe = false
			break
		}
	}
	if safe {
		return p
	}
	return "'" + strings.ReplaceAll(p, "'", `'\''`) + "'"
}

// heldAt points a "lock is held by" step at the step where the holder took
// the lock, in the holder's path and context.
func (s *sim) heldAt(st *diag.Step, holder *thread, inst string) {
	for _, h := range holder.held {
		if h.inst == inst || h.key == inst {
			st.File, st.Pos, st.Path, st.Context = s.p.File, h.pos, h.path, holder.context
			return
		}
	}
}

func fp(parts ...string) string {
	h := sha256.Sum256([]byte(strings.Join(parts, "\x00")))
	return hex.EncodeToString(h[:8])
}

func chainText(chain []diag.Step) string {
	var parts []string
	for _, st := range chain {
		parts = append(parts, st.From)
	}
	return strings.Join(parts, " --> ")
}

func (s *sim) hangFinding(cyc []string, nodes map[string]*waitNode) {
	// Rotate to the smallest key for a stable report.
	m := 0
	for i := range cyc {
		if cyc[i] < cyc[m] {
			m = i
		}
	}
	cyc = append(cyc[m:], cyc[:m]...)
	var chain []diag.Step
	var names []string
	var threads []string
	for _, k := range cyc {
		chain = append(chain, nodes[k].step)
		names = append(names, nodes[k].step.From)
		if strings.HasPrefix(k, "thread:") {
			name := strings.TrimPrefix(k, "thread:")
			threads = append(threads, name[:strings.LastIndexByte(name, '#')])
		}
	}
	// The finding points at the step where a thread blocks (held-lock
	// steps carry the position that took the lock; that is not where the
	// hang shows).
	pos := chain[0].Pos
	for i, k := range cyc {
		if strings.HasPrefix(k, "thread:") && chain[i].Pos.Valid() {
			pos = chain[i].Pos
			break
		}
	}
	if !pos.Valid() {
		for _, st := range chain {
			if st.Pos.Valid() {
				pos = st.Pos
				break
			}
		}
	}
	s.findings = append(s.findings, diag.Diagnostic{
		File: s.p.File, Pos: pos, Rule: rules.Hang, Severity: diag.Error,
		Message: fmt.Sprintf("execution hangs (%s): %s --> back to %s", s.where(),
			strings.Join(names, " --> "), names[0]),
		Cycle: names, Chain: chain, Fingerprint: fp(append([]string{rules.Hang}, stableSig(cyc))...),
		// When a dependency cycle explains this hang, the report shows the
		// hang as that cycle's consequence (internal/group) and the cycle's
		// hint names the edge to change; a hang reported on its own is not
		// explained by one, so its hint cannot point at it.
		Hint: fmt.Sprintf("%s Break one wait in this chain. Replay with: %s", waitText(threads), s.replay()),
	})
}

func waitText(threads []string) string {
	if len(threads) == 1 {
		return "Thread " + threads[0] + " waits, through this chain, for itself."
	}
	return "Threads " + strings.Join(threads, ", ") + " wait for each other."
}

func (s *sim) threadKey(t *thread) string { return fmt.Sprintf("thread:%s#%d", t.name, t.id) }

// describe explains one wait-for node and names what it waits for.
func (s *sim) describe(key string) *waitNode {
	n := &waitNode{key: key}
	switch {
	case strings.HasPrefix(key, "thread:"):
		t := s.threadByKey(key)
		b := t.blocked
		if b == nil {
			n.step = diag.Step{File: s.p.File, Pos: t.src.Pos, From: t.name, Path: t.src.Root, Context: t.context, Message: t.name + " is runnable"}
			return n
		}
		o := *b.op
		n.step = diag.Step{File: s.p.File, Pos: o.Pos, From: t.name, Path: o.InPath(), Context: t.context, Kind: b.kind}
		switch b.kind {
		case "lock":
			n.step.Message = fmt.Sprintf("thread %s (%s) blocks in %s%s", t.name, t.context, o.Text, inReclaim(t))
			n.step.To = b.inst
			n.next = "lock:" + b.inst
		case "fence":
			n.step.Message = fmt.Sprintf("thread %s (%s) waits for %s in %s%s", t.name, t.context, b.fence, o.Text, inReclaim(t))
			n.step.To = b.fence
			n.next = "fence:" + b.fence
		case "work":
			n.step.Message = fmt.Sprintf("thread %s flushes worker %s", t.name, b.inst)
			n.step.To = o.Lock // the work's map, (work_completion)(PATH)
			for _, w := range s.threads {
				if w.worker == b.inst && !w.done {
					n.next = s.threadKey(w)
					break
				}
			}
		case "published":
			n.step.Message = fmt.Sprintf("%s cannot be submitted before userspace holds its in-fence %s", t.name, b.fence)
			n.step.To = b.fence
			if fi := s.p.Fences[b.fence]; fi != nil && fi.Job != "" {
				for _, o := range s.threads {
					if o.src != nil && o.src.Job == fi.Job && !o.done {
						n.next = s.threadKey(o)
						break
					}
				}
			}
		case "invalidation":
			n.step.Message = fmt.Sprintf("thread %s waits in mmu_interval_read_begin(%s) for a running invalidation (R9)", t.name, b.inst)
			for _, w := range s.threads {
				if !w.done && heldName(w, "notifier("+b.inst+")") {
					n.next = s.threadKey(w)
					break
				}
			}
		}
	case strings.HasPrefix(key, "lock:"):
		inst := strings.TrimPrefix(key, "lock:")
		n.step = diag.Step{From: inst, Kind: "lock"}
		l := s.locks[inst]
		if l != nil && l.writer >= 0 {
			o := s.threads[l.writer]
			n.step.Message = fmt.Sprintf("%s is held by %s", inst, o.name)
			s.heldAt(&n.step, o, inst)
			n.next = s.threadKey(o)
		} else if l != nil {
			var ids []int
			for id := range l.readers {
				ids = append(ids, id)
			}
			sort.Ints(ids)
			if len(ids) > 0 {
				o := s.threads[ids[0]]
				n.step.Message = fmt.Sprintf("%s is held for read by %s", inst, o.name)
				s.heldAt(&n.step, o, inst)
				n.next = s.threadKey(o)
			}
		}
	case strings.HasPrefix(key, "fence:"):
		fence := strings.TrimPrefix(key, "fence:")
		fi := s.p.Fences[fence]
		n.step = diag.Step{From: fence, Kind: "fence"}
		if fi != nil {
			n.step.File, n.step.Pos = s.p.File, fi.Pos
		}
		if fi != nil && fi.Job != "" {
			js := s.jobs[fi.Job]
			switch {
			case !js.submitted:
				n.step.Message = fmt.Sprintf("%s belongs to job %s, which is never submitted", fence, fi.Job)
			case !js.started:
				for _, d := range js.info.Deps {
					if d.Kind != "entity-order" && !s.fences[d.On] {
						n.step.Message = fmt.Sprintf("%s is job %s's fence; the job cannot run until its dependency %s signals", fence, fi.Job, d.On)
						n.step.Pos, n.step.To = d.Pos, d.On
						n.next = "fence:" + d.On
						break
					}
				}
				if n.next == "" {
					for _, other := range s.p.JobOrder {
						o := s.jobs[other]
						if o.runThread != nil && !o.runThread.done && o.info.Scheduler == js.info.Scheduler && other != fi.Job {
							n.step.Message = fmt.Sprintf("%s is job %s's fence; the job waits for scheduler %s, whose run_job is busy with %s", fence, fi.Job, js.info.Scheduler, other)
							n.next = s.threadKey(o.runThread)
							break
						}
					}
				}
			case js.runThread != nil && !js.runThread.done:
				n.step.Message = fmt.Sprintf("%s is job %s's fence; it signals after run_job, which is running in %s", fence, fi.Job, js.runThread.name)
				n.next = s.threadKey(js.runThread)
			case js.onEngine && !js.done:
				e := s.gpu.Get(s.engineOf(js))
				if s.faultPending(fi.Job) {
					for _, o := range s.threads {
						if !o.done && o.faultStarted && o.src.Device == js.info.Device {
							n.step.Message = fmt.Sprintf("%s is job %s's fence; the job is stalled on a GPU page fault that %s is handling (R19)", fence, fi.Job, o.name)
							n.next = s.threadKey(o)
							break
						}
					}
				} else if h := e.Head(); h != fi.Job && h != "" {
					n.step.Message = fmt.Sprintf("%s is job %s's fence; the job is queued on %s behind %s", fence, fi.Job, e.Name, h)
					n.next = "fence:" + s.jobs[h].info.Fence
				} else {
					n.step.Message = fmt.Sprintf("%s is job %s's fence; the job hangs on %s and nothing recovers it (no timedout_job, R17)", fence, fi.Job, e.Name)
				}
			default:
				n.step.Message = fmt.Sprintf("%s is job %s's fence", fence, fi.Job)
			}
			return n
		}
		if s.describeComposite(fence, n) {
			return n
		}
		// A standalone fence: signalled by a thread that has not got there.
		for _, t := range s.threads {
			if !t.done && willSignal(t, fence) {
				if !n.step.Pos.Valid() {
					// No declaration (a completion): point at the signal step.
					n.step.File, n.step.Pos = s.p.File, signalPos(t, fence)
				}
				n.step.Message = fmt.Sprintf("%s is signalled by %s, which has not reached the signal", fence, t.name)
				n.next = s.threadKey(t)
				return n
			}
		}
		switch {
		case fi != nil && fi.Indefinite:
			n.step.Message = fmt.Sprintf("%s is an indefinite (user/future) fence that nothing signals (R18)", fence)
		default:
			n.step.Message = fmt.Sprintf("nothing in the model signals %s", fence)
		}
	}
	return n
}

// inReclaim says, for a thread blocked inside direct reclaim, which
// allocation entered it.
func inReclaim(t *thread) string {
	for _, f := range t.frames {
		if f.reclaim {
			return ", inside direct reclaim entered by " + f.why
		}
	}
	return ""
}

func heldName(t *thread, name string) bool {
	for _, h := range t.held {
		if h.name == name {
			return true
		}
	}
	return false
}

func signalPos(t *thread, fence string) model.Pos {
	for _, f := range t.frames {
		for i := f.pc; i < len(f.ops); i++ {
			if f.ops[i].Kind == kernel.OpSignal && f.ops[i].Ext().Fence == fence {
				return f.ops[i].Pos
			}
		}
	}
	return t.src.Pos
}

func willSignal(t *thread, fence string) bool {
	for _, f := range t.frames {
		for i := f.pc; i < len(f.ops); i++ {
			if f.ops[i].Kind == kernel.OpSignal && f.ops[i].Ext().Fence == fence {
				return true
			}
		}
	}
	return false
}

func (s *sim) threadByKey(key string) *thread {
	i := strings.LastIndexByte(key, '#')
	var id int
	fmt.Sscanf(key[i+1:], "%d", &id)
	return s.threads[id]
}

// liveness reports fences still unsignalled at the end that something
// waited for or that were published by a submitted job (R17).
func (s *sim) liveness() {
	waited := map[string]bool{}
	for _, t := range s.threads {
		if !t.done && t.blocked != nil && t.blocked.kind == "fence" {
			waited[t.blocked.fence] = true
		}
	}
	// The scheduler waits for the dependencies of submitted jobs.
	for _, jn := range s.p.JobOrder {
		js := s.jobs[jn]
		if js.submitted && !js.started {
			for _, d := range js.info.Deps {
				if d.Kind != "entity-order" {
					waited[d.On] = true
				}
			}
		}
	}
	for _, name := range s.p.FenceOrder {
		if s.fences[name] {
			continue
		}
		fi := s.p.Fences[name]
		published := fi.Job != "" && s.jobs[fi.Job].submitted
		if !published && !waited[name] {
			continue
		}
		n := s.describe("fence:" + name)
		chain := []diag.Step{n.step}
		// Follow what the fence waits for until the chain ends or comes
		// back to a node already shown (a hang cycle, reported on its own).
		seen := map[string]bool{"fence:" + name: true}
		for k := n.next; k != "" && !seen[k]; {
			seen[k] = true
			nn := s.describe(k)
			chain = append(chain, nn.step)
			k = nn.next
		}
		pos := fi.Pos
		s.findings = append(s.findings, diag.Diagnostic{File: s.p.File, Pos: pos, Rule: rules.Unsignalled, Severity: diag.Error,
			Message:     fmt.Sprintf("fence %s is never signalled: %s", name, n.step.Message),
			Chain:       chain,
			Fingerprint: fp(rules.Unsignalled, name),
			Hint:        "Every published fence needs a path that signals it in bounded time, backed by timeout and recovery (R17).",
		})
	}
}

var _ = model.Pos{}
