// Package clamav talks to ClamAV's daemon (clamd) over its socket: INSTREAM
// to scan a stream without writing it to disk, PING for readiness.
package clamav

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"time"
)

// Client scans streams with one clamd. The zero value is not usable; use New.
type Client struct {
	network, address string
	timeout          time.Duration
	maxBytes         int64
}

// New returns a client for addr: "unix:/run/clamav/clamd.ctl",
// "tcp:127.0.0.1:3310", or a bare path (unix) or host:port (tcp).
// timeout bounds one scan; maxBytes bounds what is sent (clamd's own
// StreamMaxLength must be at least as large, or it refuses the stream).
func New(addr string, timeout time.Duration, maxBytes int64) (*Client, error) {
	network, address, err := ParseAddress(addr)
	if err != nil {
		return nil, err
	}
	if timeout <= 0 || maxBytes <= 0 {
		return nil, errors.New("clamav: timeout and size limit must be positive")
	}
	return &Client{network: network, address: address, timeout: timeout, maxBytes: maxBytes}, nil
}

// ParseAddress splits a clamd address into a network and an address.
func ParseAddress(addr string) (network, address string, err error) {
	switch {
	case strings.HasPrefix(addr, "unix:"):
		network, address = "unix", strings.TrimPrefix(addr, "unix:")
	case strings.HasPrefix(addr, "tcp:"):
		network, address = "tcp", strings.TrimPrefix(addr, "tcp:")
	case strings.HasPrefix(addr, "/"):
		network, address = "unix", addr
	default:
		network, address = "tcp", addr
	}
	if network == "tcp" {
		if _, _, err := net.SplitHostPort(address); err != nil {
			return "", "", fmt.Errorf("clamav address %q: want unix:/path/clamd.ctl or tcp:host:port", addr)
		}
	}
	if address == "" {
		return "", "", fmt.Errorf("clamav address %q: empty socket path", addr)
	}
	return network, address, nil
}

// Result is clamd's answer for one stream.
type Result struct {
	Infected  bool
	Signature string // the signature name when infected
}

// ErrTooLarge is a stream longer than a size limit — ours (virus.max_size)
// or clamd's StreamMaxLength: it was not scanned completely, so its result
// is unknown. It is a verdict about the file: the scanner is up.
var ErrTooLarge = errors.New("clamav: stream larger than the scan size limit")

// ErrUnavailable is a scanner that could not be reached or did not answer
// (dial, I/O, timeout): the only errors that mean the scanner is down.
var ErrUnavailable = errors.New("clamav: scanner unavailable")

// TooLargeError is ErrTooLarge naming the limit that refused the stream.
type TooLargeError struct {
	Limit int64 // bytes; 0 when clamd's, whose value it does not say
	// Clamd: clamd's StreamMaxLength refused it, not our own limit.
	Clamd bool
}

func (e *TooLargeError) Error() string {
	if e.Clamd {
		return "clamav: clamd refused the stream: longer than its StreamMaxLength (clamd.conf), which is under virus.max_size: raise StreamMaxLength to at least virus.max_size"
	}
	return fmt.Sprintf("clamav: stream longer than virus.max_size (%d bytes): not scanned", e.Limit)
}

// Is makes a TooLargeError match ErrTooLarge.
func (e *TooLargeError) Is(target error) bool { return target == ErrTooLarge }

// chunk is the INSTREAM chunk size: big enough to keep syscalls few, small
// enough to keep memory flat.
const chunk = 64 << 10

// Scan sends r to clamd with INSTREAM and reads the verdict. An error means
// the stream was not scanned — the caller must not treat it as clean —
// and says why: ErrUnavailable (scanner unreachable, I/O, timeout),
// ErrTooLarge (a *TooLargeError: the file is over our limit or clamd's),
// or clamd's own refusal of this stream.
func (c *Client) Scan(ctx context.Context, r io.Reader) (Result, error) {
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	conn, err := c.dial(ctx)
	if err != nil {
		return Result{}, err
	}
	defer conn.Close()
	stop := context.AfterFunc(ctx, func() { conn.SetDeadline(time.Unix(1, 0)) })
	defer stop()

	w := bufio.NewWriterSize(conn, chunk+4)
	if _, err := w.WriteString("zINSTREAM\x00"); err != nil {
		return Result{}, c.wrap(ctx, err)
	}
	buf := make([]byte, chunk)
	var sent int64
	for {
		n, rerr := io.ReadFull(r, buf)
		if n > 0 {
			if sent += int64(n); sent > c.maxBytes {
				return Result{}, &TooLargeError{Limit: c.maxBytes}
			}
			var hdr [4]byte
			binary.BigEndian.PutUint32(hdr[:], uint32(n))
			w.Write(hdr[:])
			if _, err := w.Write(buf[:n]); err != nil {
				return c.answerAfter(ctx, conn, err)
			}
		}
		if rerr == io.EOF || rerr == io.ErrUnexpectedEOF {
			break
		}
		if rerr != nil {
			return Result{}, fmt.Errorf("clamav: read the stream to scan: %w", rerr)
		}
	}
	w.Write([]byte{0, 0, 0, 0})
	if err := w.Flush(); err != nil {
		return c.answerAfter(ctx, conn, err)
	}
	reply, err := readReply(conn)
	if err != nil {
		return Result{}, c.wrap(ctx, err)
	}
	return ParseReply(reply)
}

