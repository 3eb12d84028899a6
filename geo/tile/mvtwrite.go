package tile

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math"
	"reflect"
	"slices"

	"github.com/paulmach/orb"
)

// The MVT 2.1 messages (vector_tile.proto) are written straight into bytes.
// orb's encoder builds protobuf structs and boxes and hashes every value as
// an interface; that was half of a tile's CPU and most of its garbage. The
// output is the same, byte for byte (TestWriterMatchesOrb): fields in
// number order, keys in feature order, values deduplicated by Go value.

// Protobuf wire types.
const (
	wireVarint = 0
	wire64     = 1
	wireBytes  = 2
	wire32     = 5
)

// Field numbers of vector_tile.proto.
const (
	tileLayers = 3

	layerName     = 1
	layerFeatures = 2
	layerKeys     = 3
	layerValues   = 4
	layerExtent   = 5
	layerVersion  = 15

	featureID       = 1
	featureTags     = 2
	featureType     = 3
	featureGeometry = 4

	valueString = 1
	valueFloat  = 2
	valueDouble = 3
	valueUint   = 5
	valueSint   = 6
	valueBool   = 7
)

// Geometry types and commands.
const (
	geomPoint      = 1
	geomLineString = 2
	geomPolygon    = 3

	cmdMoveTo    = 1
	cmdLineTo    = 2
	cmdClosePath = 7
)

func appendKey(b []byte, field, wire int) []byte {
	return binary.AppendUvarint(b, uint64(field)<<3|uint64(wire))
}

