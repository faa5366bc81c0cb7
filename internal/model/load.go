package model

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"maps"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"unsafe"

	"gopkg.in/yaml.v3"

	"github.com/fencecheck/fencecheck/internal/diag"
	"github.com/fencecheck/fencecheck/internal/rules"
)

// DefaultMaxBytes is the default input size limit (32 MiB): large enough for
// generated whole-driver designs, small enough that a hostile file is refused
// before it costs memory.
const DefaultMaxBytes = 32 << 20

// Builtin lock classes: the kernel pseudo-locks and core locks fencecheck
// knows, named exactly as lockdep prints them (K1). They may be
// referenced from steps without declaration.
var Builtins = []string{
	"fs_reclaim",
	"mmu_notifier_invalidate_range_start",
	"dma_fence_map",
	"reservation_ww_class_acquire",
	"reservation_ww_class_mutex",
	"mmap_lock",
	"i_mmap_rwsem",
	// The same locks as lockdep prints them (any release); internal/kernel
	// maps them to the short names above.
	"&mm->mmap_lock",
	"&mm->mmap_sem",
	"mmap_sem",
	"&mapping->i_mmap_rwsem",
}

// IsBuiltin reports whether name is a built-in kernel lock class.
func IsBuiltin(name string) bool {
	for _, b := range Builtins {
		if b == name {
			return true
		}
	}
	return false
}

// Options tune the loader.
type Options struct {
	MaxBytes int // 0 means DefaultMaxBytes
	MaxSteps int // 0 means DefaultMaxSteps
	// Root is the project root (--root; "" is the working directory):
	// base: includes must lie inside it.
	Root string
	// Bases loads `base:` includes (nil: DefaultBases); see base.go.
	Bases *BaseCache
	inc   baseChain
}

// DefaultMaxSteps bounds the steps of all paths after `call:` inlining
// (--max-steps). Inlining multiplies: seven paths each calling the next ten
// times are 1.4 KB of YAML and ten million steps. A million steps is far
// beyond any hand-written design and the generated lockdep-scale ones
// (about 100,000), and is analysed in seconds.
const DefaultMaxSteps = 1_000_000

// Scenario is a loaded file: the AST plus the name table built while
// validating it.
type Scenario struct {
	File   *File
	Path   string
	Source []byte
	// Kinds maps every declared name to its kind (lock, buffer, fence, …).
	Kinds map[string]string
	// DeclPos maps every declared name to where it was declared.
	DeclPos map[string]Pos
	// MaxSteps is the --max-steps the file was loaded with (0: default); the
	// compiler bounds its output by it.
	MaxSteps int
	// Bases are the files included with base:, transitively, each once.
	Bases []*Scenario
}

var yamlLineRe = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)

// Load parses and validates one scenario. It never panics: an internal error
// is returned as a diagnostic. A nil Scenario means the file could not be
// decoded at all; otherwise the Scenario is usable even if diagnostics were
// reported (the analysis should not run on a file with errors).
func Load(path string, data []byte, opt Options) (sc *Scenario, diags []diag.Diagnostic) {
	defer func() {
		if r := recover(); r != nil {
			sc = nil
			diags = append(diags, diag.Diagnostic{File: path, Pos: Pos{Line: 1, Col: 1}, Rule: rules.YAMLSyntax,
				Message: fmt.Sprintf("internal error while loading: %v", r)})
		}
	}()
	limit := opt.MaxBytes
	if limit <= 0 {
		limit = DefaultMaxBytes
	}
	errAt := func(rule string, p Pos, msg string) []diag.Diagnostic {
		return []diag.Diagnostic{{File: path, Pos: p, Rule: rule, Severity: rules.SeverityOf(rule), Message: msg}}
	}
	first := Pos{Line: 1, Col: 1}
	if len(data) > limit {
		return nil, errAt(rules.InputLimit, first, fmt.Sprintf("file exceeds the %d-byte size limit (raise it with --max-bytes)", limit))
	}
	if len(bytes.TrimSpace(data)) == 0 {
		return nil, errAt(rules.Version, first, "file is empty; a scenario starts with `fencecheck: 1`")
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, errAt(rules.Version, first, "file holds no YAML document; a scenario starts with `fencecheck: 1`")
		}
		return nil, []diag.Diagnostic{syntaxDiag(path, err)}
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); err == nil {
		return nil, errAt(rules.InputLimit, Pos{Line: max(extra.Line, 1), Col: max(extra.Column, 1)}, "file holds more than one YAML document; put one scenario per file")
	} else if !errors.Is(err, io.EOF) {
		return nil, []diag.Diagnostic{syntaxDiag(path, err)}
	}
	root := &doc
	if root.Kind == yaml.DocumentNode && len(root.Content) == 1 {
		root = root.Content[0]
	}
	if root.Kind != yaml.MappingNode {
		return nil, errAt(rules.WrongType, Pos{Line: max(root.Line, 1), Col: max(root.Column, 1)},
			fmt.Sprintf("a scenario must be a mapping starting with `fencecheck: 1`, got %s", kindName(root)))
	}
	d := newDecoder(path, len(data))
	f := &File{}
	d.decodeStruct(root, reflect.ValueOf(f).Elem(), 0)
	// The name tables are sized once: every declaration, and each job's
	// implicit out-fence.
	nNames := len(d.decls) + len(f.Jobs)
	sc = &Scenario{File: f, Path: path, Source: data, Kinds: make(map[string]string, nNames), DeclPos: make(map[string]Pos, nNames), MaxSteps: opt.MaxSteps}
	if !d.abort {
		v := &validator{d: d, sc: sc, opt: opt, maxSteps: opt.MaxSteps}
		if v.maxSteps <= 0 {
			v.maxSteps = DefaultMaxSteps
		}
		v.run()
	}
	diags = d.diags
	diag.Sort(diags)
	return sc, diag.Dedupe(diags)
}

