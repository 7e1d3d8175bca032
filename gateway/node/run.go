package node

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"strings"
	"sync"
	"time"
)

// group runs the node's background loops and collects what they return.
// A loop is meant to run until its context ends and to recover from
// failures by itself; one that returns an error early is logged at once.
type group struct {
	log     *slog.Logger
	wg      sync.WaitGroup
	mu      sync.Mutex
	errs    []error
	running map[string]int
}

// Go starts run in the group under name.
func (g *group) Go(ctx context.Context, name string, run func(context.Context) error) {
	g.wg.Add(1)
	g.mu.Lock()
	if g.running == nil {
		g.running = map[string]int{}
	}
	g.running[name]++
	g.mu.Unlock()
	go func() {
		defer g.wg.Done()
		defer func() {
			g.mu.Lock()
			if g.running[name]--; g.running[name] == 0 {
				delete(g.running, name)
			}
			g.mu.Unlock()
		}()
		if err := run(ctx); err != nil {
			g.log.Error("background loop stopped", "loop", name, "error", err)
			g.mu.Lock()
			g.errs = append(g.errs, fmt.Errorf("%s: %w", name, err))
			g.mu.Unlock()
		}
	}()
}

// Wait waits for every loop and returns their errors, joined.
func (g *group) Wait() error {
	g.wg.Wait()
	g.mu.Lock()
	defer g.mu.Unlock()
	return errors.Join(g.errs...)
}

// WaitFor is Wait for at most d: a loop stuck where its context cannot
// reach it (a read that never returns) must not keep the process from
// stopping. The error then names the loops still running; they are left
// behind.
func (g *group) WaitFor(d time.Duration) error {
	done := make(chan struct{})
	go func() { g.wg.Wait(); close(done) }()
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-done:
		return g.Wait()
	case <-t.C:
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	names := make([]string, 0, len(g.running))
	for n := range g.running {
		names = append(names, n)
	}
	sort.Strings(names)
	return errors.Join(append(g.errs, fmt.Errorf("%w after %s: %s", ErrStuck, d, strings.Join(names, ", ")))...)
}

// ErrStuck is a stop that left background work behind.
var ErrStuck = errors.New("background loops did not stop")

// cleanup is a stack of closers, run in reverse order, once.
type cleanup struct {
	mu  sync.Mutex
	fns []func() error
}

func (c *cleanup) push(f func() error) {
	c.mu.Lock()
	c.fns = append(c.fns, f)
	c.mu.Unlock()
}

// run closes everything pushed, last first, and returns their errors.
func (c *cleanup) run() error {
	c.mu.Lock()
	fns := c.fns
	c.fns = nil
	c.mu.Unlock()
	var errs []error
	for i := len(fns) - 1; i >= 0; i-- {
		errs = append(errs, fns[i]())
	}
	return errors.Join(errs...)
}
