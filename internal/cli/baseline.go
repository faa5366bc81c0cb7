package cli

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"

	"github.com/fencecheck/fencecheck/internal/report"
	"github.com/fencecheck/fencecheck/internal/safetext"
)

// A baseline is a text file with one fingerprint per line (16 hex digits,
// report.FileFingerprint); '#' starts a comment. Fingerprints leave
// positions out, so unrelated edits keep them, and include the file's path
// relative to --root, so the same bug in another file is new.

// MaxBaselineBytes bounds a baseline file (a baseline of every finding of a
// large tree is a few hundred KB; /dev/zero is not a baseline).
const MaxBaselineBytes = 16 << 20

type baseline struct {
	path    string
	entries map[string]bool
	order   []string
}

func readBaseline(path string) (*baseline, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, MaxBaselineBytes+1))
	if err != nil {
		return nil, err
	}
	if len(data) > MaxBaselineBytes {
		return nil, fmt.Errorf("%s: baseline larger than %d bytes; is it really a baseline?", path, MaxBaselineBytes)
	}
	return parseBaseline(path, data)
}

// parseBaseline validates every entry: a line that is not a fingerprint is
// an error with its line number, not silently ignored.
func parseBaseline(path string, data []byte) (*baseline, error) {
	b := &baseline{path: path, entries: map[string]bool{}}
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 0, 4096), 1<<20)
	n := 0
	for sc.Scan() {
		n++
		line := sc.Text()
		if i := strings.IndexByte(line, '#'); i >= 0 {
			line = line[:i]
		}
		fields := strings.Fields(line)
		if len(fields) == 0 {
			continue
		}
		fp := fields[0]
		if len(fields) > 1 || !isFingerprint(fp) {
			return nil, fmt.Errorf("%s:%d: not a fingerprint: %s (want 16 hex digits, then an optional # comment)", path, n, safetext.Clean(strings.TrimSpace(line)))
		}
		if !b.entries[fp] {
			b.entries[fp] = true
			b.order = append(b.order, fp)
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%s:%d: %v", path, n+1, err)
	}
	return b, nil
}

func isFingerprint(s string) bool {
	if len(s) != 16 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
			return false
		}
	}
	return true
}

// apply removes the findings the baseline accepts and says what it did.
func (b *baseline) apply(results []report.FileResult) report.BaselineStats {
	stats := report.BaselineStats{Entries: len(b.entries)}
	matched := map[string]bool{}
	for i := range results {
		kept := results[i].Diags[:0]
		for _, d := range results[i].Diags {
			fp := report.Fingerprint(d)
			if b.entries[fp] {
				matched[fp] = true
				stats.Suppressed++
				continue
			}
			kept = append(kept, d)
		}
		results[i].Diags = kept
	}
	stats.Unmatched = len(b.entries) - len(matched)
	return stats
}

func baselineText(results []report.FileResult) []byte {
	var lines []string
	for _, r := range results {
		for _, d := range r.Diags {
			lines = append(lines, fmt.Sprintf("%s  # %s %s: %s", report.Fingerprint(d), d.Rule, safetext.Clean(d.File), safetext.Clean(firstLine(d.Message))))
		}
	}
	sort.Strings(lines)
	var b strings.Builder
	b.WriteString("# fencecheck baseline: fingerprints of accepted findings (one per line)\n")
	for _, l := range lines {
		b.WriteString(l + "\n")
	}
	return []byte(b.String())
}
