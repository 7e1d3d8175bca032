package node

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/seosgw/seosgw/gateway/clock"
	"github.com/seosgw/seosgw/gateway/config"
	"github.com/seosgw/seosgw/gateway/ops"
	"github.com/seosgw/seosgw/gateway/testkit"
	"github.com/seosgw/seosgw/register"
)

// nodeConfig is a configuration of participant 1 whose files exist, its
// database at dir/gw.db.
func nodeConfig(t *testing.T, dir, eik, name string) *config.Config {
	t.Helper()
	p := testkit.NewPKI(t, "test DAEU CA", nil)
	cert, key := testkit.Files(t, dir, p.Host(t, "node.obmen.local"), "node")
	os.WriteFile(filepath.Join(dir, "ais-token"), []byte("token-1234567890\n"), 0o600)
	cfg, err := config.Parse([]byte(fmt.Sprintf(`participant: {guid: %q, eik: %q, name: %q}
tls: {cert: %q, key: %q, ca: %q}
register: {url: "https://127.0.0.1:1/service/"}
database: {path: gw.db}
ais: {listen: %q, token_file: ais-token}
network: {mode: internet}
`, testkit.GUID(1), eik, name, cert, key, p.CAFile(t, dir), testkit.FreeAddr(t))), dir)
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

// A node whose participant.eik is not its register entry's refuses to
// start; a different name only warns; an entry a later sync brings with
// another EIK makes the node not ready.
func TestStartComparesUsWithOurRegisterEntry(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	us := testkit.Participant(1, "000695089", "Министерство на примерите")
	testkit.SeedFile(t, filepath.Join(dir, "gw.db"), us)

	var logged testkit.SyncBuffer
	log := slog.New(slog.NewTextHandler(&logged, nil))
	_, err := New(ctx, nodeConfig(t, dir, "121857413", us.AdministrativeBodyName), log, clock.System)
	if err == nil || !strings.Contains(err.Error(), `participant.eik: "121857413", but the register lists EIK "000695089" for `+us.GUID) {
		t.Fatalf("a participant.eik other than the register's: %v", err)
	}

	n, err := New(ctx, nodeConfig(t, dir, us.Identifier, "Министерство на образците"), log, clock.System)
	if err != nil {
		t.Fatalf("only the name differs: %v", err)
	}
	defer n.Close()
	if !strings.Contains(logged.String(), "participant.name differs from our register entry") {
		t.Errorf("no warning about the name:\n%s", logged.String())
	}
	if err := n.selfReady(ctx); err != nil {
		t.Errorf("ready: %v", err)
	}
	us.Identifier = "121857413"
	if err := n.Cache.Apply(ctx, false, []register.Entity{us}, "c2"); err != nil {
		t.Fatal(err)
	}
	if ok, res := n.Ops.Ready(ctx); ok || !readyFails(res, "participant", "participant.eik") {
		t.Errorf("readiness after the register changed our EIK: %+v", res)
	}
}

func readyFails(res []ops.Result, check, text string) bool {
	for _, r := range res {
		if r.Check == check {
			return !r.OK && strings.Contains(r.Error, text)
		}
	}
	return false
}
