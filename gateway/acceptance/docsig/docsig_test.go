package docsig_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/seosgw/seosgw/gateway/acceptance/acceptancetest"
	"github.com/seosgw/seosgw/gateway/acceptance/cms"
	"github.com/seosgw/seosgw/gateway/acceptance/docsig"
	"github.com/seosgw/seosgw/gateway/clock"
)

// TestAuthor: the signer is the author when its organisation identifier
// names the sender, or when it is a listed person.
func TestAuthor(t *testing.T) {
	p := acceptancetest.NewPKI(t)
	for _, tc := range []struct {
		name    string
		spec    acceptancetest.SignerSpec
		persons []docsig.Person
		match   bool
		want    docsig.Status
		words   string
	}{
		{"NTRBG", acceptancetest.SignerSpec{Name: "A", OrgID: "NTRBG-000695089"}, nil, true, docsig.Pass, "NTRBG-000695089"},
		{"VATBG", acceptancetest.SignerSpec{Name: "A", OrgID: "VATBG-BG000695089"}, nil, true, docsig.Pass, "sender"},
		{"another EIK", acceptancetest.SignerSpec{Name: "A", OrgID: "NTRBG-111111111"}, nil, true, docsig.Fail, "EIK 000695089"},
		{"listed person by id", acceptancetest.SignerSpec{Name: "Иван", PersonID: "PNOBG-7501010010"}, []docsig.Person{{ID: "pnobg-7501010010"}}, true, docsig.Pass, "authorised person"},
		{"listed person by name", acceptancetest.SignerSpec{Name: "Иван  Петров"}, []docsig.Person{{Name: "иван петров"}}, false, docsig.Pass, "authorised person"},
		{"nobody required", acceptancetest.SignerSpec{Name: "Иван"}, nil, false, docsig.NotApplicable, "not required"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := p.Issue(t, tc.spec)
			v := &docsig.Verifier{Clock: clock.System, MatchSender: tc.match, Persons: tc.persons}
			rep := v.Judge(context.Background(), cms.Result{Cert: c.Cert, SigningTime: time.Now()}, nil, "000695089", time.Time{})
			if rep.Author.Status != tc.want || !strings.Contains(rep.Author.EN, tc.words) {
				t.Errorf("%+v", rep.Author)
			}
			if rep.Trust.Status != docsig.Unknown || rep.Revocation.Status != docsig.NotApplicable {
				t.Errorf("without roots or a checker: trust %s, revocation %s", rep.Trust.Status, rep.Revocation.Status)
			}
		})
	}
}
