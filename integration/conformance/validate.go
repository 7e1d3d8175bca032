package conformance

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/seosgw/seosgw/schemas"
)

// schemaValidator runs xmllint against the project's embedded schemas, a
// second opinion beside seosgw's own validator (which the differential
// tests hold to xmllint), for replies a DAEU report should not rest on one
// implementation for.
type schemaValidator struct {
	bin, dir, entry string
}

// newSchemaValidator reads the schema_validator setting; it returns nil
// when xmllint is off (or, with auto, not installed) and says which
// validators a run uses.
func newSchemaValidator(setting string) (*schemaValidator, string, error) {
	const own = "seosgw (gateway/seos)"
	bin := ""
	switch setting {
	case "off":
		return nil, own, nil
	case "auto", "xmllint", "":
		p, err := exec.LookPath("xmllint")
		if err != nil {
			if setting == "xmllint" {
				return nil, "", errors.New("xmllint is not installed (apt-get install libxml2-utils), or set schema_validator: auto")
			}
			return nil, own + "; xmllint not installed", nil
		}
		bin = p
	default:
		if _, err := os.Stat(setting); err != nil {
			return nil, "", err
		}
		bin = setting
	}
	dir, err := os.MkdirTemp("", "seosgw-conformance-schemas-")
	if err != nil {
		return nil, "", err
	}
	if err := schemas.WriteDir(dir); err != nil {
		os.RemoveAll(dir)
		return nil, "", err
	}
	return &schemaValidator{bin: bin, dir: dir, entry: filepath.Join(dir, schemas.Entry)}, own + " and xmllint (" + bin + ") against the embedded schemas", nil
}

func (v *schemaValidator) close() { os.RemoveAll(v.dir) }

// validate returns nil when xmllint finds the message valid.
func (v *schemaValidator) validate(ctx context.Context, message []byte) error {
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, v.bin, "--noout", "--nonet", "--schema", v.entry, "-")
	cmd.Stdin = bytes.NewReader(message)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	err := cmd.Run()
	if err == nil {
		return nil
	}
	var ee *exec.ExitError
	if !errors.As(err, &ee) {
		return fmt.Errorf("%w: %w", errLintNotRun, err)
	}
	lines := strings.Split(strings.TrimSpace(stderr.String()), "\n")
	var msgs []string
	for _, l := range lines {
		if l != "" && !strings.HasSuffix(l, "fails to validate") {
			msgs = append(msgs, strings.TrimPrefix(l, "-:"))
		}
		if len(msgs) == 3 {
			break
		}
	}
	return fmt.Errorf("%w: %s", errSchemaInvalid, strings.Join(msgs, "; "))
}
