package model

import (
	"fmt"
	"math"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"unsafe"

	"gopkg.in/yaml.v3"

	"github.com/fencecheck/fencecheck/internal/diag"
	"github.com/fencecheck/fencecheck/internal/rules"
	"github.com/fencecheck/fencecheck/internal/safetext"
)

// maxDepth bounds the nesting the walker follows. The walker only descends
// into keys the format defines (at most seven levels), so this is a
// defensive guard for future format changes, not a limit users meet.
const maxDepth = 64

// The decoder is table-driven: for every struct type of the format, one
// typeMeta is built once from the `fc:` tags (the same tags the schema, the
// reference docs and the did-you-mean errors read). It records each field's
// offset and shape, so decoding a value writes straight into the struct
// through a typed pointer: no reflection per field per value, no boxing,
// and every slice allocated once at its final length. Field types are
// checked against the supported shapes when the table is built, so an
// unsupported field added to ast.go fails every test at once rather than
// corrupting memory.

// fieldKind is the shape of a tagged field.
type fieldKind uint8

const (
	kStr fieldKind = iota + 1
	kInt
	kBool
	kStrList
	kIntList
	kStruct         // an embedded struct value
	kPtr            // a pointer to a struct
	kSliceOf        // a slice of structs
	maxFields = 256 // keys per mapping type the decoder's bitset holds
)

// fieldMeta is the parsed form of one struct field's tags.
type fieldMeta struct {
	key      string
	index    int
	required bool
	op       bool
	enum     string
	ref      []string
	decl     string
	doc      string
	typ      reflect.Type
	// min and max bound integer values (tags min=N, max=N); nil: none.
	min, max *int64

	off  uintptr   // offset in the struct (inMods: in its StepMods)
	kind fieldKind // shape, for the decoder
	elem *typeMeta // kStruct, kPtr, kSliceOf: the element type
	slot int       // index in the type's fields

	// A Step stores its operation's value in one field whatever the key
	// (sharedOp), and its modifiers behind its *StepMods (inMods).
	sharedOp bool
	inMods   bool
	modsOff  uintptr // inMods: offset of the *StepMods pointer
	opIdxOff uintptr // sharedOp: offset of the opIdx field
}

type typeMeta struct {
	fields []fieldMeta
	byKey  map[string]int
	hasOp  bool

	t        reflect.Type
	label    string  // the type as the docs name it
	size     uintptr // t.Size(), the stride of a slice of t
	posOff   uintptr // offset of the P Pos field
	hasPos   bool    // t has a P Pos field
	opIdxOff uintptr // offset of the opIdx int16 field (1 + index of the op field set)
	hasOpIdx bool    // t records its op field
	required []int   // indices of required fields
	mods     []int   // indices of non-op fields
	modsOff  uintptr // Step: offset of its *StepMods
	hasMods  bool    // t is Step (compact: shared op value, modifiers behind a pointer)
	sharedOp bool    // every op field is stored in one place: only opIdx says which
}

var (
	metaMu    sync.Mutex
	metaCache = map[reflect.Type]*typeMeta{}

	strType     = reflect.TypeOf(Str{})
	intType     = reflect.TypeOf(Int{})
	boolType    = reflect.TypeOf(Bool{})
	strListType = reflect.TypeOf(StrList{})
	intListType = reflect.TypeOf(IntList{})
	posType     = reflect.TypeOf(Pos{})
	stepType    = reflect.TypeOf(Step{})
	stepModsTyp = reflect.TypeOf(StepMods{})
)

// noStepMods is the StepMods of every step that has no modifier: shared and
// never written, so a step without modifiers costs no allocation.
var noStepMods StepMods

// taggedFields lists t's fields in declaration order, those of untagged
// embedded structs in place.
func taggedFields(t reflect.Type) []reflect.StructField {
	var out []reflect.StructField
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		if _, ok := f.Tag.Lookup("fc"); ok {
			out = append(out, f)
		} else if f.Anonymous && f.Type.Kind() == reflect.Struct {
			out = append(out, taggedFields(f.Type)...)
		}
	}
	return out
}

