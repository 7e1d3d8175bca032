package inbound

import (
	"context"
	"testing"

	"github.com/seosgw/seosgw/gateway/inbox"
	"github.com/seosgw/seosgw/gateway/seos"
	"github.com/seosgw/seosgw/gateway/testkit"
)

// The EIKs a signed header names must be the register's: a peer with the
// right GUID, certificate and signature that calls itself another
// administration is refused; a different name is taken (the AIS is shown
// the register's) and kept as sent.
func TestHeaderEIKsAreTheRegisters(t *testing.T) {
	w := newWorld(t, options{})
	for _, c := range []struct {
		name string
		edit func(m *seos.Message)
		text string
	}{
		{"sender EIK", func(m *seos.Message) { m.Header.Sender.Identifier = "000695089" },
			"ЕИК на подателя в съобщението (000695089) се различава от вписания в регистъра на участниците за " + w.a.entity.GUID + " (123456782)"},
		{"recipient EIK", func(m *seos.Message) { m.Header.Recipient.Identifier = "000695089" },
			"ЕИК на получателя в съобщението (000695089) се различава от вписания в регистъра на участниците за " + w.b.entity.GUID + " (123456781)"},
	} {
		t.Run(c.name, func(t *testing.T) {
			m := registration(w.a.entity, w.b.entity, seos.NewGUID())
			c.edit(m)
			reply, _ := w.submit(w.a.id, testkit.Sign(t, w.a.id, m))
			assertError(t, reply, seos.ErrExternal, m.Header.MessageGUID, c.text)
			if n := w.count(`SELECT count(*) FROM inbox`); n != 0 {
				t.Errorf("%d documents stored", n)
			}
		})
	}
	m := registration(w.a.entity, w.b.entity, seos.NewGUID())
	m.Header.Sender.AdministrativeBodyName = "Министерство на примерите"
	reply, _ := w.submit(w.a.id, testkit.Sign(t, w.a.id, m))
	if reply.Body.StatusResponse == nil || reply.Body.StatusResponse.Status != seos.StatusWaitRegistration {
		t.Fatalf("a message whose sender name is not the register's: %+v", reply.Body)
	}
	it, err := inbox.Find(context.Background(), w.db, w.a.entity.GUID, m.Body.RegistrationRequest.Document.ID.GUID)
	if err != nil || it.Sender.AdministrativeBodyName != "Министерство на примерите" {
		t.Errorf("the name as sent is not kept: %+v %v", it, err)
	}
}
