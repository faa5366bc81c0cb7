package cli

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/fencecheck/fencecheck/internal/diag"
	"github.com/fencecheck/fencecheck/internal/rules"
)

// Inputs are untrusted (docs/security.md): a directory scan may meet
// symlinks planted to leak a file outside the tree, FIFOs that block a
// reader forever, unreadable entries and YAML that is not a design. None of
// these stops the run; each becomes a finding for that entry, and every
// other file is still checked.

// input is one scenario source. Files are read by the worker that analyses
// them (readInput), so at most one file per worker is in memory.
type input struct {
	path    string
	stdin   bool
	data    []byte // standard input, read up front
	scanned bool   // found by a directory scan (not named on the command line)
	// skip is reported instead of reading the entry.
	skip *diag.Diagnostic
}

// scanOptions are the flags that shape input collection.
type scanOptions struct {
	maxBytes int
	excludes []string
	root     string // for file arguments: symlinks must stay inside it
}

func entryDiag(path, rule, format string, args ...any) *diag.Diagnostic {
	return &diag.Diagnostic{File: path, Pos: diag.Pos{Line: 1, Col: 1}, Rule: rule,
		Severity: rules.SeverityOf(rule), Message: fmt.Sprintf(format, args...)}
}

// collectInputs expands FILE|DIR|- arguments into inputs, in a deterministic
// order: arguments in the order given, directory contents sorted.
// Directories contribute *.yaml and *.yml files, skipping hidden
// directories and --exclude matches.
func collectInputs(e *env, args []string, so scanOptions) ([]input, error) {
	if len(args) == 0 {
		return nil, usageError{errors.New("no input: give scenario files, directories, or - for standard input")}
	}
	for _, g := range so.excludes {
		if _, err := filepath.Match(g, ""); err != nil {
			return nil, usageError{fmt.Errorf("--exclude %q: %v", g, err)}
		}
	}
	var out []input
	for _, a := range args {
		if a == "-" {
			data, err := io.ReadAll(io.LimitReader(e.stdin, int64(so.maxBytes)+1))
			if err != nil {
				return nil, fatalError{fmt.Errorf("reading standard input: %w", err)}
			}
			out = append(out, input{path: "-", stdin: true, data: data})
			continue
		}
		st, err := os.Stat(a)
		if err != nil || !st.IsDir() {
			out = append(out, fileArg(a, so))
			continue
		}
		files, err := scanDir(a, so)
		if err != nil {
			return nil, err
		}
		out = append(out, files...)
	}
	return out, nil
}

// fileArg checks a file named on the command line: it may be a symlink
// (committed trees have them) but only to a regular file inside the root.
func fileArg(p string, so scanOptions) input {
	in := input{path: p}
	lst, err := os.Lstat(p)
	if err != nil {
		in.skip = entryDiag(p, rules.Unreadable, "cannot read: %s", errText(err))
		return in
	}
	if lst.Mode()&fs.ModeSymlink != 0 {
		root := so.root
		if root == "" {
			root = "."
		}
		if d := symlinkProblem(p, root); d != nil {
			in.skip = d
			return in
		}
	}
	if st, err := os.Stat(p); err == nil && !st.Mode().IsRegular() {
		in.skip = entryDiag(p, rules.SkippedInput, "not a regular file (%s); skipped", modeName(st.Mode()))
	}
	return in
}

// scanDir walks a directory without following symlinks out of it.
func scanDir(dir string, so scanOptions) ([]input, error) {
	var out []input
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if p == dir {
				return fatalError{err}
			}
			out = append(out, input{path: p, scanned: true, skip: entryDiag(p, rules.Unreadable, "cannot read: %s", errText(err))})
			if d != nil && d.IsDir() {
				return fs.SkipDir
			}
			return nil
		}
		rel, _ := filepath.Rel(dir, p)
		if p != dir && excluded(rel, d.Name(), so.excludes) {
			if d.IsDir() {
				return fs.SkipDir
			}
			return nil
		}
		if d.IsDir() {
			// Hidden directories (.git, .github, editor state) hold no
			// designs; a scan of "." must not lint CI workflows.
			if p != dir && strings.HasPrefix(d.Name(), ".") {
				return fs.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(p, ".yaml") && !strings.HasSuffix(p, ".yml") {
			return nil
		}
		in := input{path: p, scanned: true}
		switch t := d.Type(); {
		case t&fs.ModeSymlink != 0:
			in.skip = symlinkProblem(p, dir)
			if in.skip == nil {
				if st, err := os.Stat(p); err == nil && !st.Mode().IsRegular() {
					in.skip = entryDiag(p, rules.SkippedInput, "symlink to a %s, not a regular file; skipped", modeName(st.Mode()))
				}
			}
		case !t.IsRegular():
			in.skip = entryDiag(p, rules.SkippedInput, "not a regular file (%s); skipped", modeName(t))
		}
		out = append(out, in)
		return nil
	})
	if err != nil {
		var fe fatalError
		if errors.As(err, &fe) {
			return nil, fe
		}
		return nil, fatalError{err}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].path < out[j].path })
	if len(out) == 0 {
		return nil, usageError{fmt.Errorf("%s: no .yaml or .yml files in directory", dir)}
	}
	return out, nil
}

