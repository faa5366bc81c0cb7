package model

import (
	"reflect"
	"strings"
	"testing"
	"unsafe"

	"gopkg.in/yaml.v3"

	"github.com/fencecheck/fencecheck/internal/diag"
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

// A step built by hand (not decoded) still reports its operation.
func TestOperationOfHandBuiltStep(t *testing.T) {
	s := Step{Wait: Str{V: "f", P: Pos{Line: 3, Col: 9}}, Interruptible: Bool{V: true, Set: true, P: Pos{Line: 3, Col: 20}}}
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