func syntaxDiag(path string, err error) diag.Diagnostic {
	msg := err.Error()
	p := Pos{Line: 1, Col: 1}
	if m := yamlLineRe.FindStringSubmatch(msg); m != nil {
		if n, e := strconv.Atoi(m[1]); e == nil {
			p.Line = n
		}
		msg = m[2]
	} else {
		msg = strings.TrimPrefix(msg, "yaml: ")
	}
	return diag.Diagnostic{File: path, Pos: p, Rule: rules.YAMLSyntax, Severity: diag.Error, Message: "invalid YAML: " + msg}
}

// validator runs the checks that need the whole file: the name table,
// references, version, and per-path step sanity.
type validator struct {
	d        *decoder
	sc       *Scenario
	opt      Options
	maxSteps int
	// name tables for checkParams (built on first use)
	pathByName map[string]*Path
	lockByName map[string]*Lock
	// anyPerObject, anySRCU: some lock is declared per: or instances:,
	// of kind srcu (tables).
	anyPerObject, anySRCU bool
	// counted: jobs expanded by count: (language.go), for the error that
	// names a copy.
	counted map[string]int
}

func (v *validator) errorf(rule string, p Pos, format string, args ...any) {
	v.d.errorf(rule, p, format, args...)
}

var kindArticle = map[string]string{
	"lock": "a lock", "device": "a device", "engine": "an engine", "scheduler": "a scheduler",
	"entity": "an entity", "fence": "a fence", "buffer": "a buffer", "dmabuf": "a dma-buf",
	"userptr": "a userptr", "vm": "a vm", "job": "a job", "path": "a path", "shrinker": "a shrinker",
	"completion": "a completion", "workqueue": "a workqueue", "resource": "a resource",
}

func (v *validator) run() {
	f := v.sc.File
	if !f.Fencecheck.Set {
		// the missing-field diagnostic already names the key; say why it matters
	} else if f.Fencecheck.V != 1 {
		v.errorf(rules.Version, f.Fencecheck.P, "unsupported format version %d; this fencecheck reads version 1", f.Fencecheck.V)
	}
	v.expandJobCounts()
	// Implicit declarations: a job's out-fence.
	for i := range f.Jobs {
		j := &f.Jobs[i]
		if j.Fence.V == "" && j.Name.V != "" {
			j.Fence = Str{V: j.Name.V + ".finished", P: j.Name.P}
			v.d.decls = append(v.d.decls, declRec{kind: "fence", name: j.Fence})
		}
	}
	kinds, declPos := v.sc.Kinds, v.sc.DeclPos
	for _, dc := range v.d.decls {
		if IsBuiltin(dc.name.V) {
			v.errorf(rules.DuplicateName, dc.name.P, "%q is a built-in kernel lock class and cannot be redeclared", dc.name.V)
			continue
		}
		if k, dup := kinds[dc.name.V]; dup {
			v.errorf(rules.DuplicateName, dc.name.P, "name %q is already declared as %s at %s", dc.name.V, kindArticle[k], declPos[dc.name.V])
			continue
		}
		kinds[dc.name.V] = dc.kind
		declPos[dc.name.V] = dc.name.P
	}
	v.includeBases()
	for _, r := range v.d.refs {
		v.checkRef(r)
	}
	v.checkPaths()
	v.checkMisc()
	v.checkWorkqueues()
	v.checkSchedulers()
	v.checkNoFenceJobs()
	v.checkCompositeFences()
}

