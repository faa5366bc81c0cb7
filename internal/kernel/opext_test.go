package kernel_test

import (
	"os"
	"reflect"
	"testing"
	"unsafe"

	"github.com/fencecheck/fencecheck/internal/analysis"
	"github.com/fencecheck/fencecheck/internal/graph"
	"github.com/fencecheck/fencecheck/internal/kernel"
	"github.com/fencecheck/fencecheck/internal/model"
	"github.com/fencecheck/fencecheck/internal/scenariotest"
)

// Every op without operands shares one empty OpExt: a write through Ext()
// instead of Mut() anywhere in compile, execution or the graph would change
// all of them. Analyse the whole library in both modes and check it is
// still empty.
func TestSharedEmptyOperandsStayEmpty(t *testing.T) {
	scenariotest.EachLibrary(t, 100, func(path string, sc *model.Scenario) {
		for _, m := range []graph.Mode{graph.Precise, graph.Lockdep} {
			analysis.VerifyWith(sc, analysis.Options{Mode: m})
		}
		if !reflect.DeepEqual(*kernel.NoExt, kernel.OpExt{}) {
			t.Fatalf("%s: the shared empty operands were written: %+v", path, *kernel.NoExt)
		}
	})
	// No library scenario has a free: finalizer (an op's Then list); this
	// design's finalizer runs from a kref_put in a shrinker and in an ioctl.
	data, err := os.ReadFile("../exec/testdata/purgeable.yaml")
	if err != nil {
		t.Fatal(err)
	}
	sc := scenariotest.Load(t, "purgeable.yaml", string(data))
	for _, m := range []graph.Mode{graph.Precise, graph.Lockdep} {
		analysis.Run(sc, analysis.Options{Mode: m}) // it has no expect: to verify
	}
	if !reflect.DeepEqual(*kernel.NoExt, kernel.OpExt{}) {
		t.Fatalf("purgeable.yaml: the shared empty operands were written: %+v", *kernel.NoExt)
	}
}

// Copies of an op share its operands and place; Mut gives the writer its
// own operands, so the original keeps what it had.
func TestMutCopiesOnWrite(t *testing.T) {
	var a kernel.Op
	a.Mut().Obj = "bo"
	a.SetPlace(kernel.NewPlace("exec_ioctl", "ioctl"))
	b := a
	b.Mut().Usage = "READ"
	if a.Ext().Usage != "" || a.Ext().Obj != "bo" {
		t.Errorf("writing a copy's operands changed the original: %+v", *a.Ext())
	}
	if b.Ext().Obj != "bo" || b.Ext().Usage != "READ" {
		t.Errorf("the copy lost operands: %+v", *b.Ext())
	}
	if b.InPath() != "exec_ioctl" || b.Context() != "ioctl" {
		t.Errorf("the copy is at %q/%q, want exec_ioctl/ioctl", b.InPath(), b.Context())
	}
	var zero kernel.Op
	if zero.InPath() != "" || zero.Context() != "" || zero.Ext().Obj != "" {
		t.Errorf("an op without place or operands reads non-empty")
	}
}

// A lockdep-scale design holds millions of ops (100x: ten million), so the
// op's size is the analysis's memory budget: a field added inline instead
// of in OpExt shows here first.
func TestOpStaysSmall(t *testing.T) {
	if n := unsafe.Sizeof(kernel.Op{}); n > 112 {
		t.Errorf("kernel.Op is %d bytes, over the 112 the 100x analysis budget was measured with (docs/performance.md); put rarely set fields in OpExt", n)
	}
}
