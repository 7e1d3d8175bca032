package acceptance

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/seosgw/seosgw/gateway/acceptance/cms"
	"github.com/seosgw/seosgw/gateway/seos"
)

// Input is what the policy judges: the registration request's texts, who
// sent it, and its attachments.
type Input struct {
	DocKind, DocAbout, DocComment, Comment string
	Sender                                 Sender
	Correspondents                         []Correspondent
	Attachments                            []Attachment
	// AuthorXMLSignature: the Document carries its own ds:Signature (an
	// author's signature, not the message signature); it is not verified.
	AuthorXMLSignature bool
	// EnvelopeSignatures sign the whole submission rather than one file
	// (an S/MIME mail signature): each counts as a signature of every
	// attached document, and of the submission itself when nothing is
	// attached.
	EnvelopeSignatures []EnvelopeSignature
	// ChannelChecks are decided by the channel that carried the document,
	// whatever the rules say (an encrypted or unreadable mail is refused);
	// they join the verdict's checks.
	ChannelChecks []Check
}

// EnvelopeSignature is a CMS signature over everything a channel carried,
// already verified by that channel over the exact signed bytes.
type EnvelopeSignature struct {
	Form    string // for people, e.g. "S/MIME (multipart/signed)"
	Signed  *cms.SignedData
	Results []cms.Result
	Err     error // the signed content could not be read or verified at all
}

// Sender is the sending administration (the message header's Sender).
type Sender struct {
	EIK, Name, GUID string
}

// Correspondent is a party named in the document; an applicant with an
// EGN and no BULSTAT is a natural person (for personal-data consent).
type Correspondent struct {
	Name, EGN, BULSTAT string
	Applicant          bool
}

// Attachment is one attached file. Content is read in place, in bounded
// pieces and possibly several times (sniffing, signature, text, scan); it
// is never copied whole.
type Attachment struct {
	Name         string // AttFileName, as the sender wrote it
	DeclaredMIME string // AttMIMEType, as the sender wrote it (not trusted)
	Size         int64
	Content      io.ReaderAt
}

// NaturalPerson reports whether the document is filed by a natural person.
func (in *Input) NaturalPerson() bool {
	for _, c := range in.Correspondents {
		if c.Applicant && strings.TrimSpace(c.EGN) != "" && strings.TrimSpace(c.BULSTAT) == "" {
			return true
		}
	}
	return false
}

// FromMessage builds the input from a parsed registration request. The
// attachments read their base64 text in place (Base64Reader).
func FromMessage(m *seos.Message) (Input, error) {
	rr := m.Body.RegistrationRequest
	if rr == nil {
		return Input{}, errors.New("acceptance: not a DocumentRegistrationRequest")
	}
	d := &rr.Document
	in := FromDocument(m.Header.Sender, d, rr.Comment)
	for i, a := range d.Attachments {
		r, err := NewBase64Reader(string(a.Body))
		if err != nil {
			return Input{}, fmt.Errorf("acceptance: attachment %d (%q): %w", i+1, a.FileName, err)
		}
		in.Attachments = append(in.Attachments, Attachment{Name: a.FileName, DeclaredMIME: a.MIMEType, Size: r.Size(), Content: r})
	}
	return in, nil
}

