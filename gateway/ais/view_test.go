package ais

import (
	"fmt"
	"net/http"
	"testing"

	"github.com/seosgw/seosgw/gateway/seos"
	"github.com/seosgw/seosgw/gateway/testkit"
)

// The AIS is shown the sender's name as the register lists it, and the
// name the message gave beside it when that differs; a sender the copy
// does not list keeps the name as sent.
func TestReceivedSenderNameIsTheRegisters(t *testing.T) {
	f := newFixture(t)
	posing := peer.Node()
	posing.AdministrativeBodyName = "Министерство на примерите"
	id := testkit.Receive(t, f.db, posing, receivedLetter(), f.clk.Now())
	stranger := seos.Entity{Identifier: "000000077", AdministrativeBodyName: "Непозната агенция", GUID: "{00000007-0000-4000-8000-000000000007}"}
	unlisted := testkit.Receive(t, f.db, stranger, receivedLetter(), f.clk.Now())
	honest := f.receive(peer, receivedLetter())

	for _, c := range []struct {
		id               int64
		name, nameAsSent string
	}{
		{id, peer.AdministrativeBodyName, "Министерство на примерите"},
		{unlisted, "Непозната агенция", ""},
		{honest, peer.AdministrativeBodyName, ""},
	} {
		status, _, body := f.do("GET", fmt.Sprintf("%s/inbox/%d", Prefix, c.id), nil)
		var d ReceivedDocument
		decodeInto(t, body, &d)
		if status != http.StatusOK || d.Sender.Name != c.name || d.Sender.NameAsSent != c.nameAsSent {
			t.Errorf("document %d: %d sender %+v, want name %q as sent %q", c.id, status, d.Sender, c.name, c.nameAsSent)
		}
	}
	status, _, body := f.do("GET", Prefix+"/inbox", nil)
	var l InboxList
	decodeInto(t, body, &l)
	if status != http.StatusOK || len(l.Items) != 3 || l.Items[0].Sender.Name != peer.AdministrativeBodyName || l.Items[0].Sender.NameAsSent != "Министерство на примерите" {
		t.Errorf("inbox list: %d %+v", status, l.Items)
	}
}
