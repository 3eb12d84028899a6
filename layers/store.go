package layers

import (
	"context"
	"time"
)

// Op names the kind of change a revision records.
type Op string

// Operations recorded in history and sent as change events.
const (
	OpCreate  Op = "create"
	OpReplace Op = "replace"
	OpUpdate  Op = "update"
	OpDelete  Op = "delete" // a soft delete: the report is retracted
)

// Revision is one committed change of one report: the full feature after
// the change, who made it and when.
type Revision struct {
	Collection string
	ID         string
	Version    int
	Op         Op
	Actor      string
	Time       time.Time
	Feature    *Feature
}

// IdempotencyRecord remembers the answer to a POST sent with an
// Idempotency-Key, so that a retry gets the same answer and creates nothing.
type IdempotencyRecord struct {
	Actor, Key  string
	RequestHash string // of the method, path and body
	Collection  string
	IDs         []string // the ids created, in upload order
	Batch       bool
	Created     time.Time
}

// Commit is one all-or-nothing write to a store.
type Commit struct {
	Revisions   []Revision
	Idempotency *IdempotencyRecord
	// Meta holds store-level facts to set, e.g. that samples were imported.
	Meta map[string]string
	// ExpireIdempotency, when set, deletes the idempotency records created
	// before it in the same transaction (their keys have expired).
	ExpireIdempotency time.Time
}

// Store keeps reports durably. A PostGIS store for deployments with several
// replicas would implement the same interface; handlers only see Reports.
//
// Commit applies every revision (create/replace/update upsert the feature,
// delete removes it from the current view) and appends each to history, or
// does nothing at all; an Idempotency record replaces any stored under the
// same actor and key (the caller has found that one expired); it returns only once the change is durable. History
// returns a report's revisions newest first, and ENOTFOUND when it has none.
// Idempotency and Meta report found=false when nothing is stored under the
// key. Implementations are safe for concurrent use.
type Store interface {
	KeyStore
	LoadReports(ctx context.Context, collection string) ([]*Feature, error)
	Commit(ctx context.Context, c Commit) error
	History(ctx context.Context, collection, id string) ([]Revision, error)
	Idempotency(ctx context.Context, actor, key string) (IdempotencyRecord, bool, error)
	Meta(ctx context.Context, key string) (string, bool, error)
	Close() error
}
