package register

import (
	"context"
	"fmt"
	"strings"
)

// Asker is the register's lookups by key; register/daeu.Client is one.
type Asker interface {
	GetByGuid(ctx context.Context, guid string) (*Listing, error)
	GetByEntityIdentifier(ctx context.Context, eik string) (*Listing, error)
	GetByCertificateSN(ctx context.Context, serial string) (*Listing, error)
}

// Answer is what the register said to one lookup.
type Answer struct {
	Op, Param string
	Listing   *Listing
}

// Ask puts an operator's key (GUID, EIK or certificate serial) to the
// register itself, for comparing with the copy. A serial is asked in the
// register's own text when the copy knows it (a .NET register compares
// the strings it stores: "00A1B2C3" is not "a1b2c3"), else as typed.
func Ask(ctx context.Context, c *Cache, a Asker, key string) ([]Answer, error) {
	key = strings.TrimSpace(key)
	var out []Answer
	ask := func(op string, param string, f func(context.Context, string) (*Listing, error)) error {
		l, err := f(ctx, param)
		if err != nil {
			return fmt.Errorf("%s(%s): %w", op, param, err)
		}
		out = append(out, Answer{Op: op, Param: param, Listing: l})
		return nil
	}
	if isGUID(key) {
		return out, ask("GetByGuid", key, a.GetByGuid)
	}
	if err := ask("GetByEntityIdentifier", key, a.GetByEntityIdentifier); err != nil {
		return out, err
	}
	known, err := c.BySerial(ctx, key)
	if err != nil {
		return out, err
	}
	asked := map[string]bool{}
	for _, e := range known {
		if e.CertificateSN != "" && !asked[e.CertificateSN] {
			asked[e.CertificateSN] = true
			if err := ask("GetByCertificateSN", e.CertificateSN, a.GetByCertificateSN); err != nil {
				return out, err
			}
		}
	}
	if len(asked) == 0 {
		return out, ask("GetByCertificateSN", key, a.GetByCertificateSN)
	}
	return out, nil
}