func (v *validator) checkRef(r refRec) {
	name := r.name.V
	if strings.HasPrefix(name, "$") {
		return // a path parameter: checked against its path (checkParams)
	}
	k, ok := v.sc.Kinds[name]
	if !ok && IsBuiltin(name) {
		k, ok = "lock", true
	}
	wantS := func() string { // built only for an error
		want := make([]string, len(r.fm.ref))
		for i, kk := range r.fm.ref {
			want[i] = kindArticle[kk]
		}
		return joinOr(want)
	}
	if !ok {
		var cands []string
		for n, kk := range v.sc.Kinds {
			for _, w := range r.fm.ref {
				if kk == w {
					cands = append(cands, n)
				}
			}
		}
		for _, w := range r.fm.ref {
			if w == "lock" {
				cands = append(cands, Builtins...)
			}
		}
		if n, ok := v.counted[name]; ok {
			v.errorf(rules.UndefinedRef, r.name.P, "%s: job %q has count: %d; name one of its copies, %s[0] to %s[%d]", r.fm.key, name, n, name, name, n-1)
			return
		}
		v.errorf(rules.UndefinedRef, r.name.P, "%s: %q is not declared (expected %s)%s", r.fm.key, name, wantS(), suggest(name, cands))
		return
	}
	for _, w := range r.fm.ref {
		if w == k {
			return
		}
	}
	v.errorf(rules.UndefinedRef, r.name.P, "%s: %q is %s, expected %s", r.fm.key, name, kindArticle[k], wantS())
}

func joinOr(xs []string) string {
	switch len(xs) {
	case 0:
		return ""
	case 1:
		return xs[0]
	}
	return strings.Join(xs[:len(xs)-1], ", ") + " or " + xs[len(xs)-1]
}

// opModifiers lists which modifier keys each step operation accepts.
var opModifiers = map[string][]string{
	"lock":                {"mode", "subclass", "nest_lock", "ctx", "interruptible", "unpublished", "irq", "of"},
	"trylock":             {"mode", "subclass", "unpublished", "irq", "on_fail", "of"},
	"unlock":              {"ctx", "irq", "of"},
	"might_lock":          {"mode", "subclass", "of"},
	"alloc":               {"nolockdep"},
	"wait":                {"interruptible"},
	"wait_for_completion": {"interruptible"},
	"user_access":         {"mapping", "pagefault_disabled"},
	"assert_held":         {"of"},
	"wait_resv":           {"usage", "interruptible"},
	"add_fence":           {"fence", "usage"},
	"replace_fences":      {"fence", "usage"},
	"reserve_fences":      {"count"},
	"map_pages":           {"vm"},
	"zap_ptes":            {"vm"},
	"vm_update":           {"op", "range"},
	"write_ptes":          {"atomic"},
	"call":                {"nonblock", "with"},
	"get":                 {"unless_zero", "on_fail"},
	"put":                 {},
	"ww_acquire_init":     {"ww_class"},
	"begin_signalling":    {},
}

// lockKey identifies a held lock inside one path's simulation: the name and
// subclass (subclasses are distinct lockdep classes).
func lockKey(name string, sub int64) string {
	if sub == 0 {
		return name
	}
	return fmt.Sprintf("%s/%d", name, sub)
}

// heldKeys lists the held lock keys in order, or none when skip is set.
func heldKeys(held map[string]int, skip bool) []string {
	if skip {
		return nil
	}
	return slices.Sorted(maps.Keys(held))
}

// WWClassOf is the ww class of a lock reference: a declared ww_mutex's
// ww_class (default reservation_ww_class); buffers, VMs, dma-bufs and
// userptrs name their dma_resv, of class reservation_ww_class. "" means
// the reference is not a ww_mutex.
func WWClassOf(f *File, kinds map[string]string, ref string) string {
	switch kinds[ref] {
	case "buffer", "vm", "dmabuf", "userptr":
		return "reservation_ww_class"
	}
	if ref == "reservation_ww_class_mutex" {
		return "reservation_ww_class"
	}
	for i := range f.Locks {
		if l := &f.Locks[i]; l.Name.V == ref && l.Kind.V == "ww_mutex" {
			if l.WWClass.V != "" {
				return l.WWClass.V
			}
			return "reservation_ww_class"
		}
	}
	return ""
}