func appendBytesField(b []byte, field int, s []byte) []byte {
	b = appendKey(b, field, wireBytes)
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

func appendStringField(b []byte, field int, s string) []byte {
	b = appendKey(b, field, wireBytes)
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

func appendPacked(b []byte, field int, vs []uint32) []byte {
	if len(vs) == 0 {
		return b
	}
	n := 0
	for _, v := range vs {
		n += uvarintLen(uint64(v))
	}
	b = appendKey(b, field, wireBytes)
	b = binary.AppendUvarint(b, uint64(n))
	for _, v := range vs {
		b = binary.AppendUvarint(b, uint64(v))
	}
	return b
}

func uvarintLen(v uint64) int {
	n := 1
	for v >= 0x80 {
		v >>= 7
		n++
	}
	return n
}

// value is a property value as the layer's value table keys it: the Go
// type matters, as in orb (int 1 and float64 1 are two entries).
type value struct {
	kind reflect.Kind // the Go type
	s    string
	n    uint64 // the bits of numbers and booleans
}

// valueOf classifies a property value; anything that is not a string,
// number or boolean is written as its JSON text, as orb does.
func valueOf(v any) value {
	switch x := v.(type) {
	case string:
		return value{kind: reflect.String, s: x}
	case fmt.Stringer:
		return value{kind: reflect.String, s: x.String()}
	case float64:
		return value{kind: reflect.Float64, n: math.Float64bits(x)}
	case float32:
		return value{kind: reflect.Float32, n: uint64(math.Float32bits(x))}
	case bool:
		if x {
			return value{kind: reflect.Bool, n: 1}
		}
		return value{kind: reflect.Bool}
	case int:
		return value{kind: reflect.Int, n: uint64(x)}
	case int64:
		return value{kind: reflect.Int64, n: uint64(x)}
	case int32:
		return value{kind: reflect.Int32, n: uint64(int64(x))}
	case int16:
		return value{kind: reflect.Int16, n: uint64(int64(x))}
	case int8:
		return value{kind: reflect.Int8, n: uint64(int64(x))}
	case uint64:
		return value{kind: reflect.Uint64, n: x}
	case uint32:
		return value{kind: reflect.Uint32, n: uint64(x)}
	case uint:
		return value{kind: reflect.Uint, n: uint64(x)}
	case uint16:
		return value{kind: reflect.Uint16, n: uint64(x)}
	case uint8:
		return value{kind: reflect.Uint8, n: uint64(x)}
	}
	data, err := json.Marshal(v)
	if err != nil {
		return value{kind: reflect.String, s: fmt.Sprint(v)}
	}
	return value{kind: reflect.String, s: string(data)}
}

// appendMsg appends v as a Value message's content.
func (v value) appendMsg(m []byte) []byte {
	switch v.kind {
	case reflect.String:
		return appendStringField(m, valueString, v.s)
	case reflect.Float64:
		return binary.LittleEndian.AppendUint64(appendKey(m, valueDouble, wire64), v.n)
	case reflect.Float32:
		return binary.LittleEndian.AppendUint32(appendKey(m, valueFloat, wire32), uint32(v.n))
	case reflect.Bool:
		return binary.AppendUvarint(appendKey(m, valueBool, wireVarint), v.n)
	case reflect.Int, reflect.Int64, reflect.Int32, reflect.Int16, reflect.Int8:
		i := int64(v.n)
		return binary.AppendUvarint(appendKey(m, valueSint, wireVarint), uint64(i<<1^i>>63))
	}
	return binary.AppendUvarint(appendKey(m, valueUint, wireVarint), v.n)
}

// layerWriter encodes one layer; reset makes it ready for the next.
type layerWriter struct {
	keys     []string
	keyIndex map[string]uint32
	values   []value
	valIndex map[value]uint32
	features []byte
	// scratch, reused feature to feature
	sorted []string
	tags   []uint32
	geom   []uint32
	msg    []byte
	val    []byte
	tile   []byte // the tile being written
}

func newLayerWriter() *layerWriter {
	return &layerWriter{keyIndex: map[string]uint32{}, valIndex: map[value]uint32{}}
}

func (w *layerWriter) reset() {
	w.keys, w.values, w.features = w.keys[:0], w.values[:0], w.features[:0]
	clear(w.keyIndex)
	clear(w.valIndex)
}

// add writes one feature whose geometry is in tile coordinates. Features
// without geometry are skipped.
func (w *layerWriter) add(id any, g orb.Geometry, props map[string]any) error {
	if g == nil {
		return nil
	}
	if c, ok := g.(orb.Collection); ok {
		if len(c) == 0 {
			return nil
		}
		g = c[0] // as orb: the first member stands for the collection
	}
	typ, err := w.encodeGeometry(g)
	if err != nil {
		return err
	}
	w.sorted = w.sorted[:0]
	for k := range props {
		w.sorted = append(w.sorted, k)
	}
	slices.Sort(w.sorted)
	w.tags = w.tags[:0]
	for _, k := range w.sorted {
		ki, ok := w.keyIndex[k]
		if !ok {
			ki = uint32(len(w.keys))
			w.keys = append(w.keys, k)
			w.keyIndex[k] = ki
		}
		v := valueOf(props[k])
		vi, ok := w.valIndex[v]
		if !ok {
			vi = uint32(len(w.values))
			w.values = append(w.values, v)
			w.valIndex[v] = vi
		}
		w.tags = append(w.tags, ki, vi)
	}
	m := w.msg[:0]
	if n, ok := featureIDOf(id); ok {
		m = binary.AppendUvarint(appendKey(m, featureID, wireVarint), n)
	}
	m = appendPacked(m, featureTags, w.tags)
	m = binary.AppendUvarint(appendKey(m, featureType, wireVarint), typ)
	m = appendPacked(m, featureGeometry, w.geom)
	w.msg = m
	w.features = appendBytesField(w.features, layerFeatures, m)
	return nil
}

// featureIDOf reads an MVT feature id: a non-negative integer.
func featureIDOf(id any) (uint64, bool) {
	switch x := id.(type) {
	case uint64:
		return x, true
	case uint32:
		return uint64(x), true
	case uint:
		return uint64(x), true
	case int:
		return uint64(x), x >= 0
	case int64:
		return uint64(x), x >= 0
	}
	return 0, false
}

// encodeGeometry fills w.geom with g's commands.
func (w *layerWriter) encodeGeometry(g orb.Geometry) (uint64, error) {
	w.geom = w.geom[:0]
	var cx, cy int32
	points := func(cmd uint32, ps []orb.Point) {
		w.geom = append(w.geom, uint32(len(ps))<<3|cmd)
		for _, p := range ps {
			x, y := int32(p[0]), int32(p[1])
			dx, dy := x-cx, y-cy
			cx, cy = x, y
			w.geom = append(w.geom, uint32(dx<<1^dx>>31), uint32(dy<<1^dy>>31))
		}
	}
	line := func(ls []orb.Point) {
		points(cmdMoveTo, ls[:1])
		points(cmdLineTo, ls[1:])
	}
	ring := func(r orb.Ring) {
		points(cmdMoveTo, r[:1])
		if r.Closed() {
			points(cmdLineTo, r[1:len(r)-1])
		} else {
			points(cmdLineTo, r[1:])
		}
		w.geom = append(w.geom, 1<<3|cmdClosePath)
	}
	switch g := g.(type) {
	case orb.Point:
		points(cmdMoveTo, []orb.Point{g})
		return geomPoint, nil
	case orb.MultiPoint:
		points(cmdMoveTo, g)
		return geomPoint, nil
	case orb.LineString:
		line(g)
		return geomLineString, nil
	case orb.MultiLineString:
		for _, ls := range g {
			line(ls)
		}
		return geomLineString, nil
	case orb.Ring:
		ring(g)
		return geomPolygon, nil
	case orb.Polygon:
		for _, r := range g {
			ring(r)
		}
		return geomPolygon, nil
	case orb.MultiPolygon:
		for _, pg := range g {
			for _, r := range pg {
				ring(r)
			}
		}
		return geomPolygon, nil
	case orb.Bound:
		return w.encodeGeometry(g.ToPolygon())
	}
	return 0, fmt.Errorf("geometry type %T cannot be encoded", g)
}

// appendLayer appends the layer as a field of the Tile message.
func (w *layerWriter) appendLayer(b []byte, name string, version, extent uint32) []byte {
	m := appendStringField(w.msg[:0], layerName, name)
	m = append(m, w.features...)
	for _, k := range w.keys {
		m = appendStringField(m, layerKeys, k)
	}
	for _, v := range w.values {
		w.val = v.appendMsg(w.val[:0])
		m = appendBytesField(m, layerValues, w.val)
	}
	m = binary.AppendUvarint(appendKey(m, layerExtent, wireVarint), uint64(extent))
	m = binary.AppendUvarint(appendKey(m, layerVersion, wireVarint), uint64(version))
	w.msg = m
	return appendBytesField(b, tileLayers, m)
}
