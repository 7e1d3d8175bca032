package rotation

import (
	"context"
	"log/slog"
	"strings"
	"time"

	"github.com/seosgw/seosgw/gateway/clock"
	"github.com/seosgw/seosgw/gateway/seos"
	"github.com/seosgw/seosgw/register"
)

// Directory is the register copy: our own entry, and when its
// certificate last changed.
type Directory interface {
	ByGUID(ctx context.Context, guid string) (*register.Entity, error)
	LastCertificateChange(ctx context.Context, guid string) (register.CertificateChange, bool, error)
}

// Grace is the rule for the window of a renewal in which peers do not
// agree on our certificate yet: DAEU has entered the new one in the
// register, and each peer's copy (refreshed every 10 minutes or so)
// follows in its own time, while we present the old certificate or the
// new one. For Window after our copy saw our entry's CertificateSN change,
// a peer's Error that blames our certificate is retried on the protocol's
// schedule rather than final.
type Grace struct {
	Dir    Directory
	Self   string // our participant GUID
	Window time.Duration
	Clock  clock.Clock
	Log    *slog.Logger
}

// Active reports whether the window is open now, with the change that
// opened it. A register copy that cannot be read closes it: the Error is
// then final, as without the rule.
func (g *Grace) Active(ctx context.Context) (register.CertificateChange, bool) {
	if g == nil || g.Window <= 0 {
		return register.CertificateChange{}, false
	}
	ch, ok, err := g.Dir.LastCertificateChange(ctx, g.Self)
	if err != nil {
		g.Log.Error("rotation grace: cannot read when our certificate changed in the register", "error", err)
		return ch, false
	}
	return ch, ok && g.Clock.Now().Sub(ch.SeenAt) < g.Window
}

// Registered reports whether the register copy lists serial as our
// transport certificate.
func (g *Grace) Registered(ctx context.Context, serial string) (bool, error) {
	e, err := g.Dir.ByGUID(ctx, g.Self)
	if err != nil || e == nil {
		return false, err
	}
	return e.HasCertificate(serial), nil
}

// blameWords are what a refusal of our certificate or signature says, in
// the Bulgarian peers write (PROTOCOL §5) and in English: a TLS or signer
// certificate other than the registered one, a signature that does not
// verify.
var blameWords = []string{"сертификат", "подпис", "certificate", "signature"}

// BlamesCertificate reports whether a peer's Error puts the fault on our
// certificate or signature: ERR_EXTERNAL (our fault) and a description
// about a certificate or signature, as a peer whose register copy does
// not list our certificate yet (or no longer) answers.
func BlamesCertificate(e *seos.ErrorBody) bool {
	if e == nil || e.Type != seos.ErrExternal {
		return false
	}
	d := strings.ToLower(e.Description)
	for _, w := range blameWords {
		if strings.Contains(d, w) {
			return true
		}
	}
	return false
}
