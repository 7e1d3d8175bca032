package node

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
)

// group runs the node's background loops and collects what they return.
// A loop is meant to run until its context ends and to recover from
// failures by itself; one that returns an error early is logged at once.
type group struct {
	log  *slog.Logger
	wg   sync.WaitGroup
	mu   sync.Mutex
	errs []error
}

// Go starts run in the group under name.
func (g *group) Go(ctx context.Context, name string, run func(context.Context) error) {
	g.wg.Add(1)
	go func() {
		defer g.wg.Done()
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