// checkWWClass: an acquire context takes the class of the ww mutexes it
// locks (ww_acquire_init(ctx, ww_class)); locking a mutex of another class
// under it is misuse (the ww_mutex debug code WARNs on ctx->ww_class !=
// lock->ww_class, kernel/locking/ww_mutex.h).
func (v *validator) checkWWClass(ctxClass map[string]Str, ctx string, ref Str) {
	class := WWClassOf(v.sc.File, v.sc.Kinds, ref.V)
	if class == "" {
		return
	}
	first, ok := ctxClass[ctx]
	if !ok {
		ctxClass[ctx] = Str{V: class, P: ref.P}
		return
	}
	if first.V != class {
		v.errorf(rules.BadStep, ref.P, "%q is of ww class %s, but acquire context %q already locked a %s mutex at %d:%d: one acquire context serves one ww class", ref.V, class, ctx, first.V, first.P.Line, first.P.Col)
	}
}

func (v *validator) checkPaths() {
	f := v.sc.File
	stepMeta := metaOf(reflect.TypeOf(Step{}))
	calls := map[string][]Str{}
	// Helpers reached through call: run under their caller's acquire
	// contexts.
	called := map[string]bool{}
	for pi := range f.Paths {
		for si := range f.Paths[pi].Steps {
			if op, v := stepOp(stepMeta, &f.Paths[pi].Steps[si]); op == "call" {
				called[v.V] = true
			}
		}
	}
	for pi := range f.Paths {
		p := &f.Paths[pi]
		held := map[string]int{}
		ctxs := map[string]bool{}
		ctxClass := map[string]Str{}
		done := map[string]bool{}
		sigs := map[string]int{}
		scopes := map[string]int{}
		v.checkLabels(p)
		v.checkParams(p)
		for si := range p.Steps {
			s := &p.Steps[si]
			op, opVal := stepOp(stepMeta, s)
			if op == "" {
				continue
			}
			v.checkModifiers(stepMeta, s, op)
			for r := int64(0); r < max(s.Repeat.V, 1); r++ {
				v.checkStep(p, s, op, opVal, called, held, ctxs, ctxClass, done, sigs, scopes, calls)
			}
			v.checkLanguage(p, s, op, opVal)
		}
	}
	v.checkCalls(calls)
}

// checkStep simulates one step of a path for the loader's balance checks.
func (v *validator) checkStep(p *Path, s *Step, op string, opVal Str, called map[string]bool, held map[string]int, ctxs map[string]bool, ctxClass map[string]Str, done map[string]bool, sigs, scopes map[string]int, calls map[string][]Str) {
	switch op {
	case "lock", "trylock":
		if s.Subclass.Set && (s.Subclass.V < 0 || s.Subclass.V > 7) {
			v.errorf(rules.InvalidValue, s.Subclass.P, "subclass: %d is out of range; lockdep has subclasses 0-7", s.Subclass.V)
		}
		if s.Ctx.V != "" && !ctxs[s.Ctx.V] && !called[p.Name.V] {
			v.errorf(rules.BadStep, s.Ctx.P, "ctx: acquire context %q is not initialised in path %q (add a ww_acquire_init step first)", s.Ctx.V, p.Name.V)
		}
		if s.Ctx.V != "" {
			v.checkWWClass(ctxClass, s.Ctx.V, opVal)
		}
		held[lockKey(opVal.V, s.Subclass.V)]++
	case "unlock":
		k := opVal.V
		// The held lock itself sorts first; only an unlock of a lock taken
		// with a subclass (or not held) scans the rest.
		found := held[k] > 0
		if found {
			held[k]--
		}
		for _, hk := range heldKeys(held, found) {
			if held[hk] > 0 && (hk == k || strings.HasPrefix(hk, k+"/")) {
				held[hk]--
				found = true
				break
			}
		}
		if !found && p.Context.V != CtxHelper { // a helper may release its caller's lock (dqm_unlock)
			v.errorf(rules.BadStep, opVal.P, "unlock of %q, which path %q does not hold at this point (lockdep: bad unlock balance)", k, p.Name.V)
		}
	case "ww_acquire_init":
		if ctxs[opVal.V] {
			v.errorf(rules.BadStep, opVal.P, "acquire context %q is already initialised in this path", opVal.V)
		}
		ctxs[opVal.V] = true
		delete(done, opVal.V)
		if s.WWClass.V != "" {
			ctxClass[opVal.V] = s.WWClass
		} else {
			delete(ctxClass, opVal.V)
		}
	case "ww_acquire_done":
		if !ctxs[opVal.V] {
			v.errorf(rules.BadStep, opVal.P, "ww_acquire_done of %q, which is not initialised in path %q", opVal.V, p.Name.V)
		} else if done[opVal.V] {
			// ww_acquire_done() WARNs on ctx->done_acquire (DEBUG_WW_MUTEXES).
			v.errorf(rules.BadStep, opVal.P, "ww_acquire_done of %q twice in path %q", opVal.V, p.Name.V)
		}
		done[opVal.V] = true
	case "init":
		for _, hk := range slices.Sorted(maps.Keys(held)) {
			if held[hk] > 0 && (hk == opVal.V || strings.HasPrefix(hk, opVal.V+"/")) {
				// lockdep: a held lock must not be re-initialised
				// (debug_check_no_locks_freed(), lockdep_init_map()).
				v.errorf(rules.BadStep, opVal.P, "init of %q, which path %q holds at this point (lockdep: initializing a held lock)", opVal.V, p.Name.V)
				break
			}
		}
	case "ww_acquire_fini":
		if !ctxs[opVal.V] {
			v.errorf(rules.BadStep, opVal.P, "ww_acquire_fini of %q, which is not initialised in path %q", opVal.V, p.Name.V)
		}
		delete(ctxs, opVal.V)
	case "begin_signalling":
		sigs[opVal.V]++
	case "end_signalling":
		if sigs[opVal.V] == 0 {
			v.errorf(rules.BadStep, opVal.P, "end_signalling of %q without a matching begin_signalling in path %q", opVal.V, p.Name.V)
		} else {
			sigs[opVal.V]--
		}
	case "memalloc_save":
		scopes[opVal.V]++
	case "memalloc_restore":
		if scopes[opVal.V] == 0 && p.Context.V != CtxHelper {
			v.errorf(rules.BadStep, opVal.P, "memalloc_restore of %q without a matching memalloc_save in path %q", opVal.V, p.Name.V)
		} else {
			scopes[opVal.V]--
		}
	case "add_fence", "replace_fences":
		if s.Fence.V == "" {
			v.errorf(rules.MissingField, s.P, "%s step needs fence:", op)
		}
	case "vm_update":
		if s.Op.V == "" {
			v.errorf(rules.MissingField, s.P, "vm_update step needs op: (map, unmap or remap)")
		}
	case "call":
		calls[p.Name.V] = append(calls[p.Name.V], opVal)
		// A helper may return holding locks (returns_held:).
		if paths, _ := v.tables(); paths[opVal.V] != nil {
			for _, r := range paths[opVal.V].ReturnsHeld {
				held[lockKey(r.V, 0)]++
			}
		}
	case "assert_held":
		// The lock is the caller's: from here on the path may
		// release it (checked against every caller at analysis).
		if k := lockKey(opVal.V, 0); held[k] == 0 {
			held[k]++
		}
	}
}

