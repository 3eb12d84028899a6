// Package synth makes reproducible, schema-valid synthetic reports for load
// tests and demos, and reads and writes them as one GeoJSON file. Reports
// gather along the 2014–2022 Donbas line of contact, Ukraine's land borders
// with Russia and Belarus, and Crimea, and spread over the year 2021.
package synth

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"runtime"
	"sync"
	"time"

	"github.com/paulmach/orb"
	"github.com/paulmach/orb/geojson"

	"troopmap/layers"
	"troopmap/layers/props"
)

// The line of contact (2015–2022), west of Mariupol up to the Siverskyi
// Donets east of Stanytsia Luhanska: lon, lat.
func lineOfContact() []orb.Point {
	return []orb.Point{
		{37.72, 47.07}, {37.60, 47.30}, {37.48, 47.62}, {37.52, 47.93}, {37.73, 48.12},
		{37.90, 48.22}, {38.03, 48.33}, {38.20, 48.45}, {38.45, 48.62}, {38.70, 48.68},
		{39.05, 48.70}, {39.40, 48.66}, {39.75, 48.62},
	}
}

// Stretches of the land border with Russia and Belarus.
func borders() [][]orb.Point {
	return [][]orb.Point{
		{{24.0, 51.9}, {25.5, 51.9}, {27.0, 51.6}, {28.5, 51.55}, {30.1, 51.45}, {30.6, 51.9}, {31.8, 52.1}},
		{{31.8, 52.1}, {33.2, 52.35}, {34.1, 51.75}, {35.3, 51.05}, {36.1, 50.45}, {37.5, 50.3}},
		{{37.5, 50.3}, {38.3, 50.05}, {39.2, 49.85}, {40.1, 49.6}, {40.0, 48.9}, {39.8, 48.3}, {39.3, 47.85}, {38.25, 47.1}},
	}
}

// Crimea's main garrisons and training areas.
func crimea() []orb.Point {
	return []orb.Point{{33.55, 44.6}, {34.1, 44.95}, {35.4, 45.1}, {34.4, 45.7}, {33.6, 45.2}, {36.1, 45.3}}
}

// The year the reports spread over.
const span = 365 * 24 * time.Hour

func spreadStart() time.Time { return time.Date(2021, 1, 1, 0, 0, 0, 0, time.UTC) }

// Report is one generated report and the collection it belongs to.
type Report struct {
	Collection string
	Feature    *layers.Feature
}

// Generate calls emit for n reports made from seed: the same n and seed
// give the same reports. About 40% are troop concentrations, the rest
// incidents. locate, when not nil, fills the server-derived place fields
// (zones, admin1, border_distance_km) as the server would.
func Generate(ctx context.Context, n int, seed uint64, locate func(orb.Geometry, map[string]any), emit func(Report) error) error {
	r := rand.New(rand.NewPCG(seed, 0x7a11e))
	g := gen{r: r, contact: lineOfContact(), borders: borders(), crimea: crimea(), start: spreadStart()}
	for i := range n {
		if i&4095 == 0 && ctx.Err() != nil {
			return ctx.Err()
		}
		collection, id, pt, props := g.report(i)
		if locate != nil {
			locate(pt, props)
		}
		rep := Report{Collection: collection, Feature: layers.NewFeature(id, pt, props, layers.ReportTimeKeys()...)}
		if err := emit(rep); err != nil {
			return err
		}
	}
	return nil
}

type gen struct {
	r       *rand.Rand
	contact []orb.Point
	borders [][]orb.Point
	crimea  []orb.Point
	start   time.Time
}

func (g gen) pick(xs []string) string { return xs[g.r.IntN(len(xs))] }

// along returns a random point on a polyline, offset by a normal jitter of
// sigma degrees.
func (g gen) along(line []orb.Point, sigma float64) orb.Point {
	i := g.r.IntN(len(line) - 1)
	t := g.r.Float64()
	a, b := line[i], line[i+1]
	return orb.Point{
		round6(a[0] + t*(b[0]-a[0]) + g.r.NormFloat64()*sigma),
		round6(a[1] + t*(b[1]-a[1]) + g.r.NormFloat64()*sigma*0.7),
	}
}