// metaOf returns the (cached) table of a struct type of the format.
func metaOf(t reflect.Type) *typeMeta {
	metaMu.Lock()
	defer metaMu.Unlock()
	return buildMeta(t)
}

// buildMeta builds t's table and those of the types it contains; metaMu is
// held. A type is cached before its fields are built, so the walk ends.
func buildMeta(t reflect.Type) *typeMeta {
	if m, ok := metaCache[t]; ok {
		return m
	}
	m := &typeMeta{byKey: map[string]int{}, t: t, label: typeLabel(t), size: t.Size()}
	metaCache[t] = m
	if f, ok := t.FieldByName("P"); ok && f.Type == posType && len(f.Index) == 1 {
		m.posOff, m.hasPos = f.Offset, true
	}
	if f, ok := t.FieldByName("opIdx"); ok && f.Type.Kind() == reflect.Int16 && len(f.Index) == 1 {
		m.opIdxOff, m.hasOpIdx = f.Offset, true
	}
	// A Step's keys are those of stepKeys; its value and modifiers are
	// stored compactly (ast.go).
	keysType := t
	var valOff uintptr
	if t == stepType {
		keysType = reflect.TypeOf(stepKeys{})
		vf, _ := t.FieldByName("val")
		mf, _ := t.FieldByName("StepMods")
		valOff, m.modsOff, m.hasMods, m.sharedOp = vf.Offset, mf.Offset, true, true
	}
	for i, f := range taggedFields(keysType) {
		tag := f.Tag.Get("fc")
		parts := strings.Split(tag, ",")
		fm := fieldMeta{key: parts[0], index: i, doc: f.Tag.Get("doc"), typ: f.Type, off: f.Offset, slot: len(m.fields)}
		for _, p := range parts[1:] {
			switch {
			case p == "required":
				fm.required = true
			case p == "op":
				fm.op = true
				m.hasOp = true
			case strings.HasPrefix(p, "enum="):
				fm.enum = p[5:]
			case strings.HasPrefix(p, "ref="):
				fm.ref = strings.Split(p[4:], "|")
			case strings.HasPrefix(p, "decl="):
				fm.decl = p[5:]
			case strings.HasPrefix(p, "min="), strings.HasPrefix(p, "max="):
				v, err := strconv.ParseInt(p[4:], 0, 64)
				if err != nil {
					panic("model: bad bound in tag " + tag)
				}
				if p[:3] == "min" {
					fm.min = &v
				} else {
					fm.max = &v
				}
			}
		}
		switch {
		case f.Type == strType:
			fm.kind = kStr
		case f.Type == intType:
			fm.kind = kInt
		case f.Type == boolType:
			fm.kind = kBool
		case f.Type == strListType:
			fm.kind = kStrList
		case f.Type == intListType:
			fm.kind = kIntList
		case f.Type.Kind() == reflect.Struct:
			fm.kind, fm.elem = kStruct, buildMeta(f.Type)
		case f.Type.Kind() == reflect.Ptr && f.Type.Elem().Kind() == reflect.Struct:
			fm.kind, fm.elem = kPtr, buildMeta(f.Type.Elem())
		case f.Type.Kind() == reflect.Slice && f.Type.Elem().Kind() == reflect.Struct:
			fm.kind, fm.elem = kSliceOf, buildMeta(f.Type.Elem())
		default:
			panic("model: unsupported field type " + f.Type.String() + " for key " + fm.key)
		}
		if m.hasMods {
			if fm.op {
				if fm.kind != kStr {
					panic("model: a step operation must be a string: " + fm.key)
				}
				fm.off, fm.sharedOp, fm.opIdxOff = valOff, true, m.opIdxOff
			} else {
				mf, ok := stepModsTyp.FieldByName(f.Name)
				if !ok || len(mf.Index) != 1 {
					panic("model: step modifier outside StepMods: " + fm.key)
				}
				fm.off, fm.inMods, fm.modsOff = mf.Offset, true, m.modsOff
			}
		}
		if fm.required {
			m.required = append(m.required, len(m.fields))
		}
		if !fm.op {
			m.mods = append(m.mods, len(m.fields))
		}
		m.byKey[fm.key] = len(m.fields)
		m.fields = append(m.fields, fm)
	}
	if len(m.fields) > maxFields || len(m.fields) >= opNoMods {
		panic("model: more than 256 keys in " + t.String())
	}
	return m
}