// checkCalls refuses recursive call chains and bounds the inlined size.
func (v *validator) checkCalls(calls map[string][]Str) {
	// A path that calls itself, directly or not, would never finish.
	state := map[string]int{}
	var visit func(name string) bool
	visit = func(name string) bool {
		state[name] = 1
		for _, c := range calls[name] {
			switch state[c.V] {
			case 1:
				v.errorf(rules.BadStep, c.P, "path %q calls %q, which leads back to it (recursive call)", name, c.V)
				return true
			case 0:
				if visit(c.V) {
					return true
				}
			}
		}
		state[name] = 2
		return false
	}
	recursive := false
	for _, name := range slices.Sorted(maps.Keys(calls)) {
		if state[name] == 0 && visit(name) {
			recursive = true
		}
	}
	if !recursive {
		v.checkExpansion(calls)
	}
}

// checkExpansion bounds the program that call: inlining produces, before
// anything is inlined: the size of each path is computed once (memoised,
// saturating), so a file that would expand exponentially costs time linear
// in its length to refuse.
func (v *validator) checkExpansion(calls map[string][]Str) {
	limit := int64(v.maxSteps)
	f := v.sc.File
	// A name's steps are those of the path the name table keeps for it
	// (tables: the last declared, as a duplicate is an error already).
	paths, _ := v.tables()
	size := make(map[string]int64, len(f.Paths))
	var sizeOf func(name string) int64
	sizeOf = func(name string) int64 {
		if n, ok := size[name]; ok {
			return n
		}
		var n int64
		if p := paths[name]; p != nil {
			for si := range p.Steps {
				st := &p.Steps[si]
				if op, _ := st.Operation(); op != "call" {
					n += max(st.Repeat.V, 1)
				}
			}
		}
		for _, c := range calls[name] {
			n += sizeOf(c.V)
			if n > limit {
				n = limit + 1
				break
			}
		}
		size[name] = n
		return n
	}
	var total int64
	for i := range f.Paths {
		p := &f.Paths[i]
		n := sizeOf(p.Name.V)
		total = min(total+n, limit+1)
		if total > limit {
			v.errorf(rules.InputLimit, p.Name.P, "the paths expand to more than %d steps after call: inlining (path %q alone: %s); raise --max-steps if the design is genuinely this large", limit, p.Name.V, sizeText(n, limit))
			return
		}
	}
}

