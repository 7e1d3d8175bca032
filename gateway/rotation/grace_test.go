package rotation_test

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/seosgw/seosgw/gateway/clock"
	"github.com/seosgw/seosgw/gateway/rotation"
	"github.com/seosgw/seosgw/gateway/seos"
	"github.com/seosgw/seosgw/gateway/testkit"
	"github.com/seosgw/seosgw/register"
)

func TestBlamesCertificate(t *testing.T) {
	const sender = "Неуспешен – Грешка при подателя. "
	for _, c := range []struct {
		kind seos.ErrorKind
		desc string
		want bool
	}{
		// As seosgw's endpoint words them (gateway/inbound).
		{seos.ErrExternal, sender + "TLS сертификатът на клиента не е транспортен сертификат на участник в регистъра.", true},
		{seos.ErrExternal, sender + "TLS сертификатът на клиента не е транспортният сертификат на подателя според регистъра.", true},
		{seos.ErrExternal, sender + "Съобщението е подписано със сертификат, различен от транспортния сертификат на подателя.", true},
		{seos.ErrExternal, sender + "Електронният подпис на съобщението е невалиден: digest mismatch", true},
		{seos.ErrExternal, "Невалиден подпис.", true},
		{seos.ErrExternal, "The signer's Certificate is not the registered one", true},
		{seos.ErrExternal, "Signature verification failed", true},
		// Anything else is what it says.
		{seos.ErrExternal, sender + "Съобщението не отговаря на схемата: /Message/Header/MessageGUID", false},
		{seos.ErrExternal, sender + "Подателят {…} не е активен участник в регистъра.", false},
		{seos.ErrExternal, sender + "Датата на съобщението се различава от часовника на получателя (clock skew).", false},
		{seos.ErrInternal, "Неуспешен – Грешка при получателя. Хранилището на сертификати е недостъпно.", false},
	} {
		if got := rotation.BlamesCertificate(&seos.ErrorBody{Type: c.kind, Description: c.desc}); got != c.want {
			t.Errorf("%s %q: %v, want %v", c.kind, c.desc, got, c.want)
		}
	}
	if rotation.BlamesCertificate(nil) {
		t.Error("no Error blames nothing")
	}
}

// The window opens when our copy sees our CertificateSN change and closes
// Window later; a peer's renewal does not open it, nor does the first
// listing.
func TestGraceWindow(t *testing.T) {
	ctx := context.Background()
	clk := clock.NewManual(time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC))
	self, peer := testkit.Participant(1, "000000001", "Ние"), testkit.Participant(2, "000000002", "Те")
	self.CertificateSN, peer.CertificateSN = "0A", "0B"
	db := testkit.DB(t)
	cache := testkit.Seed(t, db, clk, self, peer)
	g := &rotation.Grace{Dir: cache, Self: self.GUID, Window: 24 * time.Hour, Clock: clk, Log: slog.New(slog.DiscardHandler)}
	apply := func(es ...register.Entity) {
		t.Helper()
		if err := cache.Apply(ctx, false, es, ""); err != nil {
			t.Fatal(err)
		}
	}
	active := func() bool { _, ok := g.Active(ctx); return ok }
	if active() {
		t.Error("open without a change")
	}
	peer.CertificateSN = "0C"
	apply(peer)
	if active() {
		t.Error("a peer's renewal opened it")
	}
	clk.Advance(time.Hour)
	seen := clk.Now()
	self.CertificateSN = "1A"
	apply(self)
	clk.Advance(23 * time.Hour)
	if ch, ok := g.Active(ctx); !ok || ch.From != "0A" || ch.To != "1A" || !ch.SeenAt.Equal(seen) {
		t.Errorf("23h after our change: %+v %v", ch, ok)
	}
	if ok, err := g.Registered(ctx, "1a"); !ok || err != nil {
		t.Errorf("the new serial is ours in the copy: %v %v", ok, err)
	}
	if ok, _ := g.Registered(ctx, "0A"); ok {
		t.Error("the old serial is still ours")
	}
	clk.Advance(time.Hour)
	if active() {
		t.Error("still open after the window")
	}
	g.Window = 0
	clk.Set(seen)
	if active() {
		t.Error("open with the rule off")
	}
	var none *rotation.Grace
	if _, ok := none.Active(ctx); ok {
		t.Error("no rule, no window")
	}
}
