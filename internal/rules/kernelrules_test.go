package rules

import (
	"bufio"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"testing"
)

const repoRoot = "../.."

// kernelRulesAnchors parses docs/kernel-rules.md: the ids of its `### ID`
// entries (in order) and the GitHub anchor of every heading.
func kernelRulesAnchors(t *testing.T) (ids []string, anchors map[string]bool, sections map[string]string) {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(repoRoot, KernelRulesDoc))
	if err != nil {
		t.Fatal(err)
	}
	anchors = map[string]bool{}
	sections = map[string]string{}
	cur := ""
	for _, line := range strings.Split(string(data), "\n") {
		if h, ok := strings.CutPrefix(line, "#"); ok {
			title := strings.TrimSpace(strings.TrimLeft(h, "#"))
			anchors[githubAnchor(title)] = true
			cur = ""
			if strings.HasPrefix(line, "### ") {
				cur = title
				ids = append(ids, title)
			}
			continue
		}
		if cur != "" {
			sections[cur] += line + "\n"
		}
	}
	return ids, anchors, sections
}

// githubAnchor is the id GitHub gives a Markdown heading: lower case,
// punctuation other than '-' and '_' dropped, spaces as '-'.
func githubAnchor(title string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(title) {
		switch {
		case r == ' ':
			b.WriteRune('-')
		case r == '-' || r == '_' || r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r > 127:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// TestKernelRulesDoc checks docs/kernel-rules.md itself: exactly the entries
// IsKernelRule accepts, each once, in order, each with a kernel source.
func TestKernelRulesDoc(t *testing.T) {
	ids, anchors, sections := kernelRulesAnchors(t)
	var want []string
	for _, k := range []struct {
		p string
		n int
	}{{"K", kernelFacts}, {"R", kernelRules}, {"C", kernelCycles}} {
		for i := 1; i <= k.n; i++ {
			want = append(want, fmt.Sprintf("%s%d", k.p, i))
		}
	}
	if !reflect.DeepEqual(ids, want) {
		t.Fatalf("%s entries:\n got %v\nwant %v", KernelRulesDoc, ids, want)
	}
	for _, id := range ids {
		if !IsKernelRule(id) {
			t.Errorf("%s: IsKernelRule false for its own entry", id)
		}
		if !anchors[strings.ToLower(id)] {
			t.Errorf("%s: no anchor #%s", id, strings.ToLower(id))
		}
		body := sections[id]
		src := strings.Index(body, "Source:")
		if src < 0 {
			t.Errorf("%s: no Source: line", id)
			continue
		}
		// A kernel source names a file or a commit.
		if !regexp.MustCompile(`[a-z_]+/[a-z_/.-]+\.(c|h|rst)|commit [0-9a-f]{12}`).MatchString(body[src:]) {
			t.Errorf("%s: Source: names no kernel file or commit:\n%s", id, body[src:])
		}
		if strings.Count(body, "**") < 2 {
			t.Errorf("%s: no bold title", id)
		}
	}
}

func TestKernelRuleHelpers(t *testing.T) {
	for id, want := range map[string]string{
		"R17": "docs/kernel-rules.md#r17", "C15": "docs/kernel-rules.md#c15", "K1": "docs/kernel-rules.md#k1",
		"R29": "", "C16": "", "K19": "", "R0": "", "R08": "", "X1": "", "R": "", "": "", "r17": "",
	} {
		if got := KernelRuleURL(id); got != want {
			t.Errorf("KernelRuleURL(%q) = %q, want %q", id, got, want)
		}
	}
	got := KernelCitations("see R8c, the canonical cycles C1–C15 and R8 again; FC001, seed 002, R3/R4, CR1 and R170 are not")
	if want := []string{"R8", "C1", "C15", "R3", "R4"}; !reflect.DeepEqual(got, want) {
		t.Errorf("KernelCitations = %v, want %v", got, want)
	}
	link := LinkKernelRules("held (R6, C5); `R6` in code; R99 unknown", "kernel-rules.md")
	if want := "held ([R6](kernel-rules.md#r6), [C5](kernel-rules.md#c5)); `R6` in code; R99 unknown"; link != want {
		t.Errorf("LinkKernelRules = %q, want %q", link, want)
	}
}

// TestCitationsResolve scans the sources, the docs, the scenario library and
// the golden outputs: every cited kernel rule must have an entry in
// docs/kernel-rules.md, every link into that file must hit an anchor, and
// nothing may cite the former out-of-tree document.
func TestCitationsResolve(t *testing.T) {
	_, anchors, _ := kernelRulesAnchors(t)
	outOfTree := regexp.MustCompile(`(?i)\bprim` + `er\b`)
	linkRE := regexp.MustCompile(`kernel-rules\.md#([a-z0-9_-]+)`)
	scanned := 0
	err := filepath.WalkDir(repoRoot, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if name := d.Name(); path != repoRoot && (strings.HasPrefix(name, ".") || name == "node_modules") {
				return filepath.SkipDir
			}
			return nil
		}
		switch filepath.Ext(path) {
		case ".go", ".md", ".yaml", ".yml", ".txt", ".json", ".sarif", ".github", ".dot", ".golden":
		default:
			return nil
		}
		rel, _ := filepath.Rel(repoRoot, path)
		if rel == filepath.Join("internal", "rules", "kernelrules_test.go") {
			return nil // cites unknown ids on purpose
		}
		f, err := os.Open(path)
		if err != nil {
			return err
		}
		defer f.Close()
		scanned++
		sc := bufio.NewScanner(f)
		sc.Buffer(make([]byte, 1<<20), 1<<24)
		for n := 1; sc.Scan(); n++ {
			line := sc.Text()
			if outOfTree.MatchString(line) {
				t.Errorf("%s:%d cites a document outside the repository: %s", rel, n, strings.TrimSpace(line))
			}
			for _, id := range KernelCitations(line) {
				if !IsKernelRule(id) {
					t.Errorf("%s:%d cites %s, which has no entry in %s", rel, n, id, KernelRulesDoc)
				}
			}
			for _, m := range linkRE.FindAllStringSubmatch(line, -1) {
				if !anchors[m[1]] {
					t.Errorf("%s:%d links to %s#%s, which has no such heading", rel, n, KernelRulesDoc, m[1])
				}
			}
		}
		return sc.Err()
	})
	if err != nil {
		t.Fatal(err)
	}
	if scanned < 100 {
		t.Fatalf("scanned only %d files; is the repository root right?", scanned)
	}
}

// TestCatalogCitesInTree keeps the rule explanations (printed by explain,
// SARIF and docs/rules.md) free of the numbering of out-of-tree reference
// material ("seed 003", "case 22"): they cite kernel rules, kernel sources
// or files of this repository.
func TestCatalogCitesInTree(t *testing.T) {
	re := regexp.MustCompile(`\b(seeds?|cases?) [0-9]{2,3}\b`)
	for _, r := range All() {
		for _, s := range []string{r.Summary, r.Doc, r.Fix} {
			if m := re.FindString(s); m != "" {
				t.Errorf("%s cites %q, which names no document in the repository", r.ID, m)
			}
		}
	}
}
