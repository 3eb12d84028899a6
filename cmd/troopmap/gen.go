package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/paulmach/orb"

	"troopmap/data"
	"troopmap/layers/synth"
)

// runGen writes a reproducible synthetic report set (see package synth) as
// one GeoJSON FeatureCollection, each feature naming its collection in the
// foreign member "collection". The place fields (zones, admin1,
// border_distance_km) are derived from the shipped areas, as the server
// would derive them.
func runGen(ctx context.Context, e *env, args []string) error {
	fs := e.newFlagSet("gen")
	n := fs.Int("reports", 100_000, "number of reports to generate")
	seed := fs.Uint64("seed", 1, "random seed; the same seed and count give the same file")
	out := fs.String("out", "-", "output file, - for standard output")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("gen: unexpected argument %q", fs.Arg(0))
	}
	if *n < 0 {
		return fmt.Errorf("gen: --reports must be >= 0, got %d", *n)
	}
	area, err := data.AreaLayers()
	if err != nil {
		return err
	}
	places, err := newPlaces(area)
	if err != nil {
		return err
	}
	var w io.Writer = e.stdout
	if *out != "-" {
		f, err := os.Create(*out)
		if err != nil {
			return fmt.Errorf("gen: %w", err)
		}
		defer f.Close()
		w = f
	}
	sw := synth.NewWriter(w)
	start := time.Now()
	i := 0
	locate := func(g orb.Geometry, props map[string]any) { places.Locate(g).SetOn(props) }
	err = synth.Generate(ctx, *n, *seed, locate, func(r synth.Report) error {
		if i++; i%100_000 == 0 {
			fmt.Fprintf(e.stderr, "gen: %d of %d reports (%s)\n", i, *n, time.Since(start).Round(time.Millisecond))
		}
		return sw.Write(r)
	})
	if err == nil {
		err = sw.Close()
	}
	if err != nil {
		return fmt.Errorf("gen: %w", err)
	}
	fmt.Fprintf(e.stderr, "gen: wrote %d reports in %s\n", *n, time.Since(start).Round(time.Millisecond))
	return nil
}