func sizeText(n, limit int64) string {
	if n > limit {
		return fmt.Sprintf("more than %d", limit)
	}
	return fmt.Sprintf("%d", n)
}

// tables returns the path and lock name tables, built once per file: the
// per-step checks look names up, and a lockdep-scale design has thousands
// of paths and locks (a scan per step is quadratic).
func (v *validator) tables() (map[string]*Path, map[string]*Lock) {
	if v.pathByName == nil {
		v.pathByName = make(map[string]*Path, len(v.sc.File.Paths))
		for i := range v.sc.File.Paths {
			v.pathByName[v.sc.File.Paths[i].Name.V] = &v.sc.File.Paths[i]
		}
		v.lockByName = make(map[string]*Lock, len(v.sc.File.Locks))
		for i := range v.sc.File.Locks {
			l := &v.sc.File.Locks[i]
			v.lockByName[l.Name.V] = l
			v.anyPerObject = v.anyPerObject || l.Per.V != "" || len(l.Instances) > 0
			v.anySRCU = v.anySRCU || l.Kind.V == "srcu"
		}
	}
	return v.pathByName, v.lockByName
}

// checkParams validates a path's $PARAM uses, of: instances and call
// bindings: a per-object lock class is always named with the instance, and
// an object given for it has the class's kind.
func (v *validator) checkParams(p *Path) {
	m := stepMetaOnce()
	paths, locks := v.tables()
	for si := range p.Steps {
		st := &p.Steps[si]
		base := unsafe.Pointer(st)
		param := func(fm *fieldMeta) {
			if fm.kind != kStr || (len(fm.ref) == 0 && fm.key != "of" && fm.key != "with") {
				return
			}
			sv := (*Str)(fm.field(base))
			if sv == nil || !strings.HasPrefix(sv.V, "$") {
				return
			}
			if p.Param.V == "" {
				v.errorf(rules.UndefinedRef, sv.P, "%s: %s is a parameter, but path %q declares no param:", fm.key, sv.V, p.Name.V)
			} else if sv.V[1:] != p.Param.V {
				v.errorf(rules.UndefinedRef, sv.P, "%s: %s is not the parameter of path %q (it is $%s)", fm.key, sv.V, p.Name.V, p.Param.V)
			}
		}
		// The operation (its keys share one value), then the modifiers
		// unless the decoder saw none.
		if fm := m.opOf(base); fm != nil {
			param(fm)
		}
		if !m.noMods(base) {
			for _, i := range m.mods {
				param(&m.fields[i])
			}
		}
		op, opVal := stepOp(m, st)
		if op == "get" && st.OnFail.P.Valid() && !st.UnlessZero.V {
			v.errorf(rules.BadStep, st.OnFail.P, "on_fail: a plain get cannot fail; kref_get_unless_zero is get with unless_zero: true")
		}
		switch op {
		case "lock", "trylock", "unlock", "might_lock":
			var l *Lock
			if v.anyPerObject || st.Of.P.Valid() { // else no lookup: the answer is no
				l = locks[opVal.V]
			}
			perObject := l != nil && (l.Per.V != "" || len(l.Instances) > 0)
			switch {
			case st.Of.P.Valid() && !perObject:
				v.errorf(rules.BadStep, st.Of.P, "of: %q is not a per-object lock class (declare it with per: or instances:)", opVal.V)
			case !st.Of.P.Valid() && perObject:
				v.errorf(rules.MissingField, opVal.P, "%q has one instance per object: name it with of: (an object or $PARAM)", opVal.V)
			case perObject && !strings.HasPrefix(st.Of.V, "$"):
				v.checkInstance(l, st.Of)
			}
		case "call":
			callee := paths[opVal.V]
			if callee == nil {
				break
			}
			switch {
			case callee.Param.V != "" && st.With.V == "":
				v.errorf(rules.MissingField, opVal.P, "path %q acts on an object (param: %s): bind it with with:", opVal.V, callee.Param.V)
			case callee.Param.V == "" && st.With.P.Valid():
				v.errorf(rules.BadStep, st.With.P, "with: path %q declares no param:", opVal.V)
			case st.With.V != "" && !strings.HasPrefix(st.With.V, "$"):
				if _, ok := v.sc.Kinds[st.With.V]; !ok {
					v.errorf(rules.UndefinedRef, st.With.P, "with: %q is not declared", st.With.V)
				}
			}
		}
	}
}

