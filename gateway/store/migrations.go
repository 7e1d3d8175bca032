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
