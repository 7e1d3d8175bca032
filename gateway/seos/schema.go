package seos

// The SEOS message schema (EGovMessaging.xsd with the DocumentURI segment and
// the W3C XML-DSig schema it references) written out as Go declarations, so
// that messages are checked without a schema processor at run time. The
// differential tests hold this to xmllint on the project's schemas/.

// Namespaces of the SEOS message.
const (
	NS      = "http://schemas.egov.bg/messaging/v1"
	NSURI   = "http://ereg.egov.bg/segment/0009-000001"
	NSDSig  = "http://www.w3.org/2000/09/xmldsig#"
	nsXSI   = "http://www.w3.org/2001/XMLSchema-instance"
	nsXMLNS = "xmlns"
)

// simpleKind is the lexical rule for text content.
type simpleKind int

const (
	sString simpleKind = iota
	sGUID
	sDate
	sDateTime
	sInteger
	sPositiveInteger
	sBigInteger
	sBase64
	sAnyURI
	sID
	sEnum
)

type simpleType struct {
	kind   simpleKind
	values []string // sEnum
}

var (
	tString   = &simpleType{kind: sString}
	tGUID     = &simpleType{kind: sGUID}
	tDate     = &simpleType{kind: sDate}
	tDateTime = &simpleType{kind: sDateTime}
	tInteger  = &simpleType{kind: sInteger}
	tPosInt   = &simpleType{kind: sPositiveInteger}
	// tBigInt is xsd:integer without libxml2's 24-digit limit: certificate
	// serials in X509SerialNumber run to 48 decimal digits, and refusing
	// them would refuse what .NET peers sign.
	tBigInt = &simpleType{kind: sBigInteger}
	tBase64 = &simpleType{kind: sBase64}
	tAnyURI = &simpleType{kind: sAnyURI}
	tID     = &simpleType{kind: sID}
)

func enum(values ...string) *simpleType { return &simpleType{kind: sEnum, values: values} }

type attrDecl struct {
	name     string // unqualified (attributeFormDefault unqualified everywhere here)
	typ      *simpleType
	required bool
}

// element is an element declaration. Exactly one of simple, content or any
// describes its content; attrs lists its attributes.
type element struct {
	ns, name string
	simple   *simpleType // simple content (possibly with attributes)
	content  *particle   // element content; nil with simple == nil means empty
	mixed    bool        // text allowed between child elements
	anyType  bool        // xsd:anyType: anything, children assessed laxly
	attrs    []attrDecl
	anyAttr  bool // lax attribute wildcard
}

type particleKind int

const (
	pElement particleKind = iota
	pSequence
	pChoice
	pAny
)

// wildcard namespace constraints
const (
	anyNS   = "##any"
	otherNS = "##other"
)

type particle struct {
	kind     particleKind
	elem     *element
	items    []*particle
	min, max int // max < 0: unbounded
	anyNS    string
	anyOwner string // target namespace for ##other
	strict   bool   // processContents="strict" on a wildcard
}

const unbounded = -1

func el(e *element) *particle { return &particle{kind: pElement, elem: e, min: 1, max: 1} }
func seq(items ...*particle) *particle {
	return &particle{kind: pSequence, items: items, min: 1, max: 1}
}
func choice(items ...*particle) *particle {
	return &particle{kind: pChoice, items: items, min: 1, max: 1}
}
func (p *particle) occurs(min, max int) *particle { p.min, p.max = min, max; return p }
func (p *particle) opt() *particle                { return p.occurs(0, 1) }
func (p *particle) many() *particle               { return p.occurs(1, unbounded) }
func (p *particle) anyCount() *particle           { return p.occurs(0, unbounded) }

func wildcard(ns, owner string, strict bool) *particle {
	return &particle{kind: pAny, anyNS: ns, anyOwner: owner, strict: strict, min: 1, max: 1}
}

func str(ns, name string) *element { return &element{ns: ns, name: name, simple: tString} }
func typed(ns, name string, t *simpleType) *element {
	return &element{ns: ns, name: name, simple: t}
}
func complexEl(ns, name string, content *particle) *element {
	return &element{ns: ns, name: name, content: content}
}

// Enumerations of the message schema.
var (
	messageTypes = []string{string(TypeRegistrationRequest), string(TypeStatusResponse), string(TypeStatusRequest), string(TypeError)}
	docStatuses  = []string{string(StatusWaitRegistration), string(StatusRegistered), string(StatusStopped), string(StatusClosed), string(StatusNotFound), string(StatusAlreadyReceived), string(StatusRejected)}
	corrKinds    = []string{string(CorrApplicant), string(CorrOther)}
	errorKinds   = []string{string(ErrInternal), string(ErrExternal)}
)

