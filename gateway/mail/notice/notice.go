// Package notice composes the administration's outgoing mail, signed
// S/MIME: the receipt sent on registration and the refusal, both in
// Cyrillic and Latin with the received message attached (the agency's
// rules, section VIII), and official documents sent by e-mail.
package notice

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/emersion/go-message"
	"github.com/emersion/go-message/mail"
	"github.com/seosgw/seosgw/gateway/acceptance"
	"github.com/seosgw/seosgw/gateway/blob"
	"github.com/seosgw/seosgw/gateway/mail/mailq"
	"github.com/seosgw/seosgw/gateway/mail/smime"
	"github.com/seosgw/seosgw/gateway/translit"
)

// Kinds of outgoing mail, as the queue records them.
const (
	KindReceipt  = "receipt"
	KindRefusal  = "refusal"
	KindDocument = "document"
)

// Composer builds signed outgoing mail from the official address.
type Composer struct {
	Signer *smime.Signer
	From   *mail.Address // the official address and the administration's name
	Now    func() time.Time
	// Files is where a large mail (a document's, or a notice with a large
	// received mail attached) is written as it is signed (Message.BodyFile),
	// its files streamed in; nil: in memory.
	Files *blob.Store
}

// bodyInline is the largest mail kept in its queue row.
const bodyInline = blob.InlineMessage

// Original is the received mail a notice answers.
type Original struct {
	To         string // where the notice goes: the sender's address (mailmsg.Mail.ReplyAddress)
	Subject    string
	MessageID  string // without angle brackets; "" when it had none
	ReceivedAt time.Time
	Raw        io.ReaderAt // the .eml exactly as received; nil when it is no longer kept
	RawSize    int64
}

// Attachment is a file of an outgoing document.
type Attachment struct {
	Name      string
	MediaType string // application/octet-stream when empty
	Content   io.Reader
}

// Receipt is the confirmation of receipt for a registered mail, with the
// received message attached. ok is false when the sender declined it.
func (c *Composer) Receipt(o Original, v *acceptance.Verdict, r acceptance.Registration) (msg *mailq.Message, ok bool, err error) {
	text, ok := v.Receipt(r)
	if !ok {
		return nil, false, nil
	}
	subject := bilingual("Потвърждение за получаване", fmt.Sprintf("рег. № %s", r.Number))
	msg, err = c.reply(KindReceipt, o, subject, text)
	return msg, err == nil, err
}

// Refusal tells the sender that the mail was not registered and why;
// reason is the bilingual text of acceptance.Verdict.RejectionReason, or
// Cyrillic alone (the Latin transliteration is then added).
func (c *Composer) Refusal(o Original, reason string) (*mailq.Message, error) {
	if strings.TrimSpace(reason) == "" {
		return nil, errors.New("notice: a refusal needs its reasons")
	}
	if !strings.Contains(reason, "\n") {
		reason += "\n" + translit.String(reason)
	}
	subject := bilingual("Отказ от регистрация", "")
	return c.reply(KindRefusal, o, subject, reason)
}

// Document is an official document sent by e-mail: text and files. The
// files are read once, as the signed mail is written (to Files when
// large): neither they nor the mail are held whole.
func (c *Composer) Document(to string, subject, text string, atts []Attachment) (*mailq.Message, error) {
	var h mail.Header
	h.SetSubject(subject)
	return c.sign(KindDocument, to, h, c.Files, func(w io.Writer) error {
		return c.entity(w, text, func(w *message.Writer) error {
			for _, a := range atts {
				if err := attach(w, a); err != nil {
					return err
				}
			}
			return nil
		})
	})
}

func (c *Composer) reply(kind string, o Original, subject, body string) (*mailq.Message, error) {
	if o.To == "" {
		return nil, errors.New("notice: the received mail names no address to answer")
	}
	var h mail.Header
	if o.Subject != "" {
		subject += ": " + o.Subject
	}
	h.SetSubject(subject)
	if o.MessageID != "" {
		h.SetMsgIDList("In-Reply-To", []string{o.MessageID})
		h.SetMsgIDList("References", []string{o.MessageID})
	}
	// RFC 3834: an automatic answer, so that responders do not answer it.
	h.Set("Auto-Submitted", "auto-replied")
	files := func(w *message.Writer) error { return attachOriginal(w, o) }
	note := "Полученото съобщение е приложено."
	if o.Raw == nil {
		// The message log kept it for database.message_log_retention only.
		files = func(*message.Writer) error { return nil }
		note = "Полученото съобщение не е приложено: срокът за съхраняването му е изтекъл."
	}
	// Into Files when large, the received mail streamed in: the queue's
	// row names the file, which keeps it from the sweep (mailq.FileRefs).
	return c.sign(kind, o.To, h, c.Files, func(w io.Writer) error { return c.entity(w, body+"\n\n"+bilingualLine(note), files) })
}

