// Package splat finds lockdep reports in kernel log text (dmesg, journalctl,
// CI logs, mail replies) and parses them into structured reports.
//
// The formats follow kernel/locking/lockdep.c: print_circular_bug_header()
// and print_circular_bug_entry() ("-> #N (class){usage}-{outer:inner}:" and
// a stack), print_circular_lock_scenario() ("Chain exists of:" printed only
// when the chain has an intermediate class), print_lock_name() /
// __print_lock_name() (class name, "#N" name version, "/N" subclass),
// print_lock() (" #i: <instance> (name){usage}-{x:y}, at: func+off/len"),
// lockdep_print_held_locks() ("N locks held by comm/pid:"), print_deadlock_bug()
// (recursive locking), print_usage_bug() (inconsistent lock state),
// print_irq_inversion_bug(), print_lock_invalid_wait_context(), and
// kernel/hung_task.c check_hung_task() ("INFO: task comm:pid blocked for more
// than N seconds.") followed by debug_show_all_locks().
//
// Parsing is linear in the input and bounded: lines, names, reports and
// frames are capped, so no input can make it slow or large.
package splat

import (
	"bufio"
	"bytes"
	"regexp"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Kind of a lockdep report.
type Kind string

const (
	Circular     Kind = "circular"      // possible circular locking dependency
	Recursive    Kind = "recursive"     // possible recursive locking
	Inconsistent Kind = "inconsistent"  // inconsistent lock state
	IRQInversion Kind = "irq-inversion" // possible irq lock inversion dependency
	IRQOrder     Kind = "irq-order"     // possible irq-safe -> irq-unsafe lock order
	WaitContext  Kind = "wait-context"  // invalid wait context
	HungTask     Kind = "hung-task"     // task blocked for more than N seconds
)

// Limits keep the parser bounded on hostile input.
const (
	MaxInput      = 64 << 20 // bytes read
	MaxLine       = 4096     // characters kept per line
	MaxName       = 512      // lockdep names are at most KSYM_NAME_LEN
	MaxReports    = 256
	MaxEntries    = 64 // "-> #N" entries per report (lockdep's MAX_LOCK_DEPTH is 48)
	MaxFrames     = 64 // frames kept per stack
	MaxHeld       = 64 // held locks per list
	MaxReportLine = 4000
)

// Lock is a lock class as print_lock_name() prints it.
type Lock struct {
	Name string
	// Usage is the {....} usage string (get_usage_chars): per irq state a
	// write and a read character, '.' unused, '-' used in irq, '+' used
	// with irqs enabled, '?' both.
	Usage string
	// WaitOuter and WaitInner are the -{outer:inner} wait types (lockdep
	// enum lockdep_wait_type); HasWait says they were printed.
	WaitOuter, WaitInner int
	HasWait              bool
	// At is the acquiring function (", at: func+0x../0x..").
	At string
}

// Frame is one stack frame.
type Frame struct {
	Func   string // function name without offset or compiler suffix
	Module string // [module], if any
	Raw    string
}

// Entry is one "-> #N" dependency entry of a circular report: class Lock
// was acquired, with stack Frames, while the class of entry N-1 was held.
type Entry struct {
	Depth  int
	Lock   Lock
	Frames []Frame
	Line   int
}

// Held is one line of a held-locks list.
type Held struct {
	Index int
	Lock  Lock
	Line  int
}

// HeldList is "N locks held by comm/pid:" and its entries.
type HeldList struct {
	Task  string
	Locks []Held
	Line  int
}

// Report is one lockdep report.
type Report struct {
	Kind   Kind
	Header string // the WARNING/BUG/INFO line
	Line   int    // 1-based line of the header in the input
	// Ident is print_kernel_ident(): "release #build Tainted: ..."
	Ident   string
	Release string // e.g. "5.15.0-rc7+"
	Task    string // comm/pid of the reporting task
	// Acquiring is the lock the task was trying to acquire ("is trying to
	// acquire lock:"); Holding the lock it already held. For an irq
	// inversion, Acquiring is the lock whose state changed and Other the
	// other lock; for an inconsistent state report, Acquiring is the lock.
	Acquiring, Holding, Other *Lock
	// OtherRole is the irq inversion's "unsafe"/"safe" wording.
	OtherRole string
	// Usage transition of an inconsistent lock state report, e.g.
	// "HARDIRQ-ON-W" -> "IN-HARDIRQ-W".
	UsageFrom, UsageTo string
	// Context is an invalid wait context report's "context-{x:y}".
	Context string
	// Entries are the "-> #N" entries in printed order (#N first).
	Entries []Entry
	// Chain is the "Chain exists of:" line, if printed.
	Chain []string
	// Held are the held-lock lists printed with the report (the reporting
	// task's, or every task's for a hung-task report).
	Held []HeldList
	// Backtrace is the "stack backtrace:" / "Call Trace:" frames.
	Backtrace []Frame
	// StateTrace is an inconsistent report's "{STATE} state was registered
	// at:" stack.
	StateTrace []Frame
	// Lines are the report's normalized lines (capped), for comments.
	Lines []string
}

// headers maps a header line to its report kind.
var headers = []struct {
	prefix string
	kind   Kind
}{
	{"WARNING: possible circular locking dependency detected", Circular},
	{"WARNING: possible recursive locking detected", Recursive},
	{"WARNING: inconsistent lock state", Inconsistent},
	{"WARNING: possible irq lock inversion dependency detected", IRQInversion},
	{"WARNING: HARDIRQ-safe -> HARDIRQ-unsafe lock order detected", IRQOrder},
	{"WARNING: SOFTIRQ-safe -> SOFTIRQ-unsafe lock order detected", IRQOrder},
	{"BUG: Invalid wait context", WaitContext},
	{"[ BUG: Invalid wait context ]", WaitContext},
	// Pre-4.x spellings ("[ INFO: possible circular locking dependency detected ]").
	{"[ INFO: possible circular locking dependency detected ]", Circular},
	{"[ INFO: possible recursive locking detected ]", Recursive},
	{"[ INFO: inconsistent lock state ]", Inconsistent},
	{"[ INFO: possible irq lock inversion dependency detected ]", IRQInversion},
}

var (
	reTimestamp  = regexp.MustCompile(`^\[\s*\d+\.\d+\]`)
	reCaller     = regexp.MustCompile(`^\[\s*[TC]\d+\]`)
	reHumanTime  = regexp.MustCompile(`^\[[A-Z][a-z]{2} [A-Z][a-z]{2} [ \d]\d \d\d:\d\d:\d\d \d{4}\]`)
	reSyslogPri  = regexp.MustCompile(`^<\d{1,3}>`)
	reJournal    = regexp.MustCompile(`^[A-Z][a-z]{2} [ \d]\d \d\d:\d\d:\d\d \S+ kernel: `)
	reISOJournal = regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\S* \S+ kernel: `)
	reDmesgX     = regexp.MustCompile(`^(kern|user|daemon|syslog)\s*:\s*[a-z]+\s*:\s*`)
	reHungTask   = regexp.MustCompile(`^INFO: task (.+):(\d+) blocked for more than (\d+) seconds\.`)
	reEntry      = regexp.MustCompile(`^-> #(\d+)\s*(.*)$`)
	reHeldHead   = regexp.MustCompile(`^(\d+) locks? held by (.+?):?$`)
	reHeldLine   = regexp.MustCompile(`^#(\d+):\s*(.*)$`)
	reNoLocks    = regexp.MustCompile(`^no locks held by (.+?)\.?$`)
	reTrying     = regexp.MustCompile(`^(.+/\d+) is trying to (?:acquire lock|lock):\s*$`)
	reChanged    = regexp.MustCompile(`^(.+/\d+) just changed the state of lock:\s*$`)
	reUsageBug   = regexp.MustCompile(`^inconsistent \{([A-Z-]+)\} -> \{([A-Z-]+)\} usage\.`)
	reTakes      = regexp.MustCompile(`^(.+/\d+) \[HC\d.*\] takes:\s*$`)
	reOther      = regexp.MustCompile(`^but this lock (took another|was taken by another), ([A-Z]+-(?:unsafe|safe)) lock in the past:`)
	reWaitCtx    = regexp.MustCompile(`^context-\{(\d+):(\d+)\}`)
	reRelease    = regexp.MustCompile(`(?:^|\s)(\d+\.\d+[^\s]*) #\S+`)
	reAddr       = regexp.MustCompile(`^(?:0x)?[0-9a-f]{8,16}\s*`)
	reFrameAddr  = regexp.MustCompile(`^\[<[0-9a-fx]+>\]\s*`)
	reOffset     = regexp.MustCompile(`\+0x[0-9a-f]+(?:/0x[0-9a-f]+)?`)
)

// Normalize strips what log collectors and mail clients put in front of a
// kernel line: "> " quoting, syslog "<4>" priorities, "[  12.345]"
// timestamps and "[T123]"/"[C1]" caller ids, journalctl and dmesg -T/-x
// prefixes. It also replaces control characters, so nothing read from the
// log can reach a terminal or a YAML comment unescaped.
func Normalize(line string) string {
	if len(line) > MaxLine {
		line = line[:MaxLine]
	}
	line = sanitize(line)
	for i := 0; i < 16; i++ {
		t := strings.TrimLeft(line, " \t")
		switch {
		case strings.HasPrefix(t, ">"):
			line = t[1:]
		case reSyslogPri.MatchString(t):
			line = t[reSyslogPri.FindStringIndex(t)[1]:]
		case reTimestamp.MatchString(t):
			line = t[reTimestamp.FindStringIndex(t)[1]:]
		case reCaller.MatchString(t):
			line = t[reCaller.FindStringIndex(t)[1]:]
		case reHumanTime.MatchString(t):
			line = t[reHumanTime.FindStringIndex(t)[1]:]
		case reJournal.MatchString(t):
			line = t[reJournal.FindStringIndex(t)[1]:]
		case reISOJournal.MatchString(t):
			line = t[reISOJournal.FindStringIndex(t)[1]:]
		case reDmesgX.MatchString(t):
			line = t[reDmesgX.FindStringIndex(t)[1]:]
		default:
			return strings.TrimRight(line, " \t")
		}
	}
	return strings.TrimRight(line, " \t")
}

// sanitize replaces invalid UTF-8 and control characters (other than tab)
// with '?'.
func sanitize(s string) string {
	clean := true
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 && c != '\t' || c == 0x7f || c >= 0x80 {
			clean = false
			break
		}
	}
	if clean {
		return s
	}
	var b strings.Builder
	for _, r := range s {
		switch {
		case r == utf8.RuneError, r < 0x20 && r != '\t', r == 0x7f, r >= 0x80 && r < 0xa0, r == 0x2028, r == 0x2029, r == 0xfeff:
			b.WriteByte('?')
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

func headerKind(t string) (Kind, bool) {
	for _, h := range headers {
		if strings.HasPrefix(t, h.prefix) {
			return h.kind, true
		}
	}
	if reHungTask.MatchString(t) {
		return HungTask, true
	}
	return "", false
}

// Parse finds every lockdep report in data.
func Parse(data []byte) []Report {
	if len(data) > MaxInput {
		data = data[:MaxInput]
	}
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 0, 64*1024), MaxInput+1)
	var lines []string
	for sc.Scan() {
		lines = append(lines, Normalize(sc.Text()))
	}
	var out []Report
	var cur *parser
	for i, raw := range lines {
		t := strings.TrimSpace(raw)
		if k, ok := headerKind(t); ok {
			if cur != nil {
				out = append(out, cur.r)
			}
			if len(out) >= MaxReports {
				cur = nil
				break
			}
			cur = &parser{r: Report{Kind: k, Header: t, Line: i + 1}}
			if k == HungTask {
				m := reHungTask.FindStringSubmatch(t)
				cur.r.Task = m[1] + "/" + m[2]
			}
			cur.r.Lines = append(cur.r.Lines, t)
			continue
		}
		if cur == nil {
			continue
		}
		if strings.HasPrefix(t, "---[ end trace") || strings.HasPrefix(t, "---[ end Kernel panic") {
			out = append(out, cur.r)
			cur = nil
			continue
		}
		cur.line(t, i+1)
	}
	if cur != nil {
		out = append(out, cur.r)
	}
	return out
}

type section int

const (
	secNone section = iota
	secTrying
	secHolding
	secOther
	secEntry
	secChain
	secScenario
	secHeld
	secBacktrace
	secState
)

type parser struct {
	r   Report
	sec section
	// noChain: a line "Chain exists of:" was seen, the next line is it.
	heldOpen bool
}

func (p *parser) line(t string, n int) {
	r := &p.r
	if t == "" || strings.Trim(t, "=-") == "" {
		if p.sec == secHeld {
			p.heldOpen = false
		}
		return
	}
	if len(r.Lines) < MaxReportLine {
		r.Lines = append(r.Lines, t)
	}
	if r.Ident == "" && len(r.Lines) <= 3 {
		if m := reRelease.FindStringSubmatch(t); m != nil && (strings.Contains(t, "tainted") || strings.Contains(t, "Tainted")) {
			r.Ident, r.Release = t, m[1]
			return
		}
	}
	switch {
	case reTrying.MatchString(t):
		r.Task = reTrying.FindStringSubmatch(t)[1]
		p.sec = secTrying
		return
	case reChanged.MatchString(t):
		r.Task = reChanged.FindStringSubmatch(t)[1]
		p.sec = secTrying
		return
	case reTakes.MatchString(t):
		r.Task = reTakes.FindStringSubmatch(t)[1]
		p.sec = secTrying
		return
	case strings.HasPrefix(t, "but task is already holding lock"):
		p.sec = secHolding
		return
	case reOther.MatchString(t):
		m := reOther.FindStringSubmatch(t)
		r.OtherRole = m[2]
		p.sec = secOther
		return
	case reUsageBug.MatchString(t):
		m := reUsageBug.FindStringSubmatch(t)
		r.UsageFrom, r.UsageTo = m[1], m[2]
		return
	case strings.HasSuffix(t, "state was registered at:"):
		p.sec = secState
		return
	case reWaitCtx.MatchString(t):
		r.Context = reWaitCtx.FindString(t)
		return
	case reEntry.MatchString(t):
		m := reEntry.FindStringSubmatch(t)
		d, _ := strconv.Atoi(m[1])
		p.sec = secNone
		if len(r.Entries) < MaxEntries && d < 1<<16 {
			l, _ := ParseLock(strings.TrimSuffix(strings.TrimSpace(m[2]), ":"))
			r.Entries = append(r.Entries, Entry{Depth: d, Lock: l, Line: n})
			p.sec = secEntry
		}
		return
	case strings.HasPrefix(t, "Chain exists of"):
		p.sec = secChain
		return
	case strings.Contains(t, "Possible unsafe locking scenario") || strings.Contains(t, "Possible interrupt unsafe locking scenario"):
		p.sec = secScenario
		return
	case strings.HasPrefix(t, "*** DEADLOCK ***"):
		p.sec = secNone
		return
	case reHeldHead.MatchString(t):
		m := reHeldHead.FindStringSubmatch(t)
		if len(r.Held) < MaxHeld {
			r.Held = append(r.Held, HeldList{Task: m[2], Line: n})
			p.heldOpen = true
		}
		p.sec = secHeld
		return
	case reNoLocks.MatchString(t):
		p.sec = secNone
		return
	case strings.HasPrefix(t, "stack backtrace:") || t == "Call Trace:" || strings.HasPrefix(t, "Call trace:"):
		if p.sec != secBacktrace {
			p.sec = secBacktrace
		}
		return
	case strings.HasPrefix(t, "other info that might help") || strings.HasPrefix(t, "which lock already depends") ||
		strings.HasPrefix(t, "the existing dependency chain") || strings.HasPrefix(t, "and interrupts could create") ||
		strings.HasPrefix(t, "the shortest dependencies between"):
		p.sec = secNone
		return
	}
	switch p.sec {
	case secTrying, secHolding, secOther:
		l, ok := ParseLock(t)
		if !ok {
			return
		}
		switch p.sec {
		case secTrying:
			if r.Acquiring == nil {
				r.Acquiring = &l
			}
		case secHolding:
			if r.Holding == nil {
				r.Holding = &l
			}
		case secOther:
			if r.Other == nil {
				r.Other = &l
			}
		}
		p.sec = secNone
	case secEntry:
		e := &r.Entries[len(r.Entries)-1]
		for _, f := range ParseFrames(t) {
			if len(e.Frames) < MaxFrames {
				e.Frames = append(e.Frames, f)
			}
		}
	case secState:
		for _, f := range ParseFrames(t) {
			if len(r.StateTrace) < MaxFrames {
				r.StateTrace = append(r.StateTrace, f)
			}
		}
	case secBacktrace:
		for _, f := range ParseFrames(t) {
			if len(r.Backtrace) < MaxFrames {
				r.Backtrace = append(r.Backtrace, f)
			}
		}
	case secChain:
		if r.Chain == nil {
			for _, part := range strings.Split(t, " --> ") {
				if part = strings.TrimSpace(part); part != "" && len(r.Chain) < MaxEntries {
					r.Chain = append(r.Chain, clip(part, MaxName))
				}
			}
		}
		p.sec = secNone
	case secHeld:
		if !p.heldOpen || len(r.Held) == 0 {
			return
		}
		m := reHeldLine.FindStringSubmatch(t)
		if m == nil {
			p.heldOpen = false
			return
		}
		hl := &r.Held[len(r.Held)-1]
		idx, _ := strconv.Atoi(m[1])
		if l, ok := ParseLock(m[2]); ok && len(hl.Locks) < MaxHeld {
			hl.Locks = append(hl.Locks, Held{Index: idx, Lock: l, Line: n})
		}
	}
}

func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	s = s[:n]
	for !utf8.ValidString(s) && len(s) > 0 {
		s = s[:len(s)-1]
	}
	return s
}

