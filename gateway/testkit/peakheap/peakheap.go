// Package peakheap measures the most live heap a piece of work holds, for
// benchmarks that report memory per input (it imports nothing of the
// gateway, so any package's own tests may use it).
package peakheap

import (
	"runtime"
	"runtime/metrics"
	"sync"
	"sync/atomic"
	"time"
)

// Measure runs f and returns the most live heap it held above the
// starting point, sampled every 100µs; GC runs as usual, so this is the
// peak a server would see. For benchmarks that report memory per input.
func Measure(f func()) uint64 {
	runtime.GC()
	sample := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	metrics.Read(sample)
	base := sample[0].Value.Uint64()
	var peak atomic.Uint64
	var stop atomic.Bool
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		s := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
		for !stop.Load() {
			metrics.Read(s)
			if v := s[0].Value.Uint64(); v > base && v-base > peak.Load() {
				peak.Store(v - base)
			}
			time.Sleep(100 * time.Microsecond)
		}
	}()
	f()
	stop.Store(true)
	wg.Wait()
	return peak.Load()
}