// answerAfter reads what clamd said before a write failed: on a stream over
// its StreamMaxLength clamd answers "INSTREAM size limit exceeded" and
// closes, so the rest of the stream meets a closed socket. Only when there
// is no answer is the failure the scanner's.
func (c *Client) answerAfter(ctx context.Context, conn net.Conn, werr error) (Result, error) {
	if ctx.Err() == nil {
		conn.SetReadDeadline(time.Now().Add(2 * time.Second))
		if reply, err := readReply(conn); err == nil && reply != "" {
			return ParseReply(reply)
		}
	}
	return Result{}, c.wrap(ctx, werr)
}

// ParseReply reads an INSTREAM answer: "stream: OK", "stream: NAME FOUND"
// or "... ERROR".
func ParseReply(reply string) (Result, error) {
	reply = strings.TrimSpace(reply)
	body, ok := strings.CutPrefix(reply, "stream: ")
	switch {
	case ok && body == "OK":
		return Result{}, nil
	case ok && strings.HasSuffix(body, " FOUND"):
		sig := strings.TrimSpace(strings.TrimSuffix(body, " FOUND"))
		if sig == "" {
			return Result{}, fmt.Errorf("clamav: reply %q names no signature", reply)
		}
		return Result{Infected: true, Signature: sig}, nil
	case strings.Contains(reply, "size limit exceeded"):
		return Result{}, &TooLargeError{Clamd: true}
	case strings.HasSuffix(reply, "ERROR"):
		return Result{}, fmt.Errorf("clamav: clamd refused the scan: %s", reply)
	}
	return Result{}, fmt.Errorf("clamav: unexpected reply %q", reply)
}

// Ping asks clamd whether it is alive (PING → PONG).
func (c *Client) Ping(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, min(c.timeout, 10*time.Second))
	defer cancel()
	conn, err := c.dial(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	if d, ok := ctx.Deadline(); ok {
		conn.SetDeadline(d)
	}
	if _, err := conn.Write([]byte("zPING\x00")); err != nil {
		return c.wrap(ctx, err)
	}
	reply, err := readReply(conn)
	if err != nil {
		return c.wrap(ctx, err)
	}
	if reply != "PONG" {
		return fmt.Errorf("clamav: PING answered %q", reply)
	}
	return nil
}

func (c *Client) dial(ctx context.Context) (net.Conn, error) {
	var d net.Dialer
	conn, err := d.DialContext(ctx, c.network, c.address)
	if err != nil {
		return nil, fmt.Errorf("%w: unreachable at %s:%s: %w", ErrUnavailable, c.network, c.address, err)
	}
	return conn, nil
}

func (c *Client) wrap(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		return fmt.Errorf("%w: no answer from %s:%s within %s: %w", ErrUnavailable, c.network, c.address, c.timeout, ctx.Err())
	}
	return fmt.Errorf("%w: talking to %s:%s: %w", ErrUnavailable, c.network, c.address, err)
}

// maxReply bounds clamd's answer; real ones are a line.
const maxReply = 4096

// readReply reads one NUL-terminated answer (the "z" command prefix).
func readReply(r io.Reader) (string, error) {
	var b []byte
	buf := make([]byte, 512)
	for len(b) < maxReply {
		n, err := r.Read(buf)
		b = append(b, buf[:n]...)
		if i := bytes.IndexByte(b, 0); i >= 0 {
			return string(b[:i]), nil
		}
		if err == io.EOF && len(b) > 0 {
			return string(b), nil
		}
		if err != nil {
			if err == io.EOF {
				return "", errors.New("clamav: connection closed without an answer")
			}
			return "", err
		}
	}
	return "", fmt.Errorf("clamav: answer longer than %d bytes", maxReply)
}