// ParseLock reads "[instance] (name){usage}-{outer:inner}[, at: func]" as
// print_lock() and print_circular_bug_entry() print it. The name is the text
// inside the outermost parentheses (names such as
// "(work_completion)(&dev->work)" contain parentheses themselves).
func ParseLock(s string) (Lock, bool) {
	s = strings.TrimSpace(s)
	s = reAddr.ReplaceAllString(s, "")
	s = strings.TrimSpace(s)
	var l Lock
	if i := strings.Index(s, ", at: "); i >= 0 {
		l.At = funcName(strings.TrimSpace(s[i+len(", at: "):]))
		s = s[:i]
	}
	open := strings.IndexByte(s, '(')
	if open < 0 {
		return l, false
	}
	rest := s[open+1:]
	end := -1
	if k := strings.LastIndex(rest, "){"); k >= 0 {
		end = k
	} else {
		depth := 1
		for i := 0; i < len(rest); i++ {
			switch rest[i] {
			case '(':
				depth++
			case ')':
				depth--
			}
			if depth == 0 {
				end = i
				break
			}
		}
		if end < 0 {
			end = strings.LastIndexByte(rest, ')')
		}
	}
	if end <= 0 {
		return l, false
	}
	l.Name = clip(strings.TrimSpace(rest[:end]), MaxName)
	if l.Name == "" {
		return l, false
	}
	tail := rest[end+1:]
	if strings.HasPrefix(tail, "{") {
		if k := strings.IndexByte(tail, '}'); k > 0 {
			l.Usage = clip(tail[1:k], 16)
			tail = tail[k+1:]
		}
	}
	if strings.HasPrefix(tail, "-{") {
		if k := strings.IndexByte(tail, '}'); k > 0 {
			if a, b, ok := strings.Cut(tail[2:k], ":"); ok {
				x, e1 := strconv.Atoi(a)
				y, e2 := strconv.Atoi(b)
				if e1 == nil && e2 == nil && x >= 0 && x < 16 && y >= 0 && y < 16 {
					l.WaitOuter, l.WaitInner, l.HasWait = x, y, true
				}
			}
		}
	}
	return l, true
}

