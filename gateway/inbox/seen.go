package inbox

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/seosgw/seosgw/gateway/seos"
	"github.com/seosgw/seosgw/gateway/store"
)

// The MessageGUIDs of every accepted inbound message (inbound_messages),
// whatever its type: a MessageGUID is accepted once, ever.

// Seen reports whether a message with this MessageGUID was accepted before.
func Seen(ctx context.Context, q Querier, messageGUID string) (bool, error) {
	var one int
	err := q.QueryRowContext(ctx, `SELECT 1 FROM inbound_messages WHERE message_guid_key = ?`, seos.CanonicalGUID(messageGUID)).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("inbox: look up message %s: %w", messageGUID, err)
	}
	return true, nil
}

// MarkSeen records an accepted message, in the caller's transaction with
// its message log entry logID.
func MarkSeen(ctx context.Context, q Querier, messageGUID, senderGUID string, logID int64, at time.Time) error {
	if _, err := q.ExecContext(ctx, `INSERT INTO inbound_messages (message_guid_key, sender_guid_key, log_id, received_at) VALUES (?, ?, ?, ?)`,
		seos.CanonicalGUID(messageGUID), seos.CanonicalGUID(senderGUID), logID, store.FormatTime(at)); err != nil {
		return fmt.Errorf("inbox: record message %s: %w", messageGUID, err)
	}
	return nil
}
