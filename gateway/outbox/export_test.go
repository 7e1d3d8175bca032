package outbox

import "github.com/prometheus/client_golang/prometheus"

// ObserverCounter lets the package's external tests read the transition
// counter.
func ObserverCounter(o *Observer) *prometheus.CounterVec { return o.counter }
