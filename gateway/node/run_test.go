package node

import (
	"context"
	"errors"
	"log/slog"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestCleanupRunsInReverseOnce(t *testing.T) {
	var c cleanup
	var order []int
	for i := range 3 {
		c.push(func() error {
			order = append(order, i)
			if i == 1 {
				return errors.New("one failed")
			}
			return nil
		})
	}
	if err := c.run(); err == nil || err.Error() != "one failed" {
		t.Errorf("errors: %v", err)
	}
	if err := c.run(); err != nil {
		t.Errorf("a second run: %v", err)
	}
	if !slices.Equal(order, []int{2, 1, 0}) {
		t.Errorf("order %v", order)
	}
}

func TestGroupWaitsAndCollects(t *testing.T) {
	var logged strings.Builder
	g := &group{log: slog.New(slog.NewTextHandler(&logged, nil))}
	ctx, cancel := context.WithCancel(context.Background())
	stopped := make(chan struct{})
	g.Go(ctx, "steady", func(ctx context.Context) error { <-ctx.Done(); close(stopped); return nil })
	g.Go(ctx, "broken", func(context.Context) error { return errors.New("disk gone") })
	cancel()
	err := g.Wait()
	select {
	case <-stopped:
	default:
		t.Error("Wait returned before a loop stopped")
	}
	if err == nil || err.Error() != "broken: disk gone" || !strings.Contains(logged.String(), "loop=broken") {
		t.Errorf("error %v, log %q", err, logged.String())
	}
}

// A loop its context cannot reach (a read that never returns) does not
// keep the node from stopping: WaitFor gives up on it and names it.
func TestGroupWaitForGivesUpOnAStuckLoop(t *testing.T) {
	g := &group{log: slog.New(slog.DiscardHandler)}
	ctx, cancel := context.WithCancel(context.Background())
	release := make(chan struct{})
	defer close(release)
	g.Go(ctx, "steady", func(ctx context.Context) error { <-ctx.Done(); return nil })
	g.Go(ctx, "spool", func(context.Context) error { <-release; return nil })
	cancel()
	err := g.WaitFor(50 * time.Millisecond)
	if !errors.Is(err, ErrStuck) || !strings.HasSuffix(err.Error(), ": spool") {
		t.Errorf("WaitFor with a stuck loop: %v", err)
	}
	g2 := &group{log: slog.New(slog.DiscardHandler)}
	g2.Go(ctx, "steady", func(ctx context.Context) error { <-ctx.Done(); return nil })
	if err := g2.WaitFor(time.Minute); err != nil {
		t.Errorf("WaitFor with loops that stop: %v", err)
	}
}