// field returns a pointer to fm's field in the struct at base, for reading;
// nil for a modifier of a step built without its StepMods.
func (fm *fieldMeta) field(base unsafe.Pointer) unsafe.Pointer {
	if fm.inMods {
		base = *(*unsafe.Pointer)(unsafe.Add(base, fm.modsOff))
		if base == nil {
			return nil
		}
	}
	return unsafe.Add(base, fm.off)
}

// valuePos reads the position of a Str, Int, Bool or list field (a list:
// its first element's), the zero Pos when it is unset.
func (fm *fieldMeta) valuePos(base unsafe.Pointer) Pos {
	p := fm.field(base)
	if p == nil {
		return Pos{}
	}
	switch fm.kind {
	case kStr:
		return (*Str)(p).P
	case kInt:
		return (*Int)(p).P
	case kBool:
		return (*Bool)(p).P
	case kStrList:
		if l := *(*StrList)(p); len(l) > 0 {
			return l[0].P
		}
	case kIntList:
		if l := *(*IntList)(p); len(l) > 0 {
			return l[0].P
		}
	}
	return Pos{}
}

// opNoMods is set in a decoded struct's opIdx when no key other than its
// operation holds a value, so the modifier check can skip it.
const opNoMods = 0x4000

// noMods reports whether the decoder found no modifier in the struct at base.
func (m *typeMeta) noMods(base unsafe.Pointer) bool {
	return m.hasOpIdx && *(*int16)(unsafe.Add(base, m.opIdxOff))&opNoMods != 0
}

// opOf returns the op field set in the struct at base (decoded: recorded
// by the decoder; built by hand: the first set in declaration order).
func (m *typeMeta) opOf(base unsafe.Pointer) *fieldMeta {
	if m.hasOpIdx {
		if i := *(*int16)(unsafe.Add(base, m.opIdxOff)) &^ opNoMods; i > 0 && int(i) <= len(m.fields) {
			return &m.fields[i-1]
		}
	}
	if m.sharedOp {
		return nil // only opIdx tells which key the shared value is
	}
	for i := range m.fields {
		fm := &m.fields[i]
		if !fm.op {
			continue
		}
		if fm.kind == kBool {
			if (*Bool)(fm.field(base)).Set {
				return fm
			}
		} else if fm.valuePos(base).Valid() {
			return fm
		}
	}
	return nil
}

// decl and ref record names for the semantic pass.
type declRec struct {
	kind string
	name Str
}

// refRec is kept small (one per reference: about 100,000 at lockdep scale);
// its key and accepted kinds are those of the field it was read from.
type refRec struct {
	fm   *fieldMeta
	name Str
}

// newDecoder sizes the name records once from the input's size: generated
// and hand-written designs hold one reference per 24 to 90 bytes and one
// declaration per 100 to 200 (append still grows them for denser files).
func newDecoder(file string, size int) *decoder {
	return &decoder{file: file, refs: make([]refRec, 0, size/24), decls: make([]declRec, 0, size/96)}
}

type decoder struct {
	file  string
	diags []diag.Diagnostic
	decls []declRec
	refs  []refRec
	abort bool
	// mods hands out the StepMods of steps that have modifiers, allocated
	// in blocks.
	mods []StepMods
}

// stepMods returns the StepMods of the step at base (m.hasMods) for
// writing, giving it its own the first time.
func (d *decoder) stepMods(fm *fieldMeta, base unsafe.Pointer) unsafe.Pointer {
	pp := (**StepMods)(unsafe.Add(base, fm.modsOff))
	if *pp == nil || *pp == &noStepMods {
		if len(d.mods) == 0 {
			d.mods = make([]StepMods, 64)
		}
		*pp, d.mods = &d.mods[0], d.mods[1:]
	}
	return unsafe.Pointer(*pp)
}

func (d *decoder) errorf(rule string, p Pos, format string, args ...any) {
	d.diags = append(d.diags, diag.Diagnostic{
		File: d.file, Pos: p, Rule: rule, Severity: rules.SeverityOf(rule),
		Message: fmt.Sprintf(format, args...),
	})
}

