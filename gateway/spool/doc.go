// Package spool is the folder interface for an AIS that can only write
// files: it takes the documents and receipts the AIS drops, and writes the
// documents other participants send as folders the AIS reads.
//
// The contract, in short (README.md has it in full):
//
//   - outbox/NAME.json (the API's Outgoing; an attachment may name a "file"
//     inside outbox/ instead of base64 "content") or outbox/NAME.xml (legacy
//     XML, translated by the mapping file). Write the attachment files
//     first, then NAME.json.tmp, and rename it to NAME.json. Only names
//     ending in .json or .xml are drops, and only once two scans in a row
//     see them unchanged.
//   - A drop is claimed by renaming it into work/outbox/ (taken once), then
//     queued under the idempotency key "spool:" + NAME + a hash of its
//     content and its files' content, then moved, with its files, to
//     done/ID_NAME. A claim a crash left in work/ is finished by the next
//     scan; one already queued only moves.
//   - A drop the AIS must fix moves to failed/NAME beside failed/NAME.error
//     (written first): code, field, error.
//   - receipts/NAME.json {"inboxId" | "senderGuid"+"documentGuid", "action":
//     register|reject|close|stop, ...} moves the received document along
//     and queues the status to its sender; then done/receipts/ or
//     failed/receipts/.
//   - inbox/ID/ (document.json and the attachments under safe names) is
//     written once per received document, whole, by a rename; the marker
//     state/written/ID keeps a folder the AIS took from coming back.
package spool
