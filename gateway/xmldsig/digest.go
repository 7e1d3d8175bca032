package xmldsig

import (
	"crypto"
	"hash"
	"io"
	"strings"

	"github.com/seosgw/seosgw/gateway/xmltok"
)

// A Digester reads a message's tokens once, as they stream past, and keeps
// what checking its signature needs: the digests of the canonical forms of
// the message minus its signature, and the facts that decide whether the
// signature is the one belonging to the message. Structure is decided from
// the stream: the message signature is the ds:Signature child of the root,
// and it must be the last element in it; any other ds:Signature but the
// author's at /Message/Body/DocumentRegistrationRequest/Document is
// wrapping. Nothing is searched for.
type Digester struct {
	c    *canonicalizer
	sums map[digestKey]hash.Hash

	stack     []elem // open elements
	rootTag   string
	rootSigs  int
	notLast   bool   // an element follows the root's Signature
	strayPath string // the first Signature where none belongs
}

type elem struct{ space, local string }

// digestKey names one digest: the canonical form and the hash.
type digestKey struct {
	exclusive  bool
	prefixList string
	hash       crypto.Hash
}

// defaultDigests are those a single pass computes: the forms and hashes
// SEOS peers sign with (inclusive C14N as .NET does, exclusive as Java
// nodes do; SHA-1 and SHA-256). Any other is computed by a second pass.
var defaultDigests = []digestKey{{false, "", crypto.SHA256}, {false, "", crypto.SHA1}, {true, "", crypto.SHA256}, {true, "", crypto.SHA1}}

// NewDigester makes a Digester computing the digests SEOS peers use.
func NewDigester() *Digester { return newDigester(defaultDigests...) }

func newDigester(keys ...digestKey) *Digester {
	d := &Digester{sums: map[digestKey]hash.Hash{}}
	type form struct {
		exclusive bool
		prefixes  string
	}
	writers := map[form][]io.Writer{}
	var order []form
	for _, k := range keys {
		h := k.hash.New()
		d.sums[k] = h
		f := form{k.exclusive, k.prefixList}
		if _, ok := writers[f]; !ok {
			order = append(order, f)
		}
		writers[f] = append(writers[f], h)
	}
	outs := make([]*c14nOut, 0, len(order))
	for _, f := range order {
		outs = append(outs, newC14NOut(io.MultiWriter(writers[f]...), f.exclusive, f.prefixes))
	}
	d.c = newCanonicalizer(outs...)
	return d
}

// Token takes the next token of the message.
func (d *Digester) Token(tok *xmltok.Token) {
	exclude := false
	switch tok.Kind {
	case xmltok.StartElement:
		depth := len(d.stack) + 1
		isSig := tok.Name.Local == "Signature" && tok.Name.Space == Namespace
		switch {
		case depth == 1:
			d.rootTag = tok.Name.Local
		case depth == 2:
			if d.rootSigs > 0 {
				d.notLast = true
			}
			if isSig {
				d.rootSigs++
				exclude = d.rootSigs == 1
			}
		case isSig && d.strayPath == "" && !d.atAuthorSignature():
			d.strayPath = d.path(tok.Name.Local)
		}
		d.stack = append(d.stack, elem{tok.Name.Space, tok.Name.Local})
	case xmltok.EndElement:
		d.stack = d.stack[:len(d.stack)-1]
	}
	d.c.token(tok, exclude)
}

// atAuthorSignature says whether a Signature starting now sits at
// /Message/Body/DocumentRegistrationRequest/Document (whatever the root is
// called: the schema has fixed that).
func (d *Digester) atAuthorSignature() bool {
	if len(d.stack) != 4 {
		return false
	}
	for i, name := range []string{"Body", "DocumentRegistrationRequest", "Document"} {
		if e := d.stack[i+1]; e.local != name || e.space != seosNS {
			return false
		}
	}
	return true
}

func (d *Digester) path(local string) string {
	var b strings.Builder
	for _, e := range d.stack {
		b.WriteByte('/')
		b.WriteString(e.local)
	}
	b.WriteByte('/')
	b.WriteString(local)
	return b.String()
}

// wrapping judges the structure seen, in the order a reader of the whole
// tree would: the root's signature first, then strays.
func (d *Digester) wrapping() error {
	switch {
	case d.rootTag == "":
		return fail(KindMissing, "document has no root element")
	case d.rootSigs > 0 && d.notLast:
		return fail(KindWrapping, "the message Signature must be the last child of %s", d.rootTag)
	case d.rootSigs == 0:
		return fail(KindMissing, "the message is not signed (no Signature child of %s)", d.rootTag)
	case d.strayPath != "":
		return fail(KindWrapping, "unexpected Signature element at %s", d.strayPath)
	}
	return nil
}

// sum returns a digest the pass computed, or nil.
func (d *Digester) sum(k digestKey) []byte {
	h, ok := d.sums[k]
	if !ok {
		return nil
	}
	return h.Sum(nil)
}

// finish flushes what the canonical forms buffered into the hashes.
func (d *Digester) finish() error { return d.c.flush() }
