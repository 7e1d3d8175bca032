package spool

import (
	"bytes"
	"fmt"
	"strings"

	"github.com/seosgw/seosgw/gateway/ais"
	"github.com/seosgw/seosgw/gateway/inbox"
	"github.com/seosgw/seosgw/gateway/seos"
)

// Receipt is what the AIS did with a received document: it registered,
// rejected, closed or stopped it. It names the document by its inbox id
// (document.json's "id"), or by the sender's GUID and the DocumentGUID.
type Receipt struct {
	InboxID         int64    `json:"inboxId,omitempty"`
	SenderGUID      string   `json:"senderGuid,omitempty"`
	DocumentGUID    string   `json:"documentGuid,omitempty"`
	Action          string   `json:"action"` // register, reject, close, stop
	Number          string   `json:"number,omitempty"`
	Date            string   `json:"date,omitempty"` // YYYY-MM-DD
	URI             *ais.URI `json:"uri,omitempty"`
	ExpectCloseDate string   `json:"expectCloseDate,omitempty"`
	Reason          string   `json:"reason,omitempty"`
}

// receipt actions and the state each leads to.
var actions = map[string]inbox.State{"register": inbox.Registered, "reject": inbox.Rejected, "close": inbox.Closed, "stop": inbox.Stopped}

func bad(field, format string, args ...any) *ais.Error {
	return &ais.Error{Code: "invalid_request", Status: 400, Field: field, Msg: fmt.Sprintf(format, args...)}
}

// ParseReceipt reads a receipt strictly: unknown fields and fields the
// action does not take are refused, naming them.
func ParseReceipt(b []byte) (*Receipt, error) {
	var r Receipt
	if err := ais.DecodeJSON(bytes.NewReader(b), &r, false); err != nil {
		return nil, err
	}
	r.Action = strings.TrimSpace(r.Action)
	if _, ok := actions[r.Action]; !ok {
		return nil, bad("action", "%q; use register, reject, close or stop", r.Action)
	}
	switch {
	case r.InboxID < 0:
		return nil, bad("inboxId", "must be the document's id from its document.json")
	case r.InboxID > 0 && (r.SenderGUID != "" || r.DocumentGUID != ""):
		return nil, bad("inboxId", "name the document by inboxId, or by senderGuid and documentGuid, not both")
	case r.InboxID == 0 && r.SenderGUID == "" && r.DocumentGUID == "":
		return nil, bad("inboxId", "required: the document's id, or senderGuid and documentGuid")
	case r.InboxID == 0 && !seos.IsGUID(r.SenderGUID):
		return nil, bad("senderGuid", "%q is not a GUID in braces", r.SenderGUID)
	case r.InboxID == 0 && !seos.IsGUID(r.DocumentGUID):
		return nil, bad("documentGuid", "%q is not a GUID in braces", r.DocumentGUID)
	}
	if r.Action != "register" {
		for field, v := range map[string]bool{"number": r.Number != "", "date": r.Date != "", "uri": r.URI != nil, "expectCloseDate": r.ExpectCloseDate != ""} {
			if v {
				return nil, bad(field, "only a register receipt takes it")
			}
		}
	}
	if r.Action != "reject" && r.Reason != "" {
		return nil, bad("reason", "only a reject receipt takes it")
	}
	return &r, nil
}

// registration is the receipt as the service takes it.
func (r *Receipt) registration() *ais.Registration {
	reg := &ais.Registration{URI: r.URI, ExpectCloseDate: r.ExpectCloseDate}
	if r.Number != "" || r.Date != "" {
		reg.Number = &ais.Number{Number: r.Number, Date: r.Date}
	}
	return reg
}

// receiptField renames the service's fields to the receipt's.
func receiptField(f string) string {
	switch f {
	case "number.number":
		return "number"
	case "number.date":
		return "date"
	}
	return f
}
