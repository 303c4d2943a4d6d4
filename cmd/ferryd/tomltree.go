package main

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"reflect"
	"sort"
	"strconv"
	"strings"

	"github.com/pelletier/go-toml/v2"
	"github.com/pelletier/go-toml/v2/unstable"
)

// The configuration is decoded in two passes. go-toml's decoder checks the
// syntax and the TOML rules (duplicate keys, redefined tables) and gives
// the position of the first violation, which ends the reading anyway.
// Then the document is parsed again with go-toml's position-keeping parser
// into a tree of tnodes, and the tree is decoded into the configuration
// structs by decodeInto, which, unlike toml.Unmarshal, goes on after an
// unknown key or a value of the wrong type: every such error of the file
// is reported in one run, each with its line and key. The structs record
// the line of each of their keys (position) for the checks that follow.

// configError is one problem of a configuration file: file:line: key: msg.
type configError struct {
	File string
	Line int    // 1-based; 0 when the file as a whole is meant
	Key  string // dotted key path, "site.user.password"; "" for none
	Msg  string
}

func (e configError) Error() string {
	var b strings.Builder
	b.WriteString(e.File)
	if e.Line > 0 {
		fmt.Fprintf(&b, ":%d", e.Line)
	}
	b.WriteString(": ")
	if e.Key != "" {
		b.WriteString(e.Key)
		b.WriteString(": ")
	}
	b.WriteString(e.Msg)
	return b.String()
}

// configErrors is every problem found in a configuration, in file order.
type configErrors []configError

func (es configErrors) Error() string {
	lines := make([]string, len(es))
	for i, e := range es {
		lines[i] = e.Error()
	}
	return strings.Join(lines, "\n")
}

// errList collects configErrors.
type errList struct{ errs configErrors }

func (l *errList) add(file string, line int, key, format string, args ...any) {
	l.errs = append(l.errs, configError{File: file, Line: line, Key: key, Msg: fmt.Sprintf(format, args...)})
}

// err returns the errors by file, in the order the files were first
// named, and by line; nil when there are none.
func (l *errList) err() error {
	if len(l.errs) == 0 {
		return nil
	}
	es := append(configErrors(nil), l.errs...)
	rank := map[string]int{}
	for _, e := range es {
		if _, ok := rank[e.File]; !ok {
			rank[e.File] = len(rank)
		}
	}
	sort.SliceStable(es, func(i, j int) bool {
		if es[i].File != es[j].File {
			return rank[es[i].File] < rank[es[j].File]
		}
		return es[i].Line < es[j].Line
	})
	return es
}

// position is where a table of the file and each of its keys are. A
// configuration struct that embeds it gets it filled by decodeInto.
type position struct {
	file string
	path string         // dotted key path of the table, "" for the root
	line int            // the table's header or key
	keys map[string]int // the line of each key present, of any type
}

// lineOf is the line of key, or of the table when key is absent.
func (p *position) lineOf(key string) int {
	if l, ok := p.keys[key]; ok {
		return l
	}
	return p.line
}

// has reports whether key is present (even with a value of the wrong type).
func (p *position) has(key string) bool {
	_, ok := p.keys[key]
	return ok
}

// keyPath is the dotted path of key in this table.
func (p *position) keyPath(key string) string {
	switch {
	case key == "":
		return p.path
	case p.path == "":
		return key
	}
	return p.path + "." + key
}

// errorf records a problem with key (the table itself for "").
func (p *position) errorf(l *errList, key, format string, args ...any) {
	l.add(p.file, p.lineOf(key), p.keyPath(key), format, args...)
}

// uniqueName records the table at p in seen as the one that defines name,
// compared without case. A missing name, or one defined before, is
// reported at p's key "name" and false returned; kind names the thing in
// the message ("user %q is already defined on line 6").
func uniqueName(e *errList, seen map[string]*position, p *position, kind, name string) bool {
	key := strings.ToLower(name)
	switch prev := seen[key]; {
	case name == "":
		p.errorf(e, "name", "missing")
		return false
	case prev != nil:
		p.errorf(e, "name", "%s %q is already defined on line %d", kind, name, prev.lineOf("name"))
		return false
	}
	seen[key] = p
	return true
}

