package register_test

import (
	"context"
	"io"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/seosgw/seosgw/gateway/clock"
	"github.com/seosgw/seosgw/register"
	"github.com/seosgw/seosgw/register/daeu"
)

// TestAskUsesTheRegistersSerial: a register that compares serials as the
// strings it stores (as a .NET one does) is asked GetByCertificateSN with
// its own text from the copy, whatever notation the operator typed; a
// serial the copy does not know goes as typed, unchanged.
func TestAskUsesTheRegistersSerial(t *testing.T) {
	ctx := context.Background()
	p := newPKI(t)
	clk := clock.NewManual(t0)
	a := ent(guidA, "000695089", register.Active, "00a1b2c3") // .NET: leading zero byte; this one lower case
	var mu sync.Mutex
	var asked []string
	url := stubRegister(t, p, func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		call, err := daeu.DecodeRequest(b, "")
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		mu.Lock()
		asked = append(asked, string(call.Op)+"("+call.Param+")")
		mu.Unlock()
		l := &register.Listing{Cursor: "2026-04-08T12:00:00+03:00"}
		if call.Op == daeu.GetAllRecords || call.Op == daeu.GetByCertificateSN && call.Param == a.CertificateSN {
			l.Entities = []register.Entity{a}
		}
		w.Write(daeu.EncodeResponse(call.Op, l, nil))
	})
	cache, _ := openCache(t, clk)
	client := p.client(t, url, p.node, 5*time.Second, 0)
	if _, err := register.NewSyncer(cache, client, register.SyncOptions{Clock: clk}).Sync(ctx, register.Full); err != nil {
		t.Fatal(err)
	}
	for _, typed := range []string{"A1:B2:C3", "a1b2c3", "00 A1 B2 C3"} {
		answers, err := register.Ask(ctx, cache, client, typed)
		if err != nil {
			t.Fatal(err)
		}
		var found []string
		for _, an := range answers {
			if an.Op == "GetByCertificateSN" {
				found = append(found, an.Param)
				if len(an.Listing.Entities) != 1 || an.Listing.Entities[0].GUID != guidA {
					t.Errorf("%s: the register found %+v", typed, an.Listing.Entities)
				}
			}
		}
		if !slices.Equal(found, []string{"00a1b2c3"}) {
			t.Errorf("%s: asked GetByCertificateSN with %v; want the register's own text", typed, found)
		}
	}
	if _, err := register.Ask(ctx, cache, client, "00FF"); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	if last := asked[len(asked)-1]; last != "GetByCertificateSN(00FF)" {
		t.Errorf("an unknown serial was asked as %s; want it as typed", last)
	}
	if !strings.HasPrefix(asked[len(asked)-2], "GetByEntityIdentifier(00FF)") {
		t.Errorf("calls %v", asked)
	}
}
