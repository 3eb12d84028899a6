package main

import (
	"context"
	"fmt"
	"strings"
	"text/tabwriter"
	"time"

	"troopmap/layers"
	"troopmap/layers/gpkg"
)

// runKeys manages API keys in the store: add, list, revoke.
func runKeys(ctx context.Context, e *env, args []string) error {
	usage := "usage: troopmap keys add --name NAME --role " + strings.Join(layers.RoleNames(), "|") +
		" | troopmap keys list | troopmap keys revoke --name NAME  (each takes --store PATH)"
	if len(args) == 0 {
		fmt.Fprintln(e.stderr, usage)
		return fmt.Errorf("keys: missing action")
	}
	action, args := args[0], args[1:]
	fs := e.newFlagSet("keys " + action)
	storePath := fs.String("store", e.envOr("TROOPMAP_STORE", "troopmap.gpkg"), "GeoPackage file that stores the reports and keys (env TROOPMAP_STORE)")
	name := fs.String("name", "", "the key's name; it becomes created_by of the reports written with it")
	role := fs.String("role", "analyst", "the key's role: "+strings.Join(layers.RoleNames(), ", ")+" (only editors and admins may change verification)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("keys %s: unexpected argument %q", action, fs.Arg(0))
	}
	switch action {
	case "add", "list", "revoke":
	default:
		fmt.Fprintln(e.stderr, usage)
		return fmt.Errorf("keys: unknown action %q", action)
	}
	store, err := gpkg.Open(ctx, *storePath, reportSchemas())
	if err != nil {
		return err
	}
	defer store.Close()
	now := time.Now()
	switch action {
	case "add":
		token, k, err := layers.NewKey(*name, *role, now, nil)
		if err != nil {
			return fmt.Errorf("keys add: %s", layers.ErrorMessage(err))
		}
		if err := store.AddKey(ctx, k); err != nil {
			return fmt.Errorf("keys add: %s", layers.ErrorMessage(err))
		}
		fmt.Fprintf(e.stderr, "key %q (%s) added to %s. It is shown only this once; send it as: Authorization: Bearer <key>\n", k.Name, k.Role, *storePath)
		fmt.Fprintln(e.stdout, token)
	case "list":
		keys, err := store.Keys(ctx)
		if err != nil {
			return err
		}
		tw := tabwriter.NewWriter(e.stdout, 2, 8, 2, ' ', 0)
		fmt.Fprintln(tw, "NAME\tROLE\tCREATED\tSTATUS")
		for _, k := range keys {
			status := "active"
			if !k.Revoked.IsZero() {
				status = "revoked " + k.Revoked.Format(time.RFC3339)
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", k.Name, k.Role, k.Created.Format(time.RFC3339), status)
		}
		return tw.Flush()
	case "revoke":
		if *name == "" {
			return fmt.Errorf("keys revoke: --name is required")
		}
		if err := store.RevokeKey(ctx, *name, now); err != nil {
			return fmt.Errorf("keys revoke: %s", layers.ErrorMessage(err))
		}
		fmt.Fprintf(e.stderr, "key %q revoked\n", *name)
	}
	return nil
}
