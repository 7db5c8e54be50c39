package sse

import (
	"math/rand/v2"
	"time"
)

// retryPolicy turns attempt outcomes into delays; see the package comment for the rules.
type retryPolicy struct {
	b        Backoff
	failures int            // consecutive unhealthy attempts, including the last one
	rand     func() float64 // [0, 1)
}

func newRetryPolicy(b Backoff) *retryPolicy {
	return &retryPolicy{b: b.withDefaults(), rand: rand.Float64}
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