func posOf(n *yaml.Node) Pos { return Pos{Line: n.Line, Col: n.Column} }

func kindName(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.AliasNode:
		return "an alias"
	case yaml.ScalarNode:
		switch n.ShortTag() {
		case "!!null":
			return "null"
		case "!!bool":
			return "a boolean"
		case "!!int":
			return "an integer"
		case "!!float":
			return "a number"
		}
		return "a string"
	}
	return "a document"
}

// rejectAlias reports aliases and anchors-with-aliases. Aliases are never
// followed, so alias bombs and recursive aliases cannot cost anything.
func (d *decoder) rejectAlias(n *yaml.Node) bool {
	if n.Kind == yaml.AliasNode {
		d.errorf(rules.YAMLAlias, posOf(n), "YAML alias *%s is not allowed in scenario files; spell the value out or use call: to share steps", n.Value)
		return true
	}
	return false
}

// decodeStruct decodes a mapping node into the struct v (addressable).
func (d *decoder) decodeStruct(n *yaml.Node, v reflect.Value, depth int) {
	d.decodeInto(n, metaOf(v.Type()), v.Addr().UnsafePointer(), depth)
}

// decodeInto decodes a mapping node into the struct of type m at base.
func (d *decoder) decodeInto(n *yaml.Node, m *typeMeta, base unsafe.Pointer, depth int) {
	if m.hasMods {
		// Before any early return: a step that is not a mapping still
		// reads as one without modifiers.
		if pp := (**StepMods)(unsafe.Add(base, m.modsOff)); *pp == nil {
			*pp = &noStepMods
		}
	}
	if d.abort {
		return
	}
	if depth > maxDepth {
		d.errorf(rules.InputLimit, posOf(n), "input nested deeper than %d levels", maxDepth)
		d.abort = true
		return
	}
	if d.rejectAlias(n) {
		return
	}
	if n.Kind != yaml.MappingNode {
		d.errorf(rules.WrongType, posOf(n), "expected a mapping, got %s", kindName(n))
		return
	}
	if m.hasPos {
		*(*Pos)(unsafe.Add(base, m.posOff)) = posOf(n)
	}
	// seen holds the known keys met so far; first (built only when a
	// duplicate or unknown key needs it) maps every key to its first place.
	var seen [maxFields / 64]uint64
	var first map[string]Pos
	firstPos := func(key string) (Pos, bool) {
		if first == nil {
			first = map[string]Pos{}
			for j := 0; j+1 < len(n.Content); j += 2 {
				if k := n.Content[j]; k.Kind == yaml.ScalarNode {
					if _, dup := first[k.Value]; !dup {
						first[k.Value] = posOf(k)
					}
				}
			}
		}
		p, ok := first[key]
		return p, ok
	}
	nOps, opFirst, mods := 0, -1, false
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, val := n.Content[i], n.Content[i+1]
		if k.Kind == yaml.AliasNode || k.ShortTag() == "!!merge" {
			d.errorf(rules.YAMLAlias, posOf(k), "YAML merge keys and aliases are not allowed in scenario files")
			continue
		}
		if k.Kind != yaml.ScalarNode {
			d.errorf(rules.WrongType, posOf(k), "mapping keys must be plain strings, got %s", kindName(k))
			continue
		}
		key := k.Value
		idx, ok := m.byKey[key]
		if !ok {
			if p, _ := firstPos(key); p != posOf(k) {
				d.errorf(rules.DuplicateKey, posOf(k), "duplicate key %q (first defined at %s)", key, p)
				continue
			}
			d.errorf(rules.UnknownKey, posOf(k), "unknown key %q in %s%s", key, m.label, suggest(key, m.keys()))
			continue
		}
		if seen[idx/64]&(1<<(idx%64)) != 0 {
			p, _ := firstPos(key)
			d.errorf(rules.DuplicateKey, posOf(k), "duplicate key %q (first defined at %s)", key, p)
			continue
		}
		seen[idx/64] |= 1 << (idx % 64)
		fm := &m.fields[idx]
		if fm.op {
			nOps++
			switch nOps {
			case 1:
				opFirst = idx
			case 2:
				d.errorf(rules.BadStep, posOf(k), "%s has two operations, %q and %q; write them as separate steps", m.label, m.fields[opFirst].key, key)
			}
		}
		if !d.decodeValue(val, fm, base, depth+1) {
			continue
		}
		if !fm.op {
			mods = true
		} else if m.hasOpIdx {
			// Operation() returns the first op in declaration order that
			// holds a value, as a scan of the fields would.
			oi := (*int16)(unsafe.Add(base, m.opIdxOff))
			if *oi == 0 || int(*oi) > idx+1 {
				*oi = int16(idx + 1)
			}
		}
	}
	if m.hasOpIdx && !mods {
		*(*int16)(unsafe.Add(base, m.opIdxOff)) |= opNoMods
	}
	for _, ri := range m.required {
		fm := &m.fields[ri]
		if seen[ri/64]&(1<<(ri%64)) == 0 {
			if fm.key == "fencecheck" {
				d.errorf(rules.Version, posOf(n), "missing the format version: a scenario starts with `fencecheck: 1`")
				continue
			}
			d.errorf(rules.MissingField, posOf(n), "%s is missing required key %q", m.label, fm.key)
		}
	}
	if m.hasOp && nOps == 0 {
		d.errorf(rules.BadStep, posOf(n), "%s has no operation; expected one of: %s", m.label, strings.Join(m.opKeys(), ", "))
	}
}