// messageDecl is the root Message element; globals are the top-level
// elements a lax wildcard may meet (Message itself and XML-DSig's).
var (
	messageDecl *element
	globals     map[[2]string]*element
	// attachmentListDecl is the one declaration with a tolerated quirk.
	attachmentListDecl *element
)

func init() {
	d := dsigDecls()
	entity := func(name string) *element {
		return complexEl(NS, name, seq(el(str(NS, "Identifier")), el(str(NS, "AdministrativeBodyName")), el(typed(NS, "GUID", tGUID))))
	}
	docURI := complexEl(NS, "DocumentURI", seq(
		el(typed(NSURI, "RegisterIndex", tPosInt)).opt(),
		el(typed(NSURI, "SequenceNumber", tPosInt)).opt(),
		el(typed(NSURI, "ReceiptOrSigningDate", tDate)).opt(),
	))
	docID := func(name string) *element {
		return complexEl(NS, name, seq(
			choice(
				el(complexEl(NS, "DocumentNumber", seq(el(str(NS, "DocNumber")), el(typed(NS, "DocDate", tDate))))),
				el(docURI),
			).opt(),
			el(typed(NS, "DocumentGUID", tGUID)),
		))
	}
	addData := &element{ns: NS, name: "DocAddData", anyType: true, mixed: true, anyAttr: true}
	optStr := func(name string) *particle { return el(str(NS, name)).opt() }
	correspondent := complexEl(NS, "Corespondent", seq(
		el(str(NS, "CorName")), el(str(NS, "CorCity")),
		optStr("CorAddress"), optStr("CorEGN"), optStr("CorIDCard"), optStr("CorBULSTAT"),
		optStr("CorEMail"), optStr("CorPhone"), optStr("CorMobilePhone"), optStr("CorMOL"),
		optStr("CorComment"), el(typed(NS, "CorKind", enum(corrKinds...))).opt(),
	))
	attachment := complexEl(NS, "Attachment", seq(
		el(str(NS, "AttFileName")), el(typed(NS, "AttBody", tBase64)),
		optStr("AttComment"), el(str(NS, "AttMIMEType")),
	))
	attachmentListDecl = complexEl(NS, "DocAttachmentList", seq(el(attachment).many()))
	document := complexEl(NS, "Document", seq(
		el(docID("DocID")),
		el(docID("DocParentID")).opt(),
		el(str(NS, "DocKind")),
		el(complexEl(NS, "DocCorrespondentList", seq(el(correspondent).many()))).opt(),
		el(attachmentListDecl).opt(),
		optStr("DocAbout"),
		el(complexEl(NS, "DocService", seq(el(str(NS, "ServiceName")), el(str(NS, "ServiceType")), el(str(NS, "ServiceCode"))))).opt(),
		optStr("DocComment"),
		el(addData).opt(),
		el(typed(NS, "DocReqDateClose", tDate)).opt(),
		optStr("DocAttentionTo"),
		el(d["Signature"]).opt(),
	))
	body := complexEl(NS, "Body", choice(
		el(complexEl(NS, "DocumentRegistrationRequest", seq(el(document), el(str(NS, "Comment"))))),
		el(complexEl(NS, "DocumentStatusRequest", seq(el(docID("DocID"))))),
		el(complexEl(NS, "DocumentStatusResponse", seq(
			el(docID("DocID")),
			el(typed(NS, "DocRegStatus", enum(docStatuses...))),
			optStr("RejectionReason"),
			el(typed(NS, "DocExpectCloseDate", tDate)).opt(),
			el(addData).opt(),
		))),
		el(complexEl(NS, "Error", seq(
			el(typed(NS, "MessageGUID", tGUID)).opt(),
			el(typed(NS, "ErrorType", enum(errorKinds...))),
			el(str(NS, "ErrorDescription")),
		))),
	))
	header := complexEl(NS, "Header", seq(
		el(str(NS, "Version")),
		el(typed(NS, "MessageType", enum(messageTypes...))),
		el(typed(NS, "MessageDate", tDateTime)),
		el(entity("Sender")),
		el(entity("Recipient")),
		el(typed(NS, "MessageGUID", tGUID)),
	))
	messageDecl = complexEl(NS, "Message", seq(el(header), el(body), el(d["Signature"]).opt()))

	globals = map[[2]string]*element{{NS, "Message"}: messageDecl}
	for name, e := range d {
		if e.ns == NSDSig && isDSigGlobal[name] {
			globals[[2]string{NSDSig, name}] = e
		}
	}
}

var isDSigGlobal = map[string]bool{
	"Signature": true, "SignatureValue": true, "SignedInfo": true, "CanonicalizationMethod": true,
	"SignatureMethod": true, "Reference": true, "Transforms": true, "Transform": true,
	"DigestMethod": true, "DigestValue": true, "KeyInfo": true, "KeyName": true, "MgmtData": true,
	"KeyValue": true, "RetrievalMethod": true, "X509Data": true, "PGPData": true, "SPKIData": true,
	"Object": true, "Manifest": true, "SignatureProperties": true, "SignatureProperty": true,
	"DSAKeyValue": true, "RSAKeyValue": true,
}

