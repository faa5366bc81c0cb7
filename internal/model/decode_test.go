package model

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"unsafe"

	"gopkg.in/yaml.v3"

	"github.com/fencecheck/fencecheck/internal/diag"
	"github.com/fencecheck/fencecheck/internal/rules"
)

// A type added to the format later: the decoder's tables come from its tags
// alone, so every shape works without touching the decoder.
type tagOnlyItem struct {
	P    Pos
	Name Str `fc:"name,required,decl=lock"`
}

type tagOnly struct {
	P     Pos
	opIdx int16

	Take  Str  `fc:"take,op,ref=lock"`
	Flush Bool `fc:"flush,op"`

	Level Int           `fc:"level,min=1,max=3"`
	Quiet Bool          `fc:"quiet"`
	Names StrList       `fc:"names"`
	Range IntList       `fc:"range,min=0"`
	Items []tagOnlyItem `fc:"items"`
	One   *tagOnlyItem  `fc:"one"`
}

func decodeTagOnly(t *testing.T, src string) (*tagOnly, *decoder) {
	t.Helper()
	var doc yaml.Node
	if err := yaml.Unmarshal([]byte(src), &doc); err != nil {
		t.Fatal(err)
	}
	d := &decoder{file: "t.yaml"}
	v := &tagOnly{}
	d.decodeStruct(doc.Content[0], reflect.ValueOf(v).Elem(), 0)
	return v, d
}

func TestDecoderReadsNewTaggedFields(t *testing.T) {
	v, d := decodeTagOnly(t, `level: 2
quiet: true
take: L1
names: [a, b]
range: [1, 0x10]
items:
  - {name: X}
  - {name: Y}
one: {name: Z}
`)
	if len(d.diags) != 0 {
		t.Fatalf("unexpected diagnostics: %v", d.diags)
	}
	if v.P != (Pos{Line: 1, Col: 1}) || v.Level.V != 2 || !v.Level.Set || v.Level.P != (Pos{Line: 1, Col: 8}) {
		t.Errorf("level: %+v at %v", v.Level, v.P)
	}
	if !v.Quiet.V || v.Take.V != "L1" || v.Take.P != (Pos{Line: 3, Col: 7}) {
		t.Errorf("quiet %+v take %+v", v.Quiet, v.Take)
	}
	if len(v.Names) != 2 || v.Names[1].V != "b" || len(v.Range) != 2 || v.Range[1].V != 16 {
		t.Errorf("lists: %+v %+v", v.Names, v.Range)
	}
	if len(v.Items) != 2 || v.Items[1].Name.V != "Y" || v.Items[1].P != (Pos{Line: 8, Col: 5}) || v.One == nil || v.One.Name.V != "Z" {
		t.Errorf("structs: %+v %+v", v.Items, v.One)
	}
	m := metaOf(reflect.TypeOf(tagOnly{}))
	if fm := m.opOf(ptrOf(v)); fm == nil || fm.key != "take" {
		t.Errorf("op: %+v", fm)
	}
	if m.noMods(ptrOf(v)) {
		t.Errorf("modifiers present but flagged absent")
	}
	// Declarations and references are recorded for the name table.
	if len(d.decls) != 3 || d.decls[2].name.V != "Z" || len(d.refs) != 1 || d.refs[0].name.V != "L1" || d.refs[0].fm.key != "take" {
		t.Errorf("decls %+v refs %+v", d.decls, d.refs)
	}
}

func TestDecoderErrorsFromTags(t *testing.T) {
	_, d := decodeTagOnly(t, `take: L1
flush: true
level: 9
levle: 1
level: 2
items: [{}]
`)
	got := ""
	for _, dg := range d.diags {
		got += dg.Pos.String() + " " + dg.Message + "\n"
	}
	for _, want := range []string{
		`2:1 tagonly has two operations, "take" and "flush"`,
		`3:8 level: 9 is too large (at most 3)`,
		`4:1 unknown key "levle" in tagonly; did you mean "level"?`,
		`5:1 duplicate key "level" (first defined at 3:1)`,
		`6:9 tagonlyitem is missing required key "name"`,
	} {
		if !strings.Contains(got, want) {
			t.Errorf("missing %q in:\n%s", want, got)
		}
	}
}

