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

// runKeys manages API keys in the store: add, list, revoke, and shows the
// audit trail of key changes (history). Changes are recorded with the actor
// "cli:USER" (USER from the environment; "cli" when it is unset), as the
// command line has no key of its own.
func runKeys(ctx context.Context, e *env, args []string) error {
	usage := "usage: troopmap keys add --name NAME --role " + strings.Join(layers.RoleNames(), "|") +
		" | troopmap keys list | troopmap keys revoke --name NAME | troopmap keys history [--name NAME]  (each takes --store PATH)"
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
	case "add", "list", "revoke", "history":
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
	actor := cliActor(e)
	switch action {
	case "add":
		token, k, err := layers.CreateKey(ctx, store, actor, *name, *role, now)
		if err != nil {
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
		if err := layers.RevokeKeyNamed(ctx, store, actor, *name, now); err != nil {
			return fmt.Errorf("keys revoke: %s", layers.ErrorMessage(err))
		}
		fmt.Fprintf(e.stderr, "key %q revoked\n", *name)
	case "history":
		changes, err := store.KeyChanges(ctx, *name)
		if err != nil {
			return err
		}
		tw := tabwriter.NewWriter(e.stdout, 2, 8, 2, ' ', 0)
		fmt.Fprintln(tw, "TIME\tACTOR\tACTION\tKEY\tROLE")
		for _, c := range changes {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", c.Time.Format(time.RFC3339), c.Actor, c.Action, c.Key, c.Role)
		}
		return tw.Flush()
	}
	return nil
}

// cliActor is who the command line acts as: an admin named "cli:USER".
func cliActor(e *env) layers.Actor {
	name := "cli"
	if u := e.getenv("USER"); u != "" {
		name += ":" + u
	}
	return layers.Actor{Name: name, Role: layers.RoleOf(layers.RoleAdmin)}
}
