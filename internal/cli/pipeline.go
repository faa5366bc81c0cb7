package cli

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"sync"
	"sync/atomic"

	"github.com/fencecheck/fencecheck/internal/diag"
	"github.com/fencecheck/fencecheck/internal/model"
	"github.com/fencecheck/fencecheck/internal/report"
	"github.com/fencecheck/fencecheck/internal/rules"
)

// eachInput runs fn on every input on all cores and returns the results in
// input order, so output bytes never depend on scheduling. Workers take the
// next index from a shared counter (no per-file channel hand-off), and each
// file is read by the worker that analyses it, so at most one input per
// worker is in memory. A panic while handling one input is contained: that
// input gets an internal-error result from onPanic, the others go on.
func eachInput[T any](ins []input, fn func(in input) T, onPanic func(in input, msg string) T) []T {
	// Many small inputs: each keeps a heap of a few MB, so a collector
	// paced by it (GOGC=100) runs all the time and two workers spend
	// their second core on it (200 small files: 1.2-1.3 s wall with two
	// workers against 0.9-1.05 s with this, at 40-60 MB peak instead of
	// 20; docs/performance.md). A run with a large input keeps the
	// default pacing, so that its peak RSS stays proportional to that
	// input; so does one whose user set GOGC.
	if len(ins) > 1 && os.Getenv("GOGC") == "" && allSmall(ins) {
		defer debug.SetGCPercent(debug.SetGCPercent(manySmallGCPercent))
	}
	out := make([]T, len(ins))
	workers := max(1, min(runtime.GOMAXPROCS(0), len(ins)))
	var next atomic.Int64
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1) - 1)
				if i >= len(ins) {
					return
				}
				out[i] = guarded(ins[i], fn, onPanic)
			}
		}()
	}
	wg.Wait()
	return out
}

func guarded[T any](in input, fn func(in input) T, onPanic func(in input, msg string) T) (res T) {
	defer func() {
		if r := recover(); r != nil {
			res = onPanic(in, fmt.Sprintf("%v\n%s", r, debug.Stack()))
		}
	}()
	return fn(in)
}

// internalError is the finding for a file whose analysis panicked. The
// stack goes into the message's JSON form only through the first line; the
// full text is for bug reports, so it is kept short.
func internalError(path, msg string) diag.Diagnostic {
	first := msg
	for i := 0; i < len(msg); i++ {
		if msg[i] == '\n' {
			first = msg[:i]
			break
		}
	}
	return diag.Diagnostic{File: path, Pos: diag.Pos{Line: 1, Col: 1}, Rule: rules.InternalError,
		Severity: diag.Error, Message: "internal error while analysing this file: " + first + " (please report it with the file)"}
}

// loadInput reads and loads one input. It returns the file's result so far
// (skips, read errors, "not a scenario", lint diagnostics) and the scenario
// when the file loaded. Snippets are enabled only for files that declare
// themselves scenarios.
func loadInput(in input, opt model.Options) (report.FileResult, *model.Scenario) {
	r := report.FileResult{Path: in.path}
	if in.skip != nil {
		r.Diags = []diag.Diagnostic{*in.skip}
		return r, nil
	}
	data, d := readInput(in, opt.MaxBytes)
	if d != nil {
		r.Diags = []diag.Diagnostic{*d}
		return r, nil
	}
	r.Scenario = looksLikeScenario(data)
	if in.scanned && !r.Scenario && len(data) <= opt.MaxBytes {
		r.Diags = []diag.Diagnostic{*entryDiag(in.path, rules.NotAScenario, "not a fencecheck scenario (no top-level `fencecheck:` key); skipped")}
		return r, nil
	}
	sc, ds := model.Load(in.path, data, opt)
	r.Diags = ds
	if r.Scenario {
		r.Source = data
	}
	return r, sc
}

// stampFingerprints binds every finding's fingerprint to its file's path
// relative to root (report.FileFingerprint), so baselines name files the
// same way whatever the working directory or spelling of the path.
func stampFingerprints(results []report.FileResult, root string) {
	absRoot, err := filepath.Abs(root)
	if err != nil {
		absRoot = root
	}
	for i := range results {
		rel := relPath(absRoot, results[i].Path)
		for j := range results[i].Diags {
			d := &results[i].Diags[j]
			d.Fingerprint = report.FileFingerprint(rel, *d)
		}
	}
}

func relPath(absRoot, p string) string {
	if p == "-" {
		return "<stdin>"
	}
	abs, err := filepath.Abs(p)
	if err != nil {
		return filepath.ToSlash(filepath.Clean(p))
	}
	rel, err := filepath.Rel(absRoot, abs)
	if err != nil {
		return filepath.ToSlash(abs)
	}
	return filepath.ToSlash(rel)
}

// Inputs of at most smallInput bytes each get the collector target
// manySmallGCPercent when there are several (eachInput).
const (
	smallInput         = 1 << 20
	manySmallGCPercent = 400
)

func allSmall(ins []input) bool {
	for _, in := range ins {
		switch {
		case in.skip != nil:
		case in.stdin:
			if len(in.data) > smallInput {
				return false
			}
		default:
			fi, err := os.Lstat(in.path)
			if err != nil || fi.Size() > smallInput {
				return false
			}
		}
	}
	return true
}