// entity writes the signed part: multipart/mixed with the text in UTF-8
// quoted-printable and the files in base64, all 7-bit.
func (c *Composer) entity(out io.Writer, text string, files func(*message.Writer) error) error {
	var h message.Header
	h.SetContentType("multipart/mixed", nil)
	w, err := message.CreateWriter(out, h)
	if err != nil {
		return err
	}
	var th message.Header
	th.SetContentType("text/plain", map[string]string{"charset": "utf-8"})
	th.Set("Content-Transfer-Encoding", "quoted-printable")
	tw, err := w.CreatePart(th)
	if err != nil {
		return err
	}
	if _, err := io.WriteString(tw, strings.ReplaceAll(text, "\n", "\r\n")+"\r\n"); err != nil {
		return err
	}
	if err := tw.Close(); err != nil {
		return err
	}
	if err := files(w); err != nil {
		return err
	}
	return w.Close()
}

func attach(w *message.Writer, a Attachment) error {
	mt := a.MediaType
	if mt == "" {
		mt = "application/octet-stream"
	}
	var h message.Header
	h.SetContentType(mt, map[string]string{"name": a.Name})
	h.SetContentDisposition("attachment", map[string]string{"filename": a.Name})
	h.Set("Content-Transfer-Encoding", "base64")
	pw, err := w.CreatePart(h)
	if err != nil {
		return err
	}
	if _, err := io.Copy(pw, a.Content); err != nil {
		return fmt.Errorf("notice: attachment %q: %w", a.Name, err)
	}
	return pw.Close()
}

// attachOriginal attaches the received message: as message/rfc822 when it
// can travel as 7-bit text unchanged, else as a base64 .eml file, so that
// it arrives byte for byte either way.
func attachOriginal(w *message.Writer, o Original) error {
	if sevenBitCanonical(io.NewSectionReader(o.Raw, 0, o.RawSize)) {
		var h message.Header
		h.SetContentType("message/rfc822", nil)
		h.SetContentDisposition("attachment", map[string]string{"filename": "received-message.eml"})
		pw, err := w.CreatePart(h)
		if err != nil {
			return err
		}
		if _, err := io.Copy(pw, io.NewSectionReader(o.Raw, 0, o.RawSize)); err != nil {
			return err
		}
		return pw.Close()
	}
	return attach(w, Attachment{Name: "received-message.eml", MediaType: "application/octet-stream", Content: io.NewSectionReader(o.Raw, 0, o.RawSize)})
}

// sevenBitCanonical: 7-bit, CRLF line ends, lines of at most 998 octets.
func sevenBitCanonical(r io.Reader) bool {
	buf := make([]byte, 32<<10)
	prevCR, line := false, 0
	for {
		n, err := r.Read(buf)
		for _, c := range buf[:n] {
			switch {
			case c >= 0x80 || c == 0:
				return false
			case c == '\n':
				if !prevCR {
					return false
				}
				line = 0
			default:
				line++
				if line > 999 {
					return false
				}
			}
			prevCR = c == '\r'
		}
		if err == io.EOF {
			return true
		}
		if err != nil {
			return false
		}
	}
}

// sign puts the outer header on the entity that write writes and signs
// it, in one pass: into files when the mail is large (nil: in memory).
func (c *Composer) sign(kind, to string, h mail.Header, files *blob.Store, write func(io.Writer) error) (*mailq.Message, error) {
	if _, err := mail.ParseAddress(to); err != nil {
		return nil, fmt.Errorf("notice: recipient %q: %w", to, err)
	}
	now := c.Now()
	h.SetAddressList("From", []*mail.Address{c.From})
	h.SetAddressList("To", []*mail.Address{{Address: to}})
	h.SetDate(now)
	id, err := c.messageID(now)
	if err != nil {
		return nil, err
	}
	h.SetMessageID(id)
	sp := files.NewSpill(bodyInline)
	if err := c.Signer.Stream(sp, h.Header.Header, write); err != nil {
		sp.Discard()
		return nil, err
	}
	k, err := sp.Keep()
	if err != nil {
		return nil, err
	}
	return &mailq.Message{Kind: kind, From: c.From.Address, To: to, MessageID: id, Body: k.Data, BodyFile: k.Ref, Size: k.Size}, nil
}

func (c *Composer) messageID(now time.Time) (string, error) {
	var r [12]byte
	if _, err := rand.Read(r[:]); err != nil {
		return "", err
	}
	domain := "seosgw.invalid"
	if at := strings.LastIndexByte(c.From.Address, '@'); at >= 0 {
		domain = c.From.Address[at+1:]
	}
	return fmt.Sprintf("%d.%s@%s", now.Unix(), hex.EncodeToString(r[:]), domain), nil
}

// bilingual is a subject in Cyrillic and Latin: "Отказ / Otkaz".
func bilingual(bg, extra string) string {
	if extra != "" {
		bg += " (" + extra + ")"
	}
	return bg + " / " + translit.String(bg)
}

func bilingualLine(bg string) string { return bg + "\n" + translit.String(bg) }