func round6(v float64) float64 { return math.Round(v*1e6) / 1e6 }

func (g gen) report(i int) (string, string, orb.Point, map[string]any) {
	var p orb.Point
	var where string
	switch x := g.r.Float64(); {
	case x < 0.55:
		p, where = g.along(g.contact, 0.06), "contact"
	case x < 0.92:
		p, where = g.along(g.borders[g.r.IntN(len(g.borders))], 0.18), "border"
	default:
		c := g.crimea[g.r.IntN(len(g.crimea))]
		p, where = orb.Point{round6(c[0] + g.r.NormFloat64()*0.08), round6(c[1] + g.r.NormFloat64()*0.05)}, "crimea"
	}
	// Busier in spring (the 2021 build-up) than the rest of the year.
	var at time.Time
	if g.r.Float64() < 0.3 {
		at = g.start.Add(75*24*time.Hour + time.Duration(g.r.Int64N(int64(45*24*time.Hour))))
	} else {
		at = g.start.Add(time.Duration(g.r.Int64N(int64(span))))
	}
	at = at.Truncate(time.Minute)
	props := map[string]any{
		"observed_at":        at.Format(time.RFC3339),
		"time_precision":     g.pick([]string{"exact", "day", "day", "week"}),
		"geo_precision":      g.pick([]string{"exact", "town", "town", "region"}),
		"ce_m":               float64(100 * (1 + g.r.IntN(50))),
		"source_reliability": g.pick([]string{"a", "b", "b", "c", "c", "d", "e", "f"}),
		"info_credibility":   g.pick([]string{"1", "2", "2", "3", "3", "4", "5", "6"}),
		"sensitivity":        "public",
		"verification":       g.pick([]string{"submitted", "in_review", "verified", "verified", "disputed"}),
		"sources": []any{map[string]any{
			"url":  fmt.Sprintf("https://example.org/synthetic/%d", i),
			"kind": g.pick([]string{"social", "satellite", "official", "media", "partner", "field"}),
		}},
		"tags":       []any{"synthetic"},
		"version":    float64(1),
		"created_by": "synth",
	}
	created := at.Add(time.Duration(1+g.r.IntN(72)) * time.Hour)
	props["created_at"] = created.Format(time.RFC3339)
	props["updated_at"] = props["created_at"]
	if g.r.Float64() < 0.2 {
		props["observed_until"] = at.Add(time.Duration(1+g.r.IntN(14)) * 24 * time.Hour).Format(time.RFC3339)
	}
	id := ulid(created, g.r)
	props["id"] = id
	collection := layers.Incidents
	if tc := map[string]float64{"contact": 0.25, "border": 0.7, "crimea": 0.8}[where]; g.r.Float64() < tc {
		collection = layers.TroopConcentrations
	}
	if collection == layers.TroopConcentrations {
		side := "ru"
		switch {
		case where == "contact" && g.r.Float64() < 0.5:
			side = "ua"
		case where == "border" && p[1] > 51.4 && p[0] < 31 && g.r.Float64() < 0.5:
			side = "by"
		case g.r.Float64() < 0.05:
			side = "unknown"
		}
		props["side"] = side
		props["echelon"] = g.pick([]string{"company", "battalion", "battalion", "regiment", "brigade", "division", "unknown"})
		props["unit_function"] = g.pick([]string{"infantry", "mechanized", "armor", "artillery", "rocket_artillery", "air_defense", "logistics", "recon"})
		props["posture"] = g.pick([]string{"assembly_area", "staging", "defensive", "moving", "base_established", "unknown"})
		best := 50 * (1 + g.r.IntN(80))
		props["strength"] = map[string]any{"personnel": map[string]any{
			"low": float64(best * 7 / 10), "best": float64(best), "high": float64(best * 13 / 10)}}
		if g.r.Float64() < 0.1 {
			props["unit_designation"] = fmt.Sprintf("Synthetic unit %d", g.r.IntN(300))
		}
	} else {
		et := "explosions_remote_violence"
		switch x := g.r.Float64(); {
		case x < 0.35:
			et = "battles"
		case x < 0.8:
		case x < 0.88:
			et = "violence_against_civilians"
		case x < 0.94:
			et = "strategic_developments"
		case x < 0.97:
			et = "protests"
		default:
			et = "riots"
		}
		props["event_type"] = et
		props["actor1"] = g.pick([]string{"Military forces of Russia", "Military forces of Ukraine", "Armed groups in non-government-controlled areas", "Unidentified armed group"})
		props["weapon"] = g.pick([]string{"small_arms", "artillery", "mortar", "mlrs", "fpv_uav", "unknown"})
		props["target"] = g.pick([]string{"military", "energy", "residential", "transport", "other"})
		props["civilian_targeting"] = et == "violence_against_civilians"
		f := g.r.IntN(4)
		props["fatalities"] = map[string]any{"low": float64(f), "best": float64(f), "high": float64(f + g.r.IntN(3))}
	}
	return collection, id, p, props
}

