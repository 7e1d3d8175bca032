// Package testregister is a participant register for test environments:
// DAEU's register as a SOAP service speaking exactly the real one's
// rpc/encoded dialect (register/daeu), the admin operations behind
// `seosgw register admin`, and the joining cases of PROTOCOL.md §7 with
// their 14-working-day test deadline. Its data is its own SQLite file.
//
// Activation rule: a participant goes from Inactive to Active only through
// Activate (`admin activate`), which wants a passing verdict on its open
// joining case unless forced. SetStatus, Add and Import refuse to make Active
// a participant that is Inactive or has an open joining case, so none of
// them is a back door; TemporarilyInactive → Active (the end of a
// suspension) stays a plain status change.
package testregister
