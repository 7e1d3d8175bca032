package inbound

import (
	"errors"
	"strings"
	"testing"

	"github.com/seosgw/seosgw/gateway/seos"
)

func TestDescriptionPrefixByFault(t *testing.T) {
	s := senderFault(SchemaInvalid, "Невалидно съобщение.", "schema", nil)
	if s.Description() != SenderPrefix+" Невалидно съобщение." || s.Kind != seos.ErrExternal {
		t.Errorf("sender fault: %q %s", s.Description(), s.Kind)
	}
	o := ourFault(Internal, "Базата данни е недостъпна.", "db down", errors.New("disk full"))
	if !strings.HasPrefix(o.Description(), ReceiverPrefix) || o.Kind != seos.ErrInternal {
		t.Errorf("our fault: %q %s", o.Description(), o.Kind)
	}
}

func TestAsFaultHidesCauses(t *testing.T) {
	f := asFault(errors.New("open /var/lib/seosgw/seosgw.db: permission denied"))
	if f.Kind != seos.ErrInternal || strings.Contains(f.Description(), "/var/lib") {
		t.Errorf("internal detail leaked: %q", f.Description())
	}
	if !strings.Contains(f.Error(), "permission denied") {
		t.Error("cause lost from the log text")
	}
	wrapped := errors.Join(errors.New("x"), senderFault(ClockSkew, "a", "b", nil))
	if asFault(wrapped).Reason != ClockSkew {
		t.Error("wrapped fault not found")
	}
}