// positioner is a struct that embeds position.
type positioner interface{ setPosition(position) }

func (p *position) setPosition(q position) { *p = q }

// tkind is the type of a TOML value.
type tkind uint8

const (
	tTable tkind = iota
	tArray
	tString
	tInteger
	tFloat
	tBool
	tDatetime
)

func (k tkind) String() string {
	return [...]string{"a table", "an array", "a string", "an integer", "a float", "a boolean", "a date-time"}[k]
}

// tnode is a value of the document with the line it was defined on.
type tnode struct {
	kind tkind
	line int

	keys  []string // tTable: keys in document order
	table map[string]*tnode
	items []*tnode // tArray
	aot   bool     // tArray: an array of tables made by [[header]]s

	str string // tString, and the text of a tDatetime
	i   int64
	f   float64
	b   bool
}

func newTable(line int) *tnode { return &tnode{kind: tTable, line: line, table: map[string]*tnode{}} }

func (n *tnode) set(key string, v *tnode) {
	if _, ok := n.table[key]; !ok {
		n.keys = append(n.keys, key)
	}
	n.table[key] = v
}

// parseTOML checks data and returns its tree. A syntax error is returned
// as a configError with its position.
func parseTOML(file string, data []byte) (*tnode, error) {
	var v map[string]any
	if err := toml.Unmarshal(data, &v); err != nil {
		var de *toml.DecodeError
		if errors.As(err, &de) {
			line, _ := de.Position()
			msg := strings.TrimPrefix(de.Error(), "toml: ")
			return nil, configErrors{{File: file, Line: line, Key: strings.Join(de.Key(), "."), Msg: msg}}
		}
		return nil, configErrors{{File: file, Msg: err.Error()}}
	}
	t := &treeBuilder{data: data}
	t.lineStarts = append(t.lineStarts, 0)
	for i, c := range data {
		if c == '\n' {
			t.lineStarts = append(t.lineStarts, i+1)
		}
	}
	root := newTable(1)
	cur := root
	p := &unstable.Parser{}
	p.Reset(data)
	for p.NextExpression() {
		e := p.Expression()
		switch e.Kind {
		case unstable.Table, unstable.ArrayTable:
			keys, line := t.key(e.Key())
			parent := root
			for _, k := range keys[:len(keys)-1] {
				parent = t.descend(parent, k, line)
			}
			last := keys[len(keys)-1]
			if e.Kind == unstable.Table {
				cur = t.descend(parent, last, line)
				cur.line = line // a table defined by its header after its subtables
				continue
			}
			arr := parent.table[last]
			if arr == nil {
				arr = &tnode{kind: tArray, line: line, aot: true}
				parent.set(last, arr)
			}
			cur = newTable(line)
			arr.items = append(arr.items, cur)
		case unstable.KeyValue:
			t.keyValue(cur, e)
		}
	}
	if err := p.Error(); err != nil {
		// Unmarshal accepted the document: this cannot happen.
		return nil, configErrors{{File: file, Msg: err.Error()}}
	}
	return root, nil
}

type treeBuilder struct {
	data       []byte
	lineStarts []int
}

func (t *treeBuilder) lineAt(r unstable.Range) int {
	return sort.Search(len(t.lineStarts), func(i int) bool { return t.lineStarts[i] > int(r.Offset) })
}

// key reads a dotted key and the line of its first part.
func (t *treeBuilder) key(it unstable.Iterator) ([]string, int) {
	var keys []string
	line := 0
	for it.Next() {
		n := it.Node()
		if line == 0 {
			line = t.lineAt(n.Raw)
		}
		keys = append(keys, string(n.Data))
	}
	return keys, line
}