// symlinkProblem resolves a symlink and reports it unless it leads to a
// file inside root.
func symlinkProblem(p, root string) *diag.Diagnostic {
	target, err := filepath.EvalSymlinks(p)
	if err != nil {
		return entryDiag(p, rules.SkippedInput, "symlink cannot be resolved (%s); skipped", errText(err))
	}
	absRoot, err1 := filepath.Abs(root)
	if r, err := filepath.EvalSymlinks(absRoot); err == nil {
		absRoot = r
	}
	absTarget, err2 := filepath.Abs(target)
	if err1 != nil || err2 != nil || !within(absRoot, absTarget) {
		return entryDiag(p, rules.SkippedInput, "symlink leads outside %s; not followed", root)
	}
	return nil
}

func within(root, p string) bool {
	rel, err := filepath.Rel(root, p)
	return err == nil && rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator)) && !filepath.IsAbs(rel)
}

// excluded matches --exclude globs against the path relative to the
// scanned directory and against the base name.
func excluded(rel, base string, globs []string) bool {
	rel = filepath.ToSlash(rel)
	for _, g := range globs {
		if ok, _ := filepath.Match(g, rel); ok {
			return true
		}
		if ok, _ := filepath.Match(g, base); ok {
			return true
		}
	}
	return false
}

func modeName(m fs.FileMode) string {
	switch {
	case m&fs.ModeNamedPipe != 0:
		return "FIFO"
	case m&fs.ModeSocket != 0:
		return "socket"
	case m&fs.ModeDevice != 0:
		return "device"
	case m.IsDir():
		return "directory"
	case m&fs.ModeSymlink != 0:
		return "symlink"
	}
	return "special file"
}

// errText strips the path from an *fs.PathError: the finding already
// names the file.
func errText(err error) string {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err.Error()
	}
	return err.Error()
}

// readInput reads one input, at most maxBytes+1 bytes so an oversized file
// is detected without reading all of it. It refuses, at open time, anything
// that is not a regular file (the entry may have changed since the scan).
func readInput(in input, maxBytes int) ([]byte, *diag.Diagnostic) {
	if in.stdin {
		return in.data, nil
	}
	f, err := os.OpenFile(in.path, os.O_RDONLY|nonblock, 0)
	if err != nil {
		return nil, entryDiag(in.path, rules.Unreadable, "cannot read: %s", errText(err))
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, entryDiag(in.path, rules.Unreadable, "cannot read: %s", errText(err))
	}
	if !st.Mode().IsRegular() {
		return nil, entryDiag(in.path, rules.SkippedInput, "not a regular file (%s); skipped", modeName(st.Mode()))
	}
	// Sized once from the file's size, as os.ReadFile does (io.ReadAll
	// grows by doubling: twice a large input's size, copied); the limit
	// still holds if the file grows meanwhile.
	var buf bytes.Buffer
	buf.Grow(int(min(max(st.Size(), 0), int64(maxBytes)+1)) + bytes.MinRead)
	if _, err := buf.ReadFrom(io.LimitReader(f, int64(maxBytes)+1)); err != nil {
		return nil, entryDiag(in.path, rules.Unreadable, "cannot read: %s", errText(err))
	}
	return buf.Bytes(), nil
}

// looksLikeScenario: a scenario has a top-level `fencecheck:` key, which in
// block YAML starts a line. Used to skip other YAML found by a scan without
// parsing it, and to decide whether a file's lines may be quoted in reports.
func looksLikeScenario(data []byte) bool {
	for len(data) > 0 {
		line := data
		if i := bytes.IndexByte(data, '\n'); i >= 0 {
			line, data = data[:i], data[i+1:]
		} else {
			data = nil
		}
		if bytes.HasPrefix(line, []byte("fencecheck:")) || bytes.HasPrefix(line, []byte("\"fencecheck\":")) || bytes.HasPrefix(line, []byte("{fencecheck:")) {
			return true
		}
	}
	return false
}
