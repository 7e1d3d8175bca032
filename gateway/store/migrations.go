package store

import (
	"context"
	"database/sql"
	"embed"
)

// gatewayMigrations is the schema of the gateway database: register cache,
// message log, inbox and outbox.
//
//go:embed migrations/*.sql
var gatewayMigrations embed.FS

// OpenGateway opens the gateway's database file.
func OpenGateway(ctx context.Context, path string) (*sql.DB, error) {
	return Open(ctx, path, gatewayMigrations, "migrations")
}

// GatewayLatest is the highest gateway schema version this binary knows.
func GatewayLatest() uint {
	ms, err := Migrations(gatewayMigrations, "migrations")
	if err != nil || len(ms) == 0 {
		panic("store: the embedded gateway migrations are unreadable") // a build defect
	}
	return ms[len(ms)-1].Version
}