// ParseFrames reads one stack line. Besides the kernel's own "func+0x1/0x2
// [mod]" and "[<addr>] func+0x1/0x2" forms it accepts the condensed forms
// people write in mail ("a / b / c (munmap)", "... lock_acquire / f").
func ParseFrames(t string) []Frame {
	t = strings.TrimSpace(t)
	if t == "" {
		return nil
	}
	var out []Frame
	for _, part := range strings.Split(t, " / ") {
		part = strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(part), "..."))
		part = strings.TrimSpace(strings.TrimPrefix(part, "? "))
		part = reFrameAddr.ReplaceAllString(part, "")
		if part == "" || strings.HasPrefix(part, "<") || strings.HasPrefix(part, "RIP:") || strings.HasPrefix(part, "CPU:") ||
			strings.HasPrefix(part, "Hardware name:") || strings.HasPrefix(part, "R") && strings.Contains(part, ": ") && !strings.Contains(part, "+0x") {
			continue
		}
		f := Frame{Raw: clip(part, MaxName)}
		if i := strings.IndexByte(part, '['); i > 0 && strings.HasSuffix(part, "]") {
			f.Module = clip(part[i+1:len(part)-1], 64)
			part = strings.TrimSpace(part[:i])
		}
		f.Func = funcName(part)
		if f.Func == "" || !isIdent(f.Func) {
			continue
		}
		out = append(out, f)
	}
	return out
}

// funcName returns the symbol of "func+0x1/0x2" without the offset and
// without compiler suffixes (.part.0, .isra.0, .constprop.0, .cold).
func funcName(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.IndexAny(s, " \t("); i >= 0 {
		s = s[:i]
	}
	if loc := reOffset.FindStringIndex(s); loc != nil {
		s = s[:loc[0]]
	}
	if i := strings.IndexByte(s, '.'); i > 0 {
		s = s[:i]
	}
	return clip(s, 128)
}

func isIdent(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9') {
			return false
		}
	}
	return s != "" && !(s[0] >= '0' && s[0] <= '9')
}