func (m *typeMeta) keys() []string {
	out := make([]string, 0, len(m.fields))
	for _, f := range m.fields {
		out = append(out, f.key)
	}
	return out
}

func (m *typeMeta) opKeys() []string {
	var out []string
	for _, f := range m.fields {
		if f.op {
			out = append(out, f.key)
		}
	}
	return out
}

// typeLabel names a struct type the way the docs do.
func typeLabel(t reflect.Type) string {
	switch t.Name() {
	case "File":
		return "the scenario"
	case "BufUse":
		return "job buffer"
	case "ExpectFinding":
		return "expected finding"
	case "MMU":
		return "mmu"
	case "VM":
		return "vm"
	case "DmaBuf":
		return "dmabuf"
	case "Action":
		return "workload action"
	}
	return strings.ToLower(t.Name())
}

// decodeValue decodes n into fm's field of the struct at base and reports
// whether it stored a value.
func (d *decoder) decodeValue(n *yaml.Node, fm *fieldMeta, base unsafe.Pointer, depth int) bool {
	if d.abort {
		return false
	}
	if d.rejectAlias(n) {
		return false
	}
	var p unsafe.Pointer
	if fm.inMods {
		p = unsafe.Add(d.stepMods(fm, base), fm.off)
	} else {
		p = fm.field(base)
	}
	switch fm.kind {
	case kStr:
		s, ok := d.scalarString(n, fm.key)
		if !ok {
			return false
		}
		d.checkEnum(fm, s)
		// A step's operations share one value: the first in declaration
		// order keeps it, as Operation() reports that one (a second op is
		// an error already).
		if !fm.sharedOp || keepsOp(fm, base) {
			*(*Str)(p) = s
		}
		d.record(fm, s)
		return true
	case kInt:
		iv, ok := d.scalarInt(n, fm)
		if ok {
			*(*Int)(p) = iv
		}
		return ok
	case kIntList:
		var list IntList
		switch n.Kind {
		case yaml.ScalarNode:
			if iv, ok := d.scalarInt(n, fm); ok {
				list = IntList{iv}
			}
		case yaml.SequenceNode:
			list = make(IntList, 0, len(n.Content))
			for _, e := range n.Content {
				if d.rejectAlias(e) {
					continue
				}
				if iv, ok := d.scalarInt(e, fm); ok {
					list = append(list, iv)
				}
			}
		default:
			d.errorf(rules.WrongType, posOf(n), "%s: expected an integer or a list of integers, got %s", fm.key, kindName(n))
			return false
		}
		if len(list) == 0 {
			list = nil
		}
		*(*IntList)(p) = list
		return len(list) > 0
	case kBool:
		if n.Kind != yaml.ScalarNode || n.ShortTag() != "!!bool" {
			hint := ""
			if n.Kind == yaml.ScalarNode {
				switch strings.ToLower(n.Value) {
				case "yes", "no", "on", "off", "y", "n":
					hint = " (YAML 1.2 booleans are true and false only)"
				}
			}
			d.errorf(rules.WrongType, posOf(n), "%s: expected true or false, got %s%s", fm.key, kindName(n), hint)
			return false
		}
		bv := n.Value == "true" || n.Value == "True" || n.Value == "TRUE"
		*(*Bool)(p) = Bool{V: bv, P: posOf(n), Set: true}
		return true
	case kStrList:
		var list StrList
		switch n.Kind {
		case yaml.ScalarNode:
			if s, ok := d.scalarString(n, fm.key); ok {
				list = StrList{s}
			}
		case yaml.SequenceNode:
			list = make(StrList, 0, len(n.Content))
			for _, e := range n.Content {
				if d.rejectAlias(e) {
					continue
				}
				if s, ok := d.scalarString(e, fm.key); ok {
					list = append(list, s)
				}
			}
		default:
			d.errorf(rules.WrongType, posOf(n), "%s: expected a string or a list of strings, got %s", fm.key, kindName(n))
			return false
		}
		if len(list) == 0 {
			list = nil
		}
		for _, s := range list {
			d.checkEnum(fm, s)
			d.record(fm, s)
		}
		*(*StrList)(p) = list
		return len(list) > 0
	case kPtr:
		nv := reflect.New(fm.elem.t)
		*(*unsafe.Pointer)(p) = nv.UnsafePointer()
		d.decodeInto(n, fm.elem, nv.UnsafePointer(), depth)
		return true
	case kStruct:
		d.decodeInto(n, fm.elem, p, depth)
		return true
	case kSliceOf:
		if n.Kind != yaml.SequenceNode {
			d.errorf(rules.WrongType, posOf(n), "%s: expected a list, got %s", fm.key, kindName(n))
			return false
		}
		// One allocation at the final length, stored before the elements
		// are written so the collector always sees it through the field.
		sl := reflect.MakeSlice(fm.typ, len(n.Content), len(n.Content))
		reflect.NewAt(fm.typ, p).Elem().Set(sl)
		elems := sl.UnsafePointer()
		if fm.elem.hasMods {
			// Every step reads its modifiers through its *StepMods, also
			// those left undecoded when decoding stops early.
			for i := range n.Content {
				*(**StepMods)(unsafe.Add(elems, uintptr(i)*fm.elem.size+fm.elem.modsOff)) = &noStepMods
			}
		}
		for i, e := range n.Content {
			d.decodeInto(e, fm.elem, unsafe.Add(elems, uintptr(i)*fm.elem.size), depth+1)
			if d.abort {
				return true
			}
			// The element is decoded: let the collector take its nodes
			// while the rest of the file is decoded.
			n.Content[i] = nil
		}
		return true
	}
	panic("model: unsupported field kind for key " + fm.key)
}

