package main

import (
	"context"
	"fmt"
	"os"
	"time"

	"troopmap/layers"
	"troopmap/layers/gpkg"
)

// runBackup copies the store to a new file while the server may be running,
// then opens the copy and checks it before reporting success.
func runBackup(ctx context.Context, e *env, args []string) error {
	fs := e.newFlagSet("backup")
	storePath := fs.String("store", e.envOr("TROOPMAP_STORE", "troopmap.gpkg"), "GeoPackage file that stores the reports (env TROOPMAP_STORE); the server may be running on it")
	to := fs.String("to", "", "file to write the copy to; it must not exist")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("backup: unexpected argument %q", fs.Arg(0))
	}
	if *to == "" {
		return fmt.Errorf("backup: --to FILE is required")
	}
	if _, err := os.Stat(*storePath); err != nil {
		return fmt.Errorf("backup: store %s: %w", *storePath, err)
	}
	start := time.Now()
	store, err := gpkg.Open(ctx, *storePath, reportSchemas())
	if err != nil {
		return fmt.Errorf("backup: %w", err)
	}
	defer store.Close()
	fmt.Fprintf(e.stderr, "copying %s to %s ...\n", *storePath, *to)
	if err := store.Backup(ctx, *to); err != nil {
		return fmt.Errorf("backup: %w", err)
	}
	cp, err := gpkg.Open(ctx, *to, reportSchemas())
	if err != nil {
		return fmt.Errorf("backup: the copy does not open: %w", err)
	}
	defer cp.Close()
	if probs, err := cp.IntegrityCheck(ctx); err != nil || len(probs) > 0 {
		return fmt.Errorf("backup: the copy %s fails its integrity check: %v %v", *to, probs, err)
	}
	counts, err := cp.Counts(ctx)
	if err != nil {
		return fmt.Errorf("backup: %w", err)
	}
	fi, _ := os.Stat(*to)
	fmt.Fprintf(e.stderr, "backup written and checked in %s: %s (%d bytes)", time.Since(start).Round(time.Millisecond), *to, fi.Size())
	for _, m := range layers.ReportMetas() {
		fmt.Fprintf(e.stderr, ", %d %s", counts[m.ID], m.ID)
	}
	fmt.Fprintf(e.stderr, ", %d history rows\n", counts[gpkg.HistoryTable])
	return nil
}
