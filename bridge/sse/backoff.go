package sse

import (
	"math/rand/v2"
	"time"
)

// retryPolicy turns attempt outcomes into delays and decides when a
// connection counts as healthy; see the package comment for the rules.
type retryPolicy struct {
	b            Backoff
	healthyAfter time.Duration    // a 200 connection up this long is healthy without events
	failures     int              // consecutive unhealthy attempts, including the last one
	rand         func() float64   // [0, 1)
	now          func() time.Time // the clock; tests use a fake one
}

func newRetryPolicy(b Backoff, healthyAfter time.Duration) *retryPolicy {
	return &retryPolicy{b: b.withDefaults(), healthyAfter: healthyAfter, rand: rand.Float64, now: time.Now}
}

// healthy reports whether an attempt that got a 200 (connected) at
// connectedAt and delivered events so far counts as healthy now.
func (p *retryPolicy) healthy(connected bool, connectedAt time.Time, events int) bool {
	return connected && (events > 0 || p.now().Sub(connectedAt) >= p.healthyAfter)
}

func (p *retryPolicy) next(o outcome) time.Duration {
	if o.healthy {
		p.failures = 0
	}
	if !o.healthy || (o.cause != CauseEOF && o.cause != CauseIdle) {
		p.failures++
	}
	switch o.cause {
	case CauseEOF:
		if o.healthy {
			return p.b.EOFDelay
		}
		return max(p.b.EOFDelay, p.backoff(p.failures))
	case CauseIdle:
		if o.healthy || p.failures <= 1 {
			return 0
		}
		return p.backoff(p.failures - 1)
	case CauseAuth, CauseForbidden, CausePayment:
		auth := p.b.AuthRetry + time.Duration(0.1*p.rand()*float64(p.b.AuthRetry))
		return max(auth, p.backoff(p.failures))
	}
	d := p.backoff(p.failures)
	if o.hasRetry {
		d = max(d, min(o.retryAfter, maxRetryAfter))
	}
	return d
}

// backoff is min(Initial·2^(n-1), Max) with ±20 % jitter, never above Max.
func (p *retryPolicy) backoff(n int) time.Duration {
	d := p.b.Initial
	for i := 1; i < n && d < p.b.Max; i++ {
		d *= 2
	}
	d = min(d, p.b.Max)
	d = time.Duration(float64(d) * (0.8 + 0.4*p.rand()))
	return min(d, p.b.Max)
}