// descend returns the table at key in parent, made if missing; for an
// array of tables, its last element (the TOML rule for [a.b] after
// [[a]]).
func (t *treeBuilder) descend(parent *tnode, key string, line int) *tnode {
	n := parent.table[key]
	switch {
	case n == nil:
		n = newTable(line)
		parent.set(key, n)
	case n.kind == tArray && len(n.items) > 0:
		n = n.items[len(n.items)-1]
	}
	return n
}

func (t *treeBuilder) keyValue(tbl *tnode, e *unstable.Node) {
	keys, line := t.key(e.Key())
	for _, k := range keys[:len(keys)-1] {
		tbl = t.descend(tbl, k, line)
	}
	tbl.set(keys[len(keys)-1], t.value(e.Value(), line))
}

// value converts a value node; line is the line of its key, the line of
// arrays, whose nodes have no position.
func (t *treeBuilder) value(v *unstable.Node, line int) *tnode {
	if v.Kind != unstable.Array {
		line = t.lineAt(v.Raw)
	}
	switch v.Kind {
	case unstable.String:
		return &tnode{kind: tString, line: line, str: string(v.Data)}
	case unstable.Bool:
		return &tnode{kind: tBool, line: line, b: string(v.Data) == "true"}
	case unstable.Integer:
		n, _ := strconv.ParseInt(string(v.Data), 0, 64)
		return &tnode{kind: tInteger, line: line, i: n}
	case unstable.Float:
		s := strings.ReplaceAll(string(v.Data), "_", "")
		f, err := strconv.ParseFloat(s, 64)
		if err != nil && strings.HasSuffix(s, "nan") {
			f = math.NaN()
		}
		return &tnode{kind: tFloat, line: line, f: f}
	case unstable.Array:
		n := &tnode{kind: tArray, line: line}
		it := v.Children()
		for it.Next() {
			if c := it.Node(); c.Kind != unstable.Comment {
				n.items = append(n.items, t.value(c, line))
			}
		}
		return n
	case unstable.InlineTable:
		n := newTable(line)
		it := v.Children()
		for it.Next() {
			if c := it.Node(); c.Kind == unstable.KeyValue {
				t.keyValue(n, c)
			}
		}
		return n
	}
	return &tnode{kind: tDatetime, line: line, str: string(v.Data)}
}

// tomlValue is a configuration type that decodes itself from a value of
// the document; the error's text is reported with the key and line.
type tomlValue interface {
	decodeTOML(n *tnode) error
}

var tomlValueType = reflect.TypeFor[tomlValue]()

// decodeInto decodes the table root into the struct that v points to.
// Struct fields are matched by their `toml:"name"` tag; fields without
// one are not part of the file. Unknown keys and values of the wrong type
// are reported to errs, and the decoding goes on.
func decodeInto(file string, root *tnode, v any, errs *errList) {
	d := &structDecoder{file: file, errs: errs}
	d.decode(root, "", reflect.ValueOf(v).Elem())
}

type structDecoder struct {
	file string
	errs *errList
}

func (d *structDecoder) wrongType(n *tnode, path, want string) {
	d.errs.add(d.file, n.line, path, "want %s, not %s", want, n.kind)
}