// keepsOp reports whether the step at base takes fm's value as its
// operation's: no operation is recorded yet, or a later one in declaration
// order.
func keepsOp(fm *fieldMeta, base unsafe.Pointer) bool {
	oi := *(*int16)(unsafe.Add(base, fm.opIdxOff)) &^ opNoMods
	return oi == 0 || int(oi) > fm.slot+1
}

func (d *decoder) scalarInt(n *yaml.Node, fm *fieldMeta) (Int, bool) {
	key := fm.key
	if n.Kind == yaml.ScalarNode && n.ShortTag() == "!!float" && bigIntRe.MatchString(n.Value) {
		// yaml.v3 resolves an integer too large for int64 as a float.
		d.errorf(rules.WrongType, posOf(n), "%s: integer %s is out of range (at most %d)", key, n.Value, int64(math.MaxInt64))
		return Int{}, false
	}
	if n.Kind != yaml.ScalarNode || n.ShortTag() != "!!int" {
		d.errorf(rules.WrongType, posOf(n), "%s: expected an integer, got %s", key, kindName(n))
		return Int{}, false
	}
	iv, err := strconv.ParseInt(strings.ReplaceAll(n.Value, "_", ""), 0, 64)
	if err != nil {
		d.errorf(rules.WrongType, posOf(n), "%s: integer %s is out of range (at most %d)", key, n.Value, int64(math.MaxInt64))
		return Int{}, false
	}
	if fm.min != nil && iv < *fm.min {
		d.errorf(rules.InvalidValue, posOf(n), "%s: %d is too small (at least %d)", key, iv, *fm.min)
		return Int{}, false
	}
	if fm.max != nil && iv > *fm.max {
		d.errorf(rules.InvalidValue, posOf(n), "%s: %d is too large (at most %d)", key, iv, *fm.max)
		return Int{}, false
	}
	return Int{V: iv, P: posOf(n), Set: true}, true
}