// FromDocument builds the input from a received document's texts and
// sender; the caller adds the attachments (the gateway reads them from
// the inbox, the offline check from the message).
func FromDocument(sender seos.Entity, d *seos.Document, comment string) Input {
	in := Input{
		DocKind: d.Kind, DocAbout: deref(d.About), DocComment: deref(d.Comment), Comment: comment,
		Sender:             Sender{EIK: sender.Identifier, Name: sender.AdministrativeBodyName, GUID: sender.GUID},
		AuthorXMLSignature: d.AuthorSignature != nil,
	}
	for _, c := range d.Correspondents {
		in.Correspondents = append(in.Correspondents, Correspondent{Name: c.Name, EGN: deref(c.EGN), BULSTAT: deref(c.BULSTAT),
			Applicant: c.Kind != nil && *c.Kind == seos.CorrApplicant})
	}
	return in
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

// Base64Reader gives random access to the bytes encoded in base64 text
// without decoding it all: checkpoints every few KiB map a byte offset to
// its place in the text, so white space (line-wrapped base64) is fine.
type Base64Reader struct {
	text        string
	checkpoints []int // text index of group k*groupsPerCheckpoint
	groups      int
	size        int64
}

const groupsPerCheckpoint = 1024 // 3 KiB of data

var b64 = func() (t [256]int8) {
	for i := range t {
		t[i] = -1
	}
	for i, c := range "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/" {
		t[c] = int8(i)
	}
	return t
}()

// NewBase64Reader checks the text (standard alphabet, padded, white space
// allowed) and indexes it.
func NewBase64Reader(text string) (*Base64Reader, error) {
	r := &Base64Reader{text: text}
	n, pad := 0, 0
	for i := 0; i < len(text); i++ {
		c := text[i]
		switch {
		case c == ' ' || c == '\t' || c == '\r' || c == '\n':
			continue
		case c == '=':
			pad++
			if pad > 2 || n%4 < 2 {
				return nil, fmt.Errorf("base64: misplaced '=' at %d", i)
			}
		case b64[c] >= 0:
			if pad > 0 {
				return nil, fmt.Errorf("base64: data after padding at %d", i)
			}
			if n%4 == 0 && (n/4)%groupsPerCheckpoint == 0 {
				r.checkpoints = append(r.checkpoints, i)
			}
		default:
			return nil, fmt.Errorf("base64: %q at %d is not base64", c, i)
		}
		n++
	}
	if n%4 != 0 {
		return nil, fmt.Errorf("base64: %d characters is not a multiple of 4", n)
	}
	r.groups = n / 4
	r.size = int64(r.groups)*3 - int64(pad)
	return r, nil
}

// Size is the decoded length.
func (r *Base64Reader) Size() int64 { return r.size }

// ReadAt decodes the bytes at off.
func (r *Base64Reader) ReadAt(p []byte, off int64) (int, error) {
	if off < 0 {
		return 0, errors.New("base64: negative offset")
	}
	if off >= r.size {
		return 0, io.EOF
	}
	g := int(off / 3)
	skip := int(off % 3)
	cp := g / groupsPerCheckpoint
	pos := r.checkpoints[cp]
	// Walk to group g from its checkpoint.
	for k := cp * groupsPerCheckpoint * 4; k < g*4; pos++ {
		if b64[r.text[pos]] >= 0 || r.text[pos] == '=' {
			k++
		}
	}
	n := 0
	var quad [4]byte
	for n < len(p) && int64(g) < int64(r.groups) {
		q := 0
		for q < 4 {
			c := r.text[pos]
			pos++
			if c == ' ' || c == '\t' || c == '\r' || c == '\n' {
				continue
			}
			quad[q] = c
			q++
		}
		v := uint32(b64val(quad[0]))<<18 | uint32(b64val(quad[1]))<<12 | uint32(b64val(quad[2]))<<6 | uint32(b64val(quad[3]))
		out := [3]byte{byte(v >> 16), byte(v >> 8), byte(v)}
		valid := 3
		if quad[3] == '=' {
			valid = 2
			if quad[2] == '=' {
				valid = 1
			}
		}
		for i := skip; i < valid && n < len(p); i++ {
			p[n] = out[i]
			n++
		}
		skip = 0
		g++
	}
	if n < len(p) {
		return n, io.EOF
	}
	return n, nil
}

func b64val(c byte) byte {
	if c == '=' {
		return 0
	}
	return byte(b64[c])
}

// OpenAttachment opens a file as an attachment, read in place (the offline
// check reads files from disk the way the gateway reads base64 in memory).
// Close the returned file when done.
func OpenAttachment(path, declaredMIME string) (Attachment, io.Closer, error) {
	f, err := os.Open(path)
	if err != nil {
		return Attachment{}, nil, err
	}
	st, err := f.Stat()
	if err != nil || !st.Mode().IsRegular() {
		f.Close()
		if err == nil {
			err = fmt.Errorf("%s is not a regular file", path)
		}
		return Attachment{}, nil, err
	}
	return Attachment{Name: filepath.Base(path), DeclaredMIME: declaredMIME, Size: st.Size(), Content: f}, f, nil
}