// ulid makes a ULID from a time and the generator, so ids sort by time and
// are reproducible.
func ulid(t time.Time, r *rand.Rand) string {
	const alphabet = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
	var b [16]byte
	ms := uint64(t.UnixMilli())
	for i := 5; i >= 0; i-- {
		b[i] = byte(ms)
		ms >>= 8
	}
	hi, lo := r.Uint64(), r.Uint64()
	for i := 6; i < 16; i++ {
		if i < 8 {
			b[i] = byte(hi >> (8 * (i - 6)))
		} else {
			b[i] = byte(lo >> (8 * (i - 8)))
		}
	}
	// 128 bits as 26 base-32 digits, most significant first.
	out := make([]byte, 26)
	var acc uint64
	bits := 0
	j := 0
	// The first digit holds the top 3 bits.
	acc = uint64(b[0] >> 5)
	out[j] = alphabet[acc]
	j++
	acc, bits = uint64(b[0]&0x1f), 5
	for i := 1; i < 16; i++ {
		acc = acc<<8 | uint64(b[i])
		bits += 8
		for bits >= 5 && j < 26 {
			out[j] = alphabet[(acc>>(bits-5))&0x1f]
			bits -= 5
			j++
		}
	}
	return string(out)
}

// Writer writes reports as one GeoJSON FeatureCollection; each feature
// carries its collection id in the foreign member "collection".
type Writer struct {
	w   *bufio.Writer
	n   int
	err error
}

// NewWriter starts a FeatureCollection on w.
func NewWriter(w io.Writer) *Writer {
	bw := bufio.NewWriterSize(w, 1<<20)
	_, err := bw.WriteString(`{"type":"FeatureCollection","features":[` + "\n")
	return &Writer{w: bw, err: err}
}

type fileFeature struct {
	Type       string            `json:"type"`
	ID         string            `json:"id"`
	Collection string            `json:"collection"`
	Geometry   *geojson.Geometry `json:"geometry"`
	Properties json.RawMessage   `json:"properties"`
}

// Write adds one report.
func (w *Writer) Write(r Report) error {
	if w.err != nil {
		return w.err
	}
	b, err := json.Marshal(fileFeature{Type: "Feature", ID: r.Feature.ID, Collection: r.Collection,
		Geometry: geojson.NewGeometry(r.Feature.Geometry), Properties: json.RawMessage(r.Feature.Props.JSON())})
	if err != nil {
		w.err = fmt.Errorf("feature %d: %w", w.n, err)
		return w.err
	}
	if w.n > 0 {
		w.w.WriteString(",\n")
	}
	_, w.err = w.w.Write(b)
	w.n++
	return w.err
}