var bigIntRe = regexp.MustCompile(`^[-+]?[0-9][0-9_]*$`)

func (d *decoder) scalarString(n *yaml.Node, key string) (Str, bool) {
	if n.Kind != yaml.ScalarNode {
		d.errorf(rules.WrongType, posOf(n), "%s: expected a string, got %s", key, kindName(n))
		return Str{}, false
	}
	if n.ShortTag() != "!!str" {
		d.errorf(rules.WrongType, posOf(n), "%s: expected a string, got %s (quote it if it is meant as text)", key, kindName(n))
		return Str{}, false
	}
	return Str{V: n.Value, P: posOf(n)}, true
}

func (d *decoder) checkEnum(fm *fieldMeta, s Str) {
	if fm.enum == "" {
		return
	}
	ok, allowed, bad := validEnum(fm.enum, s.V)
	if ok {
		return
	}
	if fm.enum == "gfp" {
		d.errorf(rules.InvalidValue, s.P, "%s: unknown GFP flag %q%s", fm.key, bad, suggest(bad, allowed))
		return
	}
	d.errorf(rules.InvalidValue, s.P, "%s: invalid value %q; expected one of: %s%s", fm.key, s.V, strings.Join(allowed, ", "), suggest(s.V, allowed))
}

func (d *decoder) record(fm *fieldMeta, s Str) {
	if fm.decl != "" || len(fm.ref) > 0 {
		// Names reach terminals, CI logs and pictures; lockdep's class
		// names are printable strings such as &vm->lock. A control
		// character in one is an attack on the output, not a name.
		if r, bad := safetext.Unsafe(s.V); bad {
			d.errorf(rules.InvalidValue, s.P, "%s: name %s contains the control character %U; names must be printable text such as &vm->lock", fm.key, safetext.Clean(strconv.Quote(s.V)), r)
			return
		}
	}
	if fm.decl != "" && s.V != "" {
		d.decls = append(d.decls, declRec{kind: fm.decl, name: s})
	}
	if len(fm.ref) > 0 {
		d.refs = append(d.refs, refRec{fm: fm, name: s})
	}
}

// suggest returns "; did you mean X?" for the closest candidate within a
// small edit distance, or "".
func suggest(s string, candidates []string) string {
	best, bestD := "", 1<<30
	for _, c := range candidates {
		dd := editDistance(strings.ToLower(s), strings.ToLower(c))
		if dd < bestD || (dd == bestD && c < best) {
			best, bestD = c, dd
		}
	}
	limit := len(s) / 3
	if limit < 2 {
		limit = 2
	}
	if best == "" || bestD > limit {
		return ""
	}
	return fmt.Sprintf("; did you mean %q?", best)
}

func editDistance(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	if len(ra) > 64 || len(rb) > 64 {
		return 1 << 20 // names that long are never typos of each other
	}
	prev := make([]int, len(rb)+1)
	cur := make([]int, len(rb)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(ra); i++ {
		cur[0] = i
		for j := 1; j <= len(rb); j++ {
			c := prev[j-1]
			if ra[i-1] != rb[j-1] {
				c++
			}
			c = min(c, prev[j]+1, cur[j-1]+1)
			cur[j] = c
		}
		prev, cur = cur, prev
	}
	return prev[len(rb)]
}
