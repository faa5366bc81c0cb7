package analysis_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/fencecheck/fencecheck/internal/analysis"
	"github.com/fencecheck/fencecheck/internal/graph"
	"github.com/fencecheck/fencecheck/internal/group"
	"github.com/fencecheck/fencecheck/internal/model"
	"github.com/fencecheck/fencecheck/internal/rules"
)

// shapes is the classifier's table over the library: for each scenario
// and mode, the shape of every dependency cycle it reports, in report
// order. Each entry was read against the scenario's design: the shape must
// be the one its edges make (an allocation edge for C3-C6/C9, a notifier
// or shrinker lock for C6/C9, a user-memory access for C7, ...). The
// lock-only self-tests are inversions unless listed.
var shapes = map[string][]string{
	// scenarios/language: each read against its design and its header.
	"language/01-completion-notifier-waits-bind.yaml precise": {"a completion's waiter depends on what its completer does before complete()"},
	"language/02-workqueue-i915-userptr-flush.yaml precise":   {"C13"},
	"language/02-workqueue-i915-userptr-flush.yaml lockdep":   {"C13"},
	"language/03-srcu-drm-dev-unplug-v6.1.yaml precise":       {"synchronize_srcu under a lock an SRCU reader takes"},
	"language/03-srcu-drm-dev-unplug.yaml precise":            {"synchronize_srcu under a lock an SRCU reader takes"},
	"language/03-srcu-drm-dev-unplug.yaml lockdep":            {"synchronize_srcu under a lock an SRCU reader takes"},
	"language/04-user-access-under-resv.yaml precise":         {"C7"},
	"language/04-user-access-under-resv.yaml lockdep":         {"C7"},
	"language/05-fork-userptr-notifier-lock.yaml precise":     {"C6/C9", "cycle of 3 lock, 1 reclaim edges"},
	"language/05-fork-userptr-notifier-lock.yaml lockdep":     {"C6/C9", "lock-order inversion"},
	"language/07-shared-cu-recoverable-faults.yaml precise":   {"C3"},
	"language/08-kfd-dqm-lock-helpers.yaml precise":           {"C6/C9"},
	"language/08-kfd-dqm-lock-helpers.yaml lockdep":           {"C6/C9"},
	"language/09-console-lock-fb-helper-suspend.yaml precise": {"C13"},
	"language/09-console-lock-fb-helper-suspend.yaml lockdep": {"C13"},
	"language/10-panfrost-reset-resubmit.yaml precise":        {"fence dependency cycle"},
	"language/10-panfrost-reset-resubmit.yaml lockdep":        {"fence dependency cycle"},
	"language/11-kfd-notifier-release-mmput.yaml precise":     {"C13"},
	"language/11-kfd-notifier-release-mmput.yaml lockdep":     {"C13"},
	"language/12-kfd-eviction-fence.yaml precise":             {"fence dependency cycle"},
	"language/12-kfd-eviction-fence.yaml lockdep":             {"fence dependency cycle"},

	"seeds/02-hmm-pt-update-shared-queue.yaml precise":     {"C1/C12"},
	"seeds/02-hmm-pt-update-shared-queue.yaml lockdep":     {"C1/C12"},
	"cases/29-wait-under-tainted-lock.yaml precise":        {"C1/C12"},
	"cases/29-wait-under-tainted-lock.yaml lockdep":        {"C1/C12"},
	"seeds/01-userptr-cross-device.yaml precise":           {"C5"},
	"seeds/01-userptr-cross-device.yaml lockdep":           {"C3"},
	"cases/02-i915-error-capture.yaml precise":             {"C3"},
	"cases/02-i915-error-capture.yaml lockdep":             {"C3"},
	"seeds/05-amdgpu-fault-direct-submit.yaml precise":     {"fence dependency cycle", "C3"},
	"seeds/05-amdgpu-fault-direct-submit.yaml lockdep":     {"C3"},
	"cases/09-amdgpu-lockdep-init-priming.yaml lockdep":    {"C6/C9"},
	"cases/22-nouveau-svm-notifier-vmm-mutex.yaml precise": {"C6/C9"},
	"cases/22-nouveau-svm-notifier-vmm-mutex.yaml lockdep": {"C6/C9"},
	"instances/shrinker-lru-self.yaml precise":             {"C6/C9"},
	"instances/shrinker-lru-self.yaml lockdep":             {"C6/C9"},
	"instances/shrinker-lru.yaml lockdep":                  {"C6/C9"},
	"cases/05-msm-shrinker-ww-acquire.yaml precise":        {"C8"},
	"cases/05-msm-shrinker-ww-acquire.yaml lockdep":        {"C8"},
	"lockdep-selftest/ww/block-context.yaml precise":       {"cycle of 1 lock, 1 primed edges"},
	"lockdep-selftest/ww/block-context.yaml lockdep":       {"cycle of 1 lock, 1 primed edges"},
	"lockdep-selftest/ww/try-context.yaml precise":         {"cycle of 1 lock, 1 primed edges"},
	"lockdep-selftest/ww/try-context.yaml lockdep":         {"cycle of 1 lock, 1 primed edges"},
}

func TestShapesOfTheLibrary(t *testing.T) {
	seen := map[string]bool{}
	_ = filepath.WalkDir("../../scenarios", func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() || filepath.Ext(p) != ".yaml" {
			return nil
		}
		data, _ := os.ReadFile(p)
		sc, ds := model.Load(p, data, model.Options{})
		if sc == nil || len(ds) > 0 {
			return nil
		}
		rel := strings.TrimPrefix(filepath.ToSlash(p), "../../scenarios/")
		for _, mode := range []graph.Mode{graph.Precise, graph.Lockdep} {
			var got []string
			for _, f := range group.Flatten(analysis.Run(sc, analysis.Options{Mode: mode}).Diags) {
				if f.Rule == rules.Cycle {
					got = append(got, f.Canonical)
				}
			}
			if len(got) == 0 {
				continue
			}
			key := rel + " " + string(mode)
			want, ok := shapes[key]
			if !ok {
				if strings.HasPrefix(rel, "lockdep-selftest/") {
					for _, g := range got {
						if g != "lock-order inversion" {
							t.Errorf("%s: shape %q, want lock-order inversion (or list it)", key, g)
						}
					}
					continue
				}
				t.Errorf("%s: shapes %q are not in the table; read the design and add them", key, got)
				continue
			}
			seen[key] = true
			if len(want) != len(got) {
				t.Errorf("%s: %d cycles %q, want %q", key, len(got), got, want)
				continue
			}
			for i := range want {
				if !strings.HasPrefix(got[i], want[i]) {
					t.Errorf("%s: cycle %d shape %q, want %q", key, i, got[i], want[i])
				}
			}
		}
		return nil
	})
	for k := range shapes {
		if !seen[k] {
			t.Errorf("%s: listed but no longer reports a cycle", k)
		}
	}
}
