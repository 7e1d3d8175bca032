package configs

import (
	"debug/elf"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/seosgw/seosgw/integration/extools"
)

// TestDebianPackage builds the package as `make deb` does and installs it
// with dpkg into a clean root (only an empty /etc and dpkg's database):
// the files, owners and modes, the system user, the folders and the
// binary, then an upgrade and a removal that keeps the data.
func TestDebianPackage(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and installs a package")
	}
	if os.Geteuid() != 0 {
		if extools.Required() {
			t.Fatal("installing a package into a root needs root (make test runs as root in CI)")
		}
		t.Skip("installing a package into a root needs root")
	}
	makeBin := extools.Require(t, "make")
	dpkg := extools.Require(t, "dpkg")
	extools.Require(t, "dpkg-deb")
	extools.Require(t, "systemd-sysusers")

	build := t.TempDir()
	const version = "1.2.3+test"
	r := extools.Run(t, nil, makeBin, "--no-print-directory", "-C", extools.RepoRoot(), "deb", "BUILD="+build, "VERSION="+version,
		"COMMIT=0123456789abcdef", "DATE=2026-05-04T10:00:00Z")
	if !r.OK() {
		t.Fatalf("make deb (exit %d):\n%s%s", r.Code, r.Stdout, r.Stderr)
	}
	var deb string
	for _, line := range strings.Split(r.Stdout, "\n") {
		if strings.HasSuffix(line, ".deb") {
			deb = line
		}
	}
	if !strings.Contains(filepath.Base(deb), "seosgw_"+version+"_") {
		t.Fatalf("make deb printed %q, want the package path", deb)
	}
	assertStatic(t, filepath.Join(build, "seosgw"))

	root := t.TempDir()
	for _, d := range []string{"etc", "var/lib/dpkg/info", "var/lib/dpkg/updates", "var/lib/dpkg/triggers"} {
		if err := os.MkdirAll(filepath.Join(root, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(root, "var/lib/dpkg/status"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	dpkgIn := func(args ...string) extools.Result {
		t.Helper()
		// chrootless: the root has no shell; the scripts honour DPKG_ROOT.
		return extools.Run(t, nil, dpkg, append([]string{"--root=" + root, "--log=/dev/null", "--force-script-chrootless"}, args...)...)
	}
	inst := dpkgIn("-i", deb)
	if !inst.OK() {
		t.Fatalf("dpkg -i (exit %d):\n%s%s", inst.Code, inst.Stdout, inst.Stderr)
	}
	if !strings.Contains(inst.Stdout, "not started: there is no /etc/seosgw/seosgw.yaml") {
		t.Errorf("postinst does not say the service waits for its configuration:\n%s", inst.Stdout)
	}

	uid, gid := systemUser(t, root, "seosgw")
	for _, f := range []struct {
		path     string
		dir      bool
		mode     fs.FileMode
		uid, gid int
	}{
		{"usr/bin/seosgw", false, 0o755, 0, 0},
		{"usr/lib/systemd/system/seosgw.service", false, 0o644, 0, 0},
		{"usr/lib/sysusers.d/seosgw.conf", false, 0o644, 0, 0},
		{"usr/lib/tmpfiles.d/seosgw.conf", false, 0o644, 0, 0},
		{"usr/share/doc/seosgw/README.md", false, 0o644, 0, 0},
		{"usr/share/doc/seosgw/seosgw.example.yaml", false, 0o644, 0, 0},
		{"usr/share/doc/seosgw/prometheus-alerts.yaml", false, 0o644, 0, 0},
		{"usr/share/doc/seosgw/grafana-dashboard.json", false, 0o644, 0, 0},
		{"usr/share/doc/seosgw/conformance.example.yaml", false, 0o644, 0, 0},
		{"usr/share/doc/seosgw/acceptance.maritime.example.yaml", false, 0o644, 0, 0},
		{"usr/share/doc/seosgw/screenshots/console-overview.png", false, 0o644, 0, 0},
		{"var/lib/seosgw", true, 0o700, uid, gid},
		{"etc/seosgw", true, 0o750, 0, gid},
	} {
		st, err := os.Lstat(filepath.Join(root, f.path))
		if err != nil {
			t.Errorf("%s: %v", f.path, err)
			continue
		}
		sys := st.Sys().(*syscall.Stat_t)
		if st.IsDir() != f.dir || st.Mode().Perm() != f.mode || int(sys.Uid) != f.uid || int(sys.Gid) != f.gid {
			t.Errorf("/%s: dir=%v mode %o owner %d:%d; want dir=%v mode %o owner %d:%d", f.path, st.IsDir(), st.Mode().Perm(), sys.Uid, sys.Gid,
				f.dir, f.mode, f.uid, f.gid)
		}
	}
	if _, err := os.Stat(filepath.Join(root, "etc/seosgw/seosgw.yaml")); err == nil {
		t.Error("the package wrote a configuration; the administrator writes it")
	}
	unit, _ := os.ReadFile(filepath.Join(root, "usr/lib/systemd/system/seosgw.service"))
	if !strings.Contains(string(unit), "\nConditionPathExists=/etc/seosgw/seosgw.yaml\n") {
		t.Error("the installed unit would start without a configuration")
	}
	example, _ := os.ReadFile("seosgw.example.yaml")
	if got, _ := os.ReadFile(filepath.Join(root, "usr/share/doc/seosgw/seosgw.example.yaml")); string(got) != string(example) {
		t.Error("the packaged example configuration differs from configs/seosgw.example.yaml")
	}

	out, err := exec.Command(filepath.Join(root, "usr/bin/seosgw"), "version").CombinedOutput()
	if err != nil || !strings.Contains(string(out), "version:    "+version+"\n") || !strings.Contains(string(out), "commit:     0123456789abcdef\n") ||
		!strings.Contains(string(out), "built:      2026-05-04T10:00:00Z\n") {
		t.Errorf("the installed seosgw version: %v\n%s", err, out)
	}
	if st := dpkgIn("-s", "seosgw"); !strings.Contains(st.Stdout, "Status: install ok installed") || !strings.Contains(st.Stdout, "Version: "+version) {
		t.Errorf("dpkg -s:\n%s%s", st.Stdout, st.Stderr)
	}

	// An upgrade (the same package again) keeps the user and folders.
	if again := dpkgIn("-i", deb); !again.OK() {
		t.Fatalf("reinstall (exit %d):\n%s%s", again.Code, again.Stdout, again.Stderr)
	}
	if u, g := systemUser(t, root, "seosgw"); u != uid || g != gid {
		t.Errorf("the upgrade changed the user: %d:%d, was %d:%d", u, g, uid, gid)
	}
	// Removal and purge take the program, never the data.
	if err := os.WriteFile(filepath.Join(root, "var/lib/seosgw/seosgw.db"), []byte("records"), 0o600); err != nil {
		t.Fatal(err)
	}
	if rm := dpkgIn("--purge", "seosgw"); !rm.OK() {
		t.Fatalf("dpkg --purge (exit %d):\n%s%s", rm.Code, rm.Stdout, rm.Stderr)
	}
	if _, err := os.Stat(filepath.Join(root, "usr/bin/seosgw")); err == nil {
		t.Error("purge left /usr/bin/seosgw")
	}
	if b, err := os.ReadFile(filepath.Join(root, "var/lib/seosgw/seosgw.db")); err != nil || string(b) != "records" {
		t.Errorf("purge touched the database: %q %v", b, err)
	}
}

// assertStatic: no dynamic loader, no shared libraries.
func assertStatic(t *testing.T, path string) {
	t.Helper()
	f, err := elf.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP || p.Type == elf.PT_DYNAMIC {
			t.Errorf("%s is dynamically linked (program header %s); build it with CGO_ENABLED=0", path, p.Type)
		}
	}
	if libs, _ := f.ImportedLibraries(); len(libs) > 0 {
		t.Errorf("%s needs %v", path, libs)
	}
}

// systemUser reads name's uid and gid from the root's /etc/passwd and
// checks it is a system account without a login shell.
func systemUser(t *testing.T, root, name string) (int, int) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(root, "etc/passwd"))
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Split(line, ":")
		if len(f) != 7 || f[0] != name {
			continue
		}
		uid, _ := strconv.Atoi(f[2])
		gid, _ := strconv.Atoi(f[3])
		if uid == 0 || uid >= 1000 || f[5] != "/var/lib/seosgw" || !strings.HasSuffix(f[6], "nologin") {
			t.Errorf("user %s: %q; want a system account (uid 1..999), home /var/lib/seosgw, no login", name, line)
		}
		return uid, gid
	}
	t.Fatalf("no user %s in the root's /etc/passwd:\n%s", name, b)
	return 0, 0
}
