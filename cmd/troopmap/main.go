// Command troopmap serves troopmap's layers and reports: OGC API – Features,
// vector tiles and the map page. Run `troopmap --help` for its subcommands.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	err := run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr)
	if errors.Is(err, flag.ErrHelp) {
		return
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "troopmap:", err)
		os.Exit(1)
	}
}

// command is one subcommand of troopmap.
type command struct {
	name, summary string
	run           func(ctx context.Context, env *env, args []string) error
}

// env is what every subcommand gets from the process.
type env struct {
	getenv         func(string) string
	stdout, stderr io.Writer
	commands       []command
}

func commands() []command {
	return []command{
		{"serve", "run the HTTP server (the default when no subcommand is given)", runServe},
		{"gen", "write a reproducible synthetic report set (GeoJSON) for load tests", runGen},
		{"import", "import a CSV, KML, KMZ or GeoJSON file of reports, all or nothing", runImport},
		{"export", "export a collection as GeoJSON, CSV, KML or GeoPackage, with filters", runExport},
		{"backup", "copy the store to a new file while the server runs: backup --to FILE", runBackup},
		{"keys", "manage API keys for writes: keys add --name NAME --role viewer|analyst|editor|admin, keys list, keys revoke --name NAME, keys history", runKeys},
	}
}

// run dispatches to a subcommand; it is main without the process around it,
// so tests can drive it.
func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	e := &env{getenv: getenv, stdout: stdout, stderr: stderr, commands: commands()}
	name := "serve"
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		name, args = args[0], args[1:]
	}
	if name == "help" {
		e.usage(nil)
		return nil
	}
	for _, c := range e.commands {
		if c.name == name {
			return c.run(ctx, e, args)
		}
	}
	e.usage(nil)
	return fmt.Errorf("unknown subcommand %q", name)
}

// usage prints the list of subcommands, then the flags of fs if given.
func (e *env) usage(fs *flag.FlagSet) {
	w := e.stderr
	fmt.Fprintln(w, "Usage: troopmap [subcommand] [flags]")
	fmt.Fprintln(w, "\nSubcommands:")
	for _, c := range e.commands {
		fmt.Fprintf(w, "  %-8s %s\n", c.name, c.summary)
	}
	if fs != nil {
		fmt.Fprintf(w, "\nFlags of %q:\n", fs.Name())
		fs.PrintDefaults()
	}
	fmt.Fprintln(w, "\nRun 'troopmap SUBCOMMAND --help' for the flags of another subcommand.")
}

// newFlagSet returns a flag set whose usage lists the subcommands too.
func (e *env) newFlagSet(name string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	fs.Usage = func() { e.usage(fs) }
	return fs
}

// envOr returns the environment variable key, or def when it is unset.
func (e *env) envOr(key, def string) string {
	if v := e.getenv(key); v != "" {
		return v
	}
	return def
}