func (d *structDecoder) decode(n *tnode, path string, v reflect.Value) {
	if v.CanAddr() && v.Addr().Type().Implements(tomlValueType) {
		if err := v.Addr().Interface().(tomlValue).decodeTOML(n); err != nil {
			d.errs.add(d.file, n.line, path, "%v", err)
		}
		return
	}
	switch v.Kind() {
	case reflect.Pointer:
		// A value of the wrong type leaves a pointer to a value nil, as
		// if the key were absent: the default applies to the checks
		// that follow. A table is kept with what it could decode.
		e := reflect.New(v.Type().Elem())
		before := len(d.errs.errs)
		d.decode(n, path, e.Elem())
		if len(d.errs.errs) == before || e.Elem().Kind() == reflect.Struct {
			v.Set(e)
		}
	case reflect.Struct:
		if n.kind != tTable {
			d.wrongType(n, path, "a table")
			return
		}
		d.decodeStruct(n, path, v)
	case reflect.Slice:
		if n.kind != tArray {
			d.wrongType(n, path, "an array")
			return
		}
		s := reflect.MakeSlice(v.Type(), len(n.items), len(n.items))
		for i, item := range n.items {
			d.decode(item, path, s.Index(i))
		}
		v.Set(s)
	case reflect.String:
		if n.kind != tString {
			d.wrongType(n, path, "a string")
			return
		}
		v.SetString(n.str)
	case reflect.Bool:
		if n.kind != tBool {
			d.wrongType(n, path, "true or false")
			return
		}
		v.SetBool(n.b)
	case reflect.Int, reflect.Int64:
		if n.kind != tInteger {
			d.wrongType(n, path, "an integer")
			return
		}
		if v.OverflowInt(n.i) {
			d.errs.add(d.file, n.line, path, "%d is too large", n.i)
			return
		}
		v.SetInt(n.i)
	case reflect.Float64:
		switch n.kind {
		case tFloat:
			v.SetFloat(n.f)
		case tInteger:
			v.SetFloat(float64(n.i))
		default:
			d.wrongType(n, path, "a number")
		}
	default:
		panic("ferryd: configuration field of unsupported type " + v.Type().String())
	}
}

func (d *structDecoder) decodeStruct(n *tnode, path string, v reflect.Value) {
	t := v.Type()
	fields := map[string]int{}
	var names []string
	if p, ok := v.Addr().Interface().(positioner); ok {
		p.setPosition(position{file: d.file, path: path, line: n.line, keys: keyLines(n)})
	}
	for i := range t.NumField() {
		f := t.Field(i)
		if name := f.Tag.Get("toml"); name != "" {
			fields[name] = i
			names = append(names, name)
		}
	}
	for _, k := range n.keys {
		child := n.table[k]
		kp := k
		if path != "" {
			kp = path + "." + k
		}
		i, ok := fields[k]
		if !ok {
			msg := "unknown key"
			if s := closest(k, names); s != "" {
				msg += fmt.Sprintf(" (did you mean %s?)", s)
			}
			d.errs.add(d.file, child.line, kp, "%s", msg)
			continue
		}
		d.decode(child, kp, v.Field(i))
	}
	// A table left out still knows where it would be: at its parent.
	for _, name := range names {
		if _, ok := n.table[name]; ok {
			continue
		}
		f := v.Field(fields[name])
		if p, ok := f.Addr().Interface().(positioner); ok && f.Kind() == reflect.Struct {
			kp := name
			if path != "" {
				kp = path + "." + name
			}
			p.setPosition(position{file: d.file, path: kp, line: n.line})
		}
	}
}

func keyLines(n *tnode) map[string]int {
	m := make(map[string]int, len(n.keys))
	for _, k := range n.keys {
		m[k] = n.table[k].line
	}
	return m
}

// closest is the name within two edits of s, "" if none.
func closest(s string, names []string) string {
	best, bestD := "", 3
	for _, n := range names {
		if d := editDistance(s, n); d < bestD {
			best, bestD = n, d
		}
	}
	return best
}

func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

// stringList is a list of strings written as an array of strings or as
// one string whose items are separated by semicolons: "a;b" = ["a", "b"].
type stringList []string

func (s *stringList) decodeTOML(n *tnode) error {
	switch n.kind {
	case tString:
		*s = nil
		for _, p := range strings.Split(n.str, ";") {
			if p = strings.TrimSpace(p); p != "" {
				*s = append(*s, p)
			}
		}
		return nil
	case tArray:
		out := make([]string, 0, len(n.items))
		for _, item := range n.items {
			if item.kind != tString {
				return fmt.Errorf("want strings, not %s", item.kind)
			}
			out = append(out, item.str)
		}
		*s = out
		return nil
	}
	return fmt.Errorf("want a string or an array of strings, not %s", n.kind)
}

// trimBOM drops a UTF-8 byte order mark, which some editors write.
func trimBOM(b []byte) []byte { return bytes.TrimPrefix(b, []byte("\xef\xbb\xbf")) }
