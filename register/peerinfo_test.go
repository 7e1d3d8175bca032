package register_test

import (
	"context"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/seosgw/seosgw/gateway/clock"
	"github.com/seosgw/seosgw/register"
)

// seosgw_peer_info names every participant of the register copy, so a
// dashboard can show "Министерство …" next to a GUID; a participant the
// register no longer lists drops out at the next scrape.
func TestPeerInfo(t *testing.T) {
	ctx := context.Background()
	clk := clock.NewManual(t0)
	cache, _ := openCache(t, clk)
	if err := cache.Apply(ctx, true, []register.Entity{ent(guidA, "000695089", register.Active, "01"), ent(guidB, "000024688", register.Inactive, "02")}, "c1"); err != nil {
		t.Fatal(err)
	}
	prom := prometheus.NewRegistry()
	m, err := register.NewMetrics(prom, clk)
	if err != nil {
		t.Fatal(err)
	}
	register.NewSyncer(cache, nil, register.SyncOptions{Clock: clk, Metrics: m})
	if v := metric(t, prom, "seosgw_peer_info", map[string]string{"peer": guidA, "eik": "000695089", "name": "Body 000695089"}); v != 1 {
		t.Errorf("peer A: %v, want 1", v)
	}
	if v := metric(t, prom, "seosgw_peer_info", map[string]string{"peer": guidB}); v != 1 {
		t.Errorf("peer B (inactive, still listed): %v, want 1", v)
	}
	// A full listing without B: B is removed from the copy.
	if err := cache.Apply(ctx, true, []register.Entity{ent(guidA, "000695089", register.Active, "01")}, "c2"); err != nil {
		t.Fatal(err)
	}
	if n, err := testutil.GatherAndCount(prom, "seosgw_peer_info"); err != nil || n != 1 {
		t.Errorf("after B's removal: %d series (%v), want 1", n, err)
	}
	if problems, err := testutil.GatherAndLint(prom, "seosgw_peer_info"); err != nil || len(problems) > 0 {
		t.Errorf("lint: %v %v", problems, err)
	}
}