// checkInstance checks that obj is an instance of the per-object lock l.
func (v *validator) checkInstance(l *Lock, obj Str) {
	k, ok := v.sc.Kinds[obj.V]
	switch {
	case !ok:
		v.errorf(rules.UndefinedRef, obj.P, "of: %q is not declared", obj.V)
	case l.Per.V != "" && k != l.Per.V:
		v.errorf(rules.UndefinedRef, obj.P, "of: %q is %s, but %q has one instance per %s", obj.V, kindArticle[k], l.Name.V, l.Per.V)
	case len(l.Instances) > 0 && !slices.ContainsFunc(l.Instances, func(s Str) bool { return s.V == obj.V }):
		v.errorf(rules.UndefinedRef, obj.P, "of: %q is not one of the instances of %q", obj.V, l.Name.V)
	}
}

// OnFailReturn is the on_fail: value that leaves the path.
const OnFailReturn = "return"

// checkLabels validates labels and on_fail: targets. Jumps go forward only,
// inside one path, so every path still runs a bounded number of steps.
func (v *validator) checkLabels(p *Path) {
	at := map[string]int{}
	var names []string
	for si := range p.Steps {
		l := p.Steps[si].Label
		if !l.P.Valid() {
			continue
		}
		switch {
		case l.V == "" || l.V == OnFailReturn:
			v.errorf(rules.InvalidValue, l.P, "label: %q is reserved or empty; name the step", l.V)
		case at[l.V] > 0:
			v.errorf(rules.DuplicateName, l.P, "label %q is already used by step %d of path %q", l.V, at[l.V], p.Name.V)
		default:
			at[l.V] = si + 1
			names = append(names, l.V)
		}
	}
	for si := range p.Steps {
		of := p.Steps[si].OnFail
		if !of.P.Valid() || of.V == OnFailReturn {
			continue
		}
		switch to, ok := at[of.V]; {
		case !ok:
			v.errorf(rules.UndefinedRef, of.P, "on_fail: %q is neither return nor a label of path %q%s", of.V, p.Name.V, suggest(of.V, append(names, OnFailReturn)))
		case to-1 <= si:
			v.errorf(rules.BadStep, of.P, "on_fail: label %q is not after this step; failure branches jump forward only", of.V)
		}
	}
}

// stepOp returns the step's operation key and value.
func stepOp(m *typeMeta, s *Step) (string, Str) {
	if fm := m.opOf(unsafe.Pointer(s)); fm != nil && fm.kind == kStr {
		return fm.key, *(*Str)(fm.field(unsafe.Pointer(s)))
	}
	return "", Str{}
}

// fieldPos reads the position of a Str, Int, Bool or list field without
// boxing it.
func fieldPos(f reflect.Value) Pos {
	if f.Kind() == reflect.Slice {
		if f.Len() == 0 {
			return Pos{}
		}
		f = f.Index(0)
	}
	p := f.Field(1)
	return Pos{Line: int(p.Field(0).Int()), Col: int(p.Field(1).Int())}
}

var (
	stepMetaOnce   = sync.OnceValue(func() *typeMeta { return metaOf(reflect.TypeOf(Step{})) })
	actionMetaOnce = sync.OnceValue(func() *typeMeta { return metaOf(reflect.TypeOf(Action{})) })
)

// Op returns the step's operation key and its value ("" if none).
func (s *Step) Operation() (string, Str) { return stepOp(stepMetaOnce(), s) }

// Op returns the action's operation key and its value. Boolean operations
// (memory_pressure, oom) return their key with an empty value.
func (a *Action) Operation() (string, Str) {
	fm := actionMetaOnce().opOf(unsafe.Pointer(a))
	if fm == nil {
		return "", Str{}
	}
	switch fm.kind {
	case kStr:
		return fm.key, *(*Str)(fm.field(unsafe.Pointer(a)))
	case kBool:
		return fm.key, Str{P: (*Bool)(fm.field(unsafe.Pointer(a))).P}
	}
	return "", Str{}
}

func (v *validator) checkModifiers(m *typeMeta, s *Step, op string) {
	base := unsafe.Pointer(s)
	if m.noMods(base) {
		return
	}
	var allowed []string
	looked := false
	for _, i := range m.mods {
		fm := &m.fields[i]
		if fm.key == "label" || fm.key == "repeat" {
			continue // every step may carry a label and a repeat count
		}
		p := fm.valuePos(base)
		if !p.Valid() {
			continue
		}
		if !looked {
			allowed, looked = opModifiers[op], true
		}
		if slices.Contains(allowed, fm.key) {
			continue
		}
		if len(allowed) == 0 {
			v.errorf(rules.UnknownKey, p, "%s does not apply to the %s step (it takes no modifiers)", fm.key, op)
		} else {
			v.errorf(rules.UnknownKey, p, "%s does not apply to the %s step (it takes: %s)", fm.key, op, strings.Join(allowed, ", "))
		}
	}
}