// dsigDecls declares the W3C XML-DSig core schema (2002) by element name.
func dsigDecls() map[string]*element {
	ds := func(name string) *element { return &element{ns: NSDSig, name: name} }
	d := map[string]*element{}
	for name := range isDSigGlobal {
		d[name] = ds(name)
	}
	other := func() *particle { return wildcard(otherNS, NSDSig, false) }
	idAttr := attrDecl{name: "Id", typ: tID}
	algo := attrDecl{name: "Algorithm", typ: tAnyURI, required: true}
	cryptoBinary := func(name string) *particle { return el(typed(NSDSig, name, tBase64)) }

	set := func(name string, content *particle, mixed bool, attrs ...attrDecl) {
		e := d[name]
		e.content, e.mixed, e.attrs = content, mixed, attrs
	}
	set("Signature", seq(el(d["SignedInfo"]), el(d["SignatureValue"]), el(d["KeyInfo"]).opt(), el(d["Object"]).anyCount()), false, idAttr)
	d["SignatureValue"].simple, d["SignatureValue"].attrs = tBase64, []attrDecl{idAttr}
	set("SignedInfo", seq(el(d["CanonicalizationMethod"]), el(d["SignatureMethod"]), el(d["Reference"]).many()), false, idAttr)
	set("CanonicalizationMethod", seq(wildcard(anyNS, NSDSig, true).anyCount()), true, algo)
	set("SignatureMethod", seq(el(typed(NSDSig, "HMACOutputLength", tInteger)).opt(), wildcard(otherNS, NSDSig, true).anyCount()), true, algo)
	set("Reference", seq(el(d["Transforms"]).opt(), el(d["DigestMethod"]), el(d["DigestValue"])), false,
		idAttr, attrDecl{name: "URI", typ: tAnyURI}, attrDecl{name: "Type", typ: tAnyURI})
	set("Transforms", seq(el(d["Transform"]).many()), false)
	set("Transform", choice(other(), el(str(NSDSig, "XPath"))).anyCount(), true, algo)
	set("DigestMethod", seq(other().anyCount()), true, algo)
	d["DigestValue"].simple = tBase64
	set("KeyInfo", choice(el(d["KeyName"]), el(d["KeyValue"]), el(d["RetrievalMethod"]), el(d["X509Data"]),
		el(d["PGPData"]), el(d["SPKIData"]), el(d["MgmtData"]), other()).many(), true, idAttr)
	d["KeyName"].simple = tString
	d["MgmtData"].simple = tString
	set("KeyValue", choice(el(d["DSAKeyValue"]), el(d["RSAKeyValue"]), other()), true)
	set("RetrievalMethod", seq(el(d["Transforms"]).opt()), false, attrDecl{name: "URI", typ: tAnyURI}, attrDecl{name: "Type", typ: tAnyURI})
	set("X509Data", seq(choice(
		el(complexEl(NSDSig, "X509IssuerSerial", seq(el(str(NSDSig, "X509IssuerName")), el(typed(NSDSig, "X509SerialNumber", tBigInt))))),
		cryptoBinary("X509SKI"), el(str(NSDSig, "X509SubjectName")), cryptoBinary("X509Certificate"), cryptoBinary("X509CRL"), other(),
	)).many(), false)
	set("PGPData", choice(
		seq(cryptoBinary("PGPKeyID"), cryptoBinary("PGPKeyPacket").opt(), other().anyCount()),
		seq(cryptoBinary("PGPKeyPacket"), other().anyCount()),
	), false)
	set("SPKIData", seq(cryptoBinary("SPKISexp"), other().opt()).many(), false)
	set("Object", seq(wildcard(anyNS, NSDSig, false)).anyCount(), true, idAttr,
		attrDecl{name: "MimeType", typ: tString}, attrDecl{name: "Encoding", typ: tAnyURI})
	set("Manifest", seq(el(d["Reference"]).many()), false, idAttr)
	set("SignatureProperties", seq(el(d["SignatureProperty"]).many()), false, idAttr)
	set("SignatureProperty", choice(other()).many(), true, attrDecl{name: "Target", typ: tAnyURI, required: true}, idAttr)
	set("DSAKeyValue", seq(
		seq(cryptoBinary("P"), cryptoBinary("Q")).opt(), cryptoBinary("G").opt(), cryptoBinary("Y"),
		cryptoBinary("J").opt(), seq(cryptoBinary("Seed"), cryptoBinary("PgenCounter")).opt(),
	), false)
	set("RSAKeyValue", seq(cryptoBinary("Modulus"), cryptoBinary("Exponent")), false)
	return d
}