// Close ends the collection and flushes.
func (w *Writer) Close() error {
	if w.err != nil {
		return w.err
	}
	if _, err := w.w.WriteString("\n]}\n"); err != nil {
		return err
	}
	return w.w.Flush()
}

// Read streams a report file written by Writer (or any FeatureCollection
// whose features carry "collection") and calls fn for each report in file
// order, without holding the whole file in memory. Features are decoded by
// several goroutines; fn is called from one. Errors name the feature's index.
func Read(ctx context.Context, r io.Reader, fn func(Report) error) error {
	dec := json.NewDecoder(bufio.NewReaderSize(r, 1<<20))
	if err := expectCollection(dec); err != nil {
		return err
	}
	type batch struct {
		first int
		raw   []json.RawMessage
		out   []Report
		err   error
		done  chan struct{}
	}
	workers := max(1, runtime.GOMAXPROCS(0))
	todo := make(chan *batch, workers)
	order := make(chan *batch, 2*workers)
	cx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for b := range todo {
				b.out = make([]Report, 0, len(b.raw))
				for i, raw := range b.raw {
					rep, err := decodeFeature(raw)
					if err != nil {
						b.err = fmt.Errorf("feature %d: %w", b.first+i, err)
						break
					}
					b.out = append(b.out, rep)
				}
				close(b.done)
			}
		}()
	}
	var readErr error
	go func() {
		defer close(order)
		defer close(todo)
		i := 0
		for dec.More() {
			if cx.Err() != nil {
				return
			}
			b := &batch{first: i, done: make(chan struct{})}
			for len(b.raw) < 1024 && dec.More() {
				var raw json.RawMessage
				if err := dec.Decode(&raw); err != nil {
					readErr = fmt.Errorf("feature %d: %w", i, err)
					b.err = readErr
					break
				}
				b.raw = append(b.raw, raw)
				i++
			}
			order <- b
			if b.err != nil {
				close(b.done)
				return
			}
			todo <- b
		}
	}()
	var err error
	for b := range order {
		<-b.done
		if err != nil {
			continue // drain
		}
		if b.err != nil {
			err = b.err
			cancel()
			continue
		}
		for i, rep := range b.out {
			if e := fn(rep); e != nil {
				err = fmt.Errorf("feature %d (%s): %w", b.first+i, rep.Feature.ID, e)
				cancel()
				break
			}
		}
		if err == nil && ctx.Err() != nil {
			err = ctx.Err()
			cancel()
		}
	}
	wg.Wait()
	return err
}

func decodeFeature(raw []byte) (Report, error) {
	var f fileFeature
	if err := json.Unmarshal(raw, &f); err != nil {
		return Report{}, err
	}
	if f.ID == "" {
		return Report{}, fmt.Errorf("no id")
	}
	if f.Collection == "" {
		return Report{}, fmt.Errorf("%s: no collection member", f.ID)
	}
	var g orb.Geometry
	if f.Geometry != nil {
		g = f.Geometry.Geometry()
	}
	p, err := props.FromJSON(f.Properties)
	if err != nil {
		return Report{}, fmt.Errorf("%s: %w", f.ID, err)
	}
	return Report{Collection: f.Collection, Feature: layers.NewFeatureProps(f.ID, g, p, layers.ReportTimeKeys()...)}, nil
}

// expectCollection reads up to the opening bracket of "features".
func expectCollection(dec *json.Decoder) error {
	tok, err := dec.Token()
	if err != nil || tok != json.Delim('{') {
		return fmt.Errorf("not a GeoJSON FeatureCollection: %v", err)
	}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return fmt.Errorf("read collection: %w", err)
		}
		if tok == "features" {
			tok, err := dec.Token()
			if err != nil || tok != json.Delim('[') {
				return fmt.Errorf("features is not an array")
			}
			return nil
		}
		var skip json.RawMessage
		if err := dec.Decode(&skip); err != nil {
			return fmt.Errorf("read collection: %w", err)
		}
	}
	return fmt.Errorf("FeatureCollection has no features member")
}
