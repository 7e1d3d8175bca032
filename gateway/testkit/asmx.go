package testkit

import (
	"embed"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/seosgw/seosgw/integration/extools"
)

// The .NET participant register: asmxregister/EgovRegistry.cs, an ASMX web
// service (rpc/encoded, as a .NET shop implements EgovRegistry.wsdl), run by
// Mono's ASP.NET under asmxregister/AsmxHost.cs on loopback.
//
//go:embed asmxregister/EgovRegistry.cs asmxregister/AsmxHost.cs
var asmxSources embed.FS

// ASMXPath is the .NET service's path on its host.
const ASMXPath = "/EgovRegistry.asmx"

var asmxBuild toolBuild

// buildASMX compiles the service and its host with mcs.
func buildASMX(t testing.TB) string {
	t.Helper()
	extools.Require(t, "mono")
	mcs := extools.Require(t, "mcs")
	return asmxBuild.get(t, ".NET register", func() (string, error) {
		for _, lib := range []string{"System.Web.Services.dll", "System.Web.dll", "System.Web.Extensions.dll"} {
			if _, err := os.Stat(filepath.Join("/usr/lib/mono/4.5", lib)); err != nil {
				return "", errors.New("Mono's " + lib + " is missing (run `make deps` as root: libmono-system-web-services4.0-cil, libmono-system-web4.0-cil, libmono-system-web-extensions4.0-cil)")
			}
		}
		sources := map[string][]byte{}
		for _, name := range []string{"EgovRegistry.cs", "AsmxHost.cs"} {
			sources[name], _ = asmxSources.ReadFile("asmxregister/" + name)
		}
		return cached("seosgw-asmx-register-", sources, func(dir string) error {
			for _, args := range [][]string{
				{"-target:library", "-out:" + filepath.Join(dir, "EgovRegistry.dll"), "-r:System.Web.Services.dll", "-r:System.Xml.dll", filepath.Join(dir, "EgovRegistry.cs")},
				{"-out:" + filepath.Join(dir, "AsmxHost.exe"), "-r:System.Web.dll", filepath.Join(dir, "AsmxHost.cs")},
			} {
				if err := compile(mcs, append([]string{"-nologo"}, args...)...); err != nil {
					return err
				}
			}
			return nil
		})
	})
}

// StartASMXRegister runs the .NET register on loopback serving d, in
// Bulgarian local time (TZ=Europe/Sofia, as a register in Sofia writes its
// times), and waits until ASP.NET has compiled the service and answers.
// The test's end stops it. It fails (or skips, without
// SEOSGW_REQUIRE_TOOLS) when Mono is missing.
func StartASMXRegister(t testing.TB, d RegisterData) *SOAPRegister {
	t.Helper()
	bin := buildASMX(t)
	site := t.TempDir()
	// ASP.NET's scratch files stay in the site, which the test removes; it
	// compiles nothing (the service is in bin), so it needs none of the
	// assemblies Mono's machine-wide web.config lists for page compilation.
	install(t, bin, site, map[string]string{
		"bin/EgovRegistry.dll": "EgovRegistry.dll", "bin/AsmxHost.exe": "AsmxHost.exe",
		"EgovRegistry.asmx": `=<%@ WebService Class="EgovRegistry" %>` + "\n",
		"web.config": `=<?xml version="1.0" encoding="utf-8"?><configuration><system.web>` +
			`<compilation tempDirectory="` + filepath.Join(site, "aspnet") + `"><assemblies><clear /></assemblies></compilation>` +
			`<hostingEnvironment shadowCopyBinAssemblies="false" /></system.web></configuration>` + "\n",
		"aspnet/": "",
	})
	addr := FreeAddr(t)
	_, port, _ := strings.Cut(addr, ":")
	r := &SOAPRegister{URL: "http://" + addr + ASMXPath, path: ASMXPath, data: filepath.Join(site, "registry.tsv"), out: &SyncBuffer{}}
	r.Set(t, d)
	cmd := exec.Command("mono", filepath.Join(site, "bin", "AsmxHost.exe"), port, site)
	cmd.Env = append(os.Environ(), "EGOVREGISTRY_DATA="+r.data, "TZ=Europe/Sofia", "LANG=C.UTF-8", "TMPDIR="+filepath.Join(site, "aspnet"))
	startRegister(t, ".NET register", cmd, r, "listening on ", true)
	return r
}
