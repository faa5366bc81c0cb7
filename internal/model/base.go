package model

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/fencecheck/fencecheck/internal/diag"
	"github.com/fencecheck/fencecheck/internal/rules"
)

// Observed is a set of dependencies a running kernel's lockdep recorded:
// class From was held when each class of To was acquired (/proc/lockdep's
// "-> [key] name" lines under From). They are facts, not code: fencecheck
// adds them to the graph as it adds the kernel prelude.
type Observed struct {
	P    Pos
	From Str     `fc:"from,required,ref=lock" doc:"The class held (as lockdep names it, or a fencecheck built-in)."`
	To   StrList `fc:"to,required,ref=lock" doc:"The classes acquired while it was held."`
}

// Includes are bounded so that no file can make the loader read without
// end: a file names at most maxBases bases, and a scenario's closure holds
// at most maxClosure files.
const (
	maxBases   = 64
	maxClosure = 256
)

// BaseCache loads each base file once per process (a run checks many
// scenarios that include the same kernel base). Loads are serialized: a
// base is read under the cache lock, and the includes it makes itself are
// loaded under the same lock (see locked), so concurrent checks wait for
// the first load instead of repeating it, and include cycles are reported
// rather than deadlocking.
type BaseCache struct {
	mu sync.Mutex
	m  map[baseKey]*baseEntry
}

type baseKey struct {
	path string
	size int64
	mod  time.Time
}

type baseEntry struct {
	sc    *Scenario
	diags []diag.Diagnostic
}

// DefaultBases is the cache used when Options.Bases is nil.
var DefaultBases = &BaseCache{}

// baseChain is the chain of files being included (outermost first), for
// cycle detection; locked says the cache lock is already held.
type baseChain struct {
	files  []string
	locked bool
}

func absPath(p string) string {
	if a, err := filepath.Abs(p); err == nil {
		return a
	}
	return filepath.Clean(p)
}

// resolveBase resolves a base: reference relative to the including file's
// directory (the working directory for standard input). It returns the path
// reports show (relative when the including file's path is, so output does
// not depend on where the checkout lives) and the absolute path that keys
// the cache.
func resolveBase(from, ref string) (shown, abs string) {
	if filepath.IsAbs(ref) {
		return filepath.Clean(ref), filepath.Clean(ref)
	}
	dir := "."
	if from != "" && from != "-" {
		dir = filepath.Dir(from)
	}
	shown = filepath.Clean(filepath.Join(dir, ref))
	return shown, absPath(shown)
}

// load returns the loaded base at abs.
func (c *BaseCache) load(shown, abs string, opt Options) (*Scenario, []diag.Diagnostic, error) {
	if !opt.inc.locked {
		c.mu.Lock()
		defer c.mu.Unlock()
	}
	st, err := os.Stat(abs)
	if err != nil {
		return nil, nil, err
	}
	if !st.Mode().IsRegular() {
		return nil, nil, fmt.Errorf("not a regular file")
	}
	key := baseKey{abs, st.Size(), st.ModTime()}
	if e, ok := c.m[key]; ok {
		return e.sc, e.diags, nil
	}
	limit := opt.MaxBytes
	if limit <= 0 {
		limit = DefaultMaxBytes
	}
	f, err := os.Open(abs)
	if err != nil {
		return nil, nil, err
	}
	data, err := io.ReadAll(io.LimitReader(f, int64(limit)+1))
	f.Close()
	if err != nil {
		return nil, nil, err
	}
	nopt := Options{MaxBytes: opt.MaxBytes, MaxSteps: opt.MaxSteps, Root: opt.Root, Bases: c, inc: baseChain{files: append(slices.Clone(opt.inc.files), abs), locked: true}}
	sc, ds := Load(shown, data, nopt)
	if c.m == nil {
		c.m = map[baseKey]*baseEntry{}
	}
	c.m[key] = &baseEntry{sc: sc, diags: ds}
	return sc, ds, nil
}

// includeBases loads the file's base: includes and declares their lock
// classes in this file's namespace. A class the file declares itself keeps
// the file's declaration.
func (v *validator) includeBases() {
	f := v.sc.File
	if len(f.Base) == 0 {
		return
	}
	cache := v.opt.Bases
	if cache == nil {
		cache = DefaultBases
	}
	if len(f.Base) > maxBases {
		v.errorf(rules.InputLimit, f.Base[maxBases].P, "more than %d bases", maxBases)
		return
	}
	self := absPath(v.sc.Path)
	chain := v.opt.inc
	if len(chain.files) == 0 && v.sc.Path != "-" && v.sc.Path != "" {
		chain.files = []string{self}
	}
	// The root bases must stay in: --root, or (for library callers that
	// set none) the directory of the scenario being checked.
	root := v.opt.Root
	if root == "" {
		root = "."
		if v.sc.Path != "-" && v.sc.Path != "" {
			root = filepath.Dir(v.sc.Path)
		}
	}
	seen := map[*Scenario]bool{}
	for _, b := range f.Base {
		if b.V == "" {
			v.errorf(rules.InvalidValue, b.P, "base: empty file name")
			continue
		}
		shown, abs := resolveBase(v.sc.Path, b.V)
		// A base is read from disk on behalf of an untrusted design: it
		// must lie inside the project root, after symlinks are resolved
		// (docs/security.md), or a design could read any file.
		if !insideRoot(abs, root) {
			v.errorf(rules.InvalidValue, b.P, "base: %q lies outside the project root; bases must be inside it (--root)", b.V)
			continue
		}
		if slices.Contains(chain.files, abs) {
			v.errorf(rules.InvalidValue, b.P, "base: %q includes itself (include cycle)", b.V)
			continue
		}
		opt := v.opt
		opt.inc = chain
		opt.Root = root
		bsc, ds, err := cache.load(shown, abs, opt)
		if err != nil {
			v.errorf(rules.UndefinedRef, b.P, "base: cannot read %q: %v", b.V, err)
			continue
		}
		for _, d := range ds {
			if d.Severity == diag.Error {
				// The base lies inside the root (checked above), so its
				// text is the project's own and may be quoted.
				v.errorf(rules.InvalidValue, b.P, "base: %q is not a valid scenario: %s:%s: %s", b.V, d.File, d.Pos, d.Message)
				break
			}
		}
		if bsc == nil {
			continue
		}
		for _, s := range append(slices.Clone(bsc.Bases), bsc) {
			if !seen[s] && len(v.sc.Bases) < maxClosure {
				seen[s] = true
				v.sc.Bases = append(v.sc.Bases, s)
			}
		}
	}
	for _, bs := range v.sc.Bases {
		for _, l := range bs.File.Locks {
			if _, ok := v.sc.Kinds[l.Name.V]; ok || IsBuiltin(l.Name.V) || l.Name.V == "" {
				continue
			}
			v.sc.Kinds[l.Name.V] = "lock"
			v.sc.DeclPos[l.Name.V] = l.Name.P
		}
	}
}

// insideRoot: abs, with symlinks resolved, lies inside root (the working
// directory when root is "").
func insideRoot(abs, root string) bool {
	if root == "" {
		root = "."
	}
	r, err := filepath.Abs(root)
	if err != nil {
		return false
	}
	if rr, err := filepath.EvalSymlinks(r); err == nil {
		r = rr
	}
	real, err := filepath.EvalSymlinks(abs)
	if err != nil {
		real = abs // does not exist: the read will fail and say so
	}
	rel, err := filepath.Rel(r, real)
	return err == nil && rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator)) && !filepath.IsAbs(rel)
}
