package e2e

import (
	"context"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/seosgw/seosgw/gateway/ops"
	"github.com/seosgw/seosgw/gateway/testkit"
	"github.com/seosgw/seosgw/register/testregister"
)

// TestRegisterOutageReadiness runs `seosgw serve` while its register is
// down: /readyz names the register ("register unreachable"), not the
// network path; once a `seosgw register serve` answers, the register sync
// succeeds and readiness follows at once, though network.probe is an hour.
func TestRegisterOutageReadiness(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end")
	}
	dir := t.TempDir()
	tp, ps := participants(t, dir, "b.obmen.local", "register.obmen.local")
	b := ps["b.obmen.local"]
	listen, opsAddr, regAddr := testkit.FreeAddr(t), testkit.FreeAddr(t), testkit.FreeAddr(t)
	regDB := filepath.Join(dir, "register.db")
	reg, err := testregister.Open(context.Background(), regDB, testregister.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := reg.Add(context.Background(), b.registerEntity("https://"+listen+"/seos/endpoint"), nil); err != nil {
		t.Fatal(err)
	}
	reg.Close()
	// The node's copy is fresh: only reachability is at stake.
	dbPath := filepath.Join(dir, "b.db")
	testkit.SeedFile(t, dbPath, b.registerEntity("https://"+listen+"/seos/endpoint"))
	cfg := filepath.Join(dir, "b.yaml")
	writeConfig(t, cfg, map[string]string{"GUID": b.entity.GUID, "EIK": b.entity.Identifier, "NAME": b.entity.AdministrativeBodyName,
		"CERT": b.files.Cert, "KEY": b.files.Key, "CA": tp.CACert, "LISTEN": listen, "REGISTER": "https://" + regAddr + "/service/",
		"DB": dbPath, "OPS": opsAddr})
	f, err := os.OpenFile(cfg, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.WriteString("network: {mode: internet, probe: 1h}\n")
	f.Close()

	node := testkit.Start(t, filepath.Join(dir, "b.log"), "serve", "--config", cfg)
	node.WaitTCP(t, listen)
	ready := func() (bool, map[string]ops.Result) {
		req, _ := http.NewRequest("GET", "http://"+opsAddr+"/readyz", nil)
		req.Header.Set("Accept", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return false, nil
		}
		defer resp.Body.Close()
		var body struct {
			Ready  bool         `json:"ready"`
			Checks []ops.Result `json:"checks"`
		}
		json.NewDecoder(resp.Body).Decode(&body)
		out := map[string]ops.Result{}
		for _, c := range body.Checks {
			out[c.Check] = c
		}
		return body.Ready, out
	}
	var checks map[string]ops.Result
	testkit.Eventually(t, time.Minute, "readiness with the register down", func() bool {
		_, checks = ready()
		return checks["register"].Error != ""
	})
	if r := checks["register"]; r.OK || !strings.HasPrefix(r.Error, "register unreachable (the network path to it is up") {
		t.Errorf("register check while the register is down: %+v", r)
	}
	if r := checks["network"]; !r.OK {
		t.Errorf("network check while only the register is down: %+v", r)
	}

	regFiles := tp.Hosts["register.obmen.local"]
	regProc := testkit.Start(t, filepath.Join(dir, "register.log"), "register", "serve", "--listen", regAddr, "--db", regDB,
		"--tls-cert", regFiles.Cert, "--tls-key", regFiles.Key, "--client-ca", tp.CACert)
	regProc.WaitTCP(t, regAddr)
	testkit.Eventually(t, 2*time.Minute, "ready once the register answers", func() bool {
		ok, c := ready()
		checks = c
		return ok
	})
	if !strings.Contains(node.Output(), `"msg":"register synced"`) {
		t.Errorf("ready without a register sync:\n%s", node.Output())
	}
}