// A step's operation is the key its opIdx names (its keys share one value);
// an action built by hand still reports its operation.
func TestOperationOfHandBuiltStep(t *testing.T) {
	s := Step{opIdx: int16(stepMetaOnce().byKey["wait"] + 1), val: Str{V: "f", P: Pos{Line: 3, Col: 9}},
		StepMods: &StepMods{Interruptible: Bool{V: true, Set: true, P: Pos{Line: 3, Col: 20}}}}
	if op, v := s.Operation(); op != "wait" || v.V != "f" {
		t.Errorf("Operation() = %q %+v", op, v)
	}
	a := Action{OOM: Bool{V: true, Set: true, P: Pos{Line: 4, Col: 5}}}
	if op, v := a.Operation(); op != "oom" || v.P.Line != 4 {
		t.Errorf("Action.Operation() = %q %+v", op, v)
	}
	v := &validator{d: &decoder{}}
	v.checkModifiers(stepMetaOnce(), &s, "wait")
	s.Interruptible = Bool{}
	s.Usage = Str{V: "READ", P: Pos{Line: 3, Col: 30}}
	v.checkModifiers(stepMetaOnce(), &s, "wait")
	if len(v.d.diags) != 1 || v.d.diags[0].Pos != (diag.Pos{Line: 3, Col: 30}) {
		t.Errorf("modifier check: %+v", v.d.diags)
	}
}

func ptrOf[T any](p *T) unsafe.Pointer { return unsafe.Pointer(p) }

// A step is stored compactly: the operation's value once, whatever its key,
// and its modifiers behind one pointer shared by every step that has none.
func TestCompactStep(t *testing.T) {
	if sz := unsafe.Sizeof(Step{}); sz > 64 {
		t.Errorf("Step is %d bytes; the compact form is at most 64", sz)
	}
	src := `fencecheck: 1
locks:
  - {name: A, kind: mutex}
fences:
  - {name: f}
  - {name: g}
paths:
  - name: p
    context: ioctl
    steps:
      - lock: A
      - {signal: g, wait: f}
      - {wait: f, interruptible: true}
      - unlock: A
`
	sc, ds := Load("t.yaml", []byte(src), Options{})
	if sc == nil {
		t.Fatalf("not loaded: %v", ds)
	}
	if len(ds) != 1 || ds[0].Rule != rules.BadStep || ds[0].Pos != (diag.Pos{Line: 12, Col: 21}) {
		t.Errorf("want one two-operations error at 12:21, got %+v", ds)
	}
	st := sc.File.Paths[0].Steps
	want := []struct {
		op, val string
		pos     Pos
	}{{"lock", "A", Pos{Line: 11, Col: 15}}, {"wait", "f", Pos{Line: 12, Col: 27}}, {"wait", "f", Pos{Line: 13, Col: 16}}, {"unlock", "A", Pos{Line: 14, Col: 17}}}
	for i, w := range want {
		// Of two operations the first in declaration order (wait before
		// signal) keeps the value, whatever the order in the file.
		if op, v := st[i].Operation(); op != w.op || v.V != w.val || v.P != w.pos {
			t.Errorf("step %d: Operation() = %q %+v, want %q %q at %v", i, op, v, w.op, w.val, w.pos)
		}
	}
	for _, i := range []int{0, 1, 3} {
		if st[i].StepMods != &noStepMods {
			t.Errorf("step %d has no modifier but its own StepMods", i)
		}
	}
	if st[2].StepMods == &noStepMods || !st[2].Interruptible.V || st[2].Interruptible.P != (Pos{Line: 13, Col: 34}) {
		t.Errorf("step 2 modifiers: %+v", st[2].StepMods)
	}
}

// Nothing writes through a step's shared empty StepMods: loading every
// scenario leaves it zero.
func TestSharedStepModsStayZero(t *testing.T) {
	files, _ := filepath.Glob("../../scenarios/*/*.yaml")
	if len(files) < 20 {
		t.Fatalf("expected the scenarios, found %d", len(files))
	}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		Load(f, data, Options{})
	}
	if !reflect.DeepEqual(noStepMods, StepMods{}) {
		t.Errorf("the shared StepMods was written: %+v", noStepMods)
	}
}

// Steps that are not mappings (or are aliases, or follow one) are reported,
// and the validator reads them as steps without an operation or modifiers.
func TestMalformedStepsDoNotPanic(t *testing.T) {
	src := `fencecheck: 1
paths:
  - name: p
    context: ioctl
    steps:
      - 5
      - [a]
      - &s {lock: x, label: l}
      - *s
      - {unlock: x}
`
	sc, ds := Load("t.yaml", []byte(src), Options{})
	if sc == nil {
		t.Fatalf("not loaded: %v", ds)
	}
	var got []string
	for _, d := range ds {
		got = append(got, d.Pos.String()+" "+d.Rule)
	}
	want := []string{"6:9 " + rules.WrongType, "7:9 " + rules.WrongType, "8:19 " + rules.UndefinedRef, "9:9 " + rules.YAMLAlias, "10:18 " + rules.UndefinedRef}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("diagnostics:\n%s\nwant:\n%s\n(%+v)", strings.Join(got, "\n"), strings.Join(want, "\n"), ds)
	}
	for i := range sc.File.Paths[0].Steps {
		if sc.File.Paths[0].Steps[i].StepMods == nil {
			t.Errorf("step %d has no StepMods", i)
		}
	}
}