// checkRoleContexts: a path bound to a kernel callback runs in that
// callback's context; a different declared context would be silently
// overridden, so it is an error.
func (v *validator) checkRoleContexts() {
	f := v.sc.File
	paths, _ := v.tables()
	check := func(ref Str, role, want string) {
		p := paths[ref.V]
		if ref.V == "" || p == nil || p.Context.V == "" || p.Context.V == want {
			return
		}
		c := p.Context
		v.errorf(rules.InvalidValue, c.P, "path %q runs as %s, so its context is %s, not %s", ref.V, role, want, c.V)
	}
	for _, j := range f.Jobs {
		check(j.RunJob, "a job's run_job", CtxRunJob)
		check(j.FreeJob, "a job's free_job", CtxFreeJob)
		check(j.Callback, "a fence callback", CtxFenceCB)
	}
	for _, d := range f.Devices {
		for _, s := range d.Schedulers {
			check(s.Timeout, "timedout_job", CtxTimedoutJob)
		}
		if d.MMU != nil {
			check(d.MMU.FaultHandler, "the fault handler", CtxFaultHandler)
		}
	}
}

func (v *validator) checkMisc() {
	v.checkRoleContexts()
	f := v.sc.File
	for _, a := range f.Workload {
		op, _ := a.Operation()
		if op == "vm_bind" && a.Op.V == "" {
			v.errorf(rules.MissingField, a.P, "vm_bind action needs op: (map, unmap or remap)")
		}
		if op != "vm_bind" {
			for _, s := range []Str{a.Op, a.Buffer, a.Path} {
				if s.P.Valid() {
					v.errorf(rules.UnknownKey, s.P, "this key only applies to a vm_bind action")
				}
			}
		}
	}
	for _, e := range f.Expect {
		for _, ef := range e.Findings {
			if _, ok := rules.Lookup(ef.Rule.V); !ok && ef.Rule.V != "" {
				var ids []string
				for _, r := range rules.All() {
					ids = append(ids, r.ID, r.Name)
				}
				v.errorf(rules.InvalidValue, ef.Rule.P, "rule: unknown rule %q (see fencecheck rules)%s", ef.Rule.V, suggest(ef.Rule.V, ids))
			}
		}
		if e.Clean.V && len(e.Findings) > 0 {
			v.errorf(rules.BadStep, e.Clean.P, "an expectation cannot be clean and list findings")
		}
	}
	paths, _ := v.tables()
	param := func(name string) string { // the path's param: ("" if none or no such path)
		if p := paths[name]; p != nil {
			return p.Param.V
		}
		return ""
	}
	for _, a := range f.Workload {
		op, val := a.Operation()
		switch {
		case a.With.P.Valid() && op != "run":
			v.errorf(rules.UnknownKey, a.With.P, "with: only applies to a run action")
		case op == "run" && param(val.V) != "" && a.With.V == "":
			v.errorf(rules.MissingField, val.P, "path %q acts on an object (param: %s): bind it with with:", val.V, param(val.V))
		case op == "run" && param(val.V) == "" && a.With.P.Valid():
			v.errorf(rules.BadStep, a.With.P, "with: path %q declares no param:", val.V)
		}
	}
	for _, b := range f.Buffers {
		if b.Free.V != "" && param(b.Free.V) == "" {
			v.errorf(rules.BadStep, b.Free.P, "free: path %q declares no param: to bind the dying object to", b.Free.V)
		}
	}
	for _, s := range f.Shrinkers {
		if len(s.LRU) > 0 && param(s.Scan.V) == "" {
			v.errorf(rules.BadStep, s.LRU[0].P, "lru: shrinker %q's scan path %q declares no param: to bind each object to", s.Name.V, s.Scan.V)
		}
	}
	for _, l := range f.Locks {
		if l.Per.V != "" && len(l.Instances) > 0 {
			v.errorf(rules.BadStep, l.Per.P, "a lock class has per: or instances:, not both")
		}
		if l.IRQSafe.V && l.Kind.V != "spinlock" && l.Kind.V != "raw_spinlock" && l.Kind.V != "rwlock" {
			v.errorf(rules.InvalidValue, l.IRQSafe.P, "irq_safe applies to spinlock, raw_spinlock and rwlock only, not %s", l.Kind.V)
		}
	}
}
