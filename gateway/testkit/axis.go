package testkit

import (
	"embed"
	"errors"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/seosgw/seosgw/integration/extools"
)

// The Java participant register: axisregister/, Apache Axis 1.4 (Debian's
// libaxis-java) serving EgovRegistry.wsdl rpc/encoded with the beans
// WSDL2Java makes, run by Axis's SimpleAxisServer on loopback
// (axisregister/AxisMain.java).
//
//go:embed axisregister/*.java axisregister/server-config.wsdd
var axisSources embed.FS

// AxisPath is the Java service's path on its host.
const AxisPath = "/axis/services/EgovRegistry"

// axisJars are Axis 1.4 and what it needs, as Debian installs them.
var axisJars = []string{"axis.jar", "jaxrpc.jar", "saaj.jar", "commons-discovery.jar", "commons-logging.jar", "wsdl4j.jar",
	"javax.activation.jar", "javax.mail.jar"}

var axisBuild toolBuild

func axisClasspath(extra ...string) string {
	var cp []string
	for _, j := range axisJars {
		cp = append(cp, filepath.Join("/usr/share/java", j))
	}
	return strings.Join(append(cp, extra...), string(os.PathListSeparator))
}

// buildAxis compiles the service with javac.
func buildAxis(t testing.TB) string {
	t.Helper()
	extools.Require(t, "java")
	javac := extools.Require(t, "javac")
	return axisBuild.get(t, "Axis register", func() (string, error) {
		for _, j := range axisJars {
			if _, err := os.Stat(filepath.Join("/usr/share/java", j)); err != nil {
				return "", errors.New("/usr/share/java/" + j + " is missing (run `make deps` as root: libaxis-java)")
			}
		}
		sources := map[string][]byte{}
		names, _ := fs.Glob(axisSources, "axisregister/*")
		for _, name := range names {
			sources[filepath.Base(name)], _ = axisSources.ReadFile(name)
		}
		return cached("seosgw-axis-register-", sources, func(dir string) error {
			java, _ := filepath.Glob(filepath.Join(dir, "*.java"))
			args := append([]string{"-encoding", "UTF-8", "-nowarn", "-cp", axisClasspath(), "-d", filepath.Join(dir, "classes")}, java...)
			return compile(javac, args...)
		})
	})
}

// StartAxisRegister runs the Axis register on loopback serving d and waits
// until it answers. The test's end stops it. It fails (or skips, without
// SEOSGW_REQUIRE_TOOLS) when Java or Axis is missing.
func StartAxisRegister(t testing.TB, d RegisterData) *SOAPRegister {
	t.Helper()
	bin := buildAxis(t)
	// SimpleAxisServer reads its deployment from the working folder.
	work := t.TempDir()
	install(t, bin, work, map[string]string{"server-config.wsdd": "server-config.wsdd"})
	addr := FreeAddr(t)
	_, port, _ := strings.Cut(addr, ":")
	r := &SOAPRegister{URL: "http://" + addr + AxisPath, path: AxisPath, data: filepath.Join(work, "registry.tsv"), out: &SyncBuffer{}}
	r.Set(t, d)
	// No perf-data file in /tmp: the test kills the JVM, which would leave it.
	cmd := exec.Command("java", "-XX:-UsePerfData", "-cp", axisClasspath(filepath.Join(bin, "classes")), "AxisMain", port)
	cmd.Dir = work
	cmd.Env = append(os.Environ(), "EGOVREGISTRY_DATA="+r.data, "TZ=Europe/Sofia")
	startRegister(t, "Axis register", cmd, r, "listening on ", false)
	return r
}
