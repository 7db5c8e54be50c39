package mqttpub

// The connection loop: connect, serve one session, reconnect with backoff.

import (
	"context"
	"math/rand/v2"
	"sync"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"
	"github.com/sirupsen/logrus"

	"github.com/teslemetry2mqtt/teslemetry2mqtt/internal/redact"
)

// Run keeps the broker connection up until ctx ends, then disconnects.
//
// Failed connection attempts and connections lost within HealthyAfter of
// connecting are retried after a growing delay (MinBackoff, 1 s, doubling
// up to MaxBackoff, with jitter); a connection that lasted HealthyAfter resets it.
// A broker that accepts the connection and then drops it is retried no faster
// than one that refuses it.
func (p *Publisher) Run(ctx context.Context) error {
	ackCtx, stopAck := context.WithCancel(context.Background())
	defer stopAck()
	go p.acknowledge(ackCtx)
	inCtx, stopInbox := context.WithCancel(context.Background())
	inboxDone := make(chan struct{})
	go func() { defer close(inboxDone); p.inbox.run(inCtx) }()
	defer func() { stopInbox(); <-inboxDone }()

	backoff := p.opts.MinBackoff
	wasDown := false
	var suspects []string
	for ctx.Err() == nil {
		client, lost, err := p.connect(ctx)
		if err != nil {
			if !wasDown {
				p.log.WithError(err).Warn("MQTT broker unreachable; retrying")
				wasDown = true
			}
			if !sleep(ctx, jitter(backoff)) {
				break
			}
			backoff = min(backoff*2, p.opts.MaxBackoff)
			continue
		}
		wasDown = false
		p.log.WithField("broker", redact.URL(p.opts.URL)).Info("MQTT connected")
		connected := time.Now()
		session, err := p.serve(ctx, client, lost, suspects)
		if ctx.Err() != nil {
			p.disconnect(client)
			break
		}
		lived := time.Since(connected)
		// The lost connection's unacknowledged publishes fail at once; wait
		// for the acknowledger to have seen them all.
		p.Flush(2 * time.Second)
		suspects = p.lost.take(session)
		if lived >= p.opts.HealthyAfter {
			backoff = p.opts.MinBackoff
		}
		delay := jitter(backoff)
		backoff = min(backoff*2, p.opts.MaxBackoff)
		if lived < p.opts.HealthyAfter {
			p.log.WithError(err).WithFields(logrus.Fields{
				"after": lived.Round(time.Millisecond).String(), "retry_in": delay.Round(time.Millisecond).String(),
				"client_id": p.opts.ClientID, "unacknowledged_topics": len(suspects),
			}).Warn("MQTT connection lost soon after connecting; reconnecting with backoff. " +
				"Likely causes: another client connected with the same client id (the broker drops the older connection; set mqtt.client_id), " +
				"or the broker refused a message (too large for its max_packet_size, or not allowed by its ACL; such a message is found and set aside)")
		} else {
			p.log.WithError(err).Warn("MQTT connection lost; reconnecting")
		}
		if !sleep(ctx, delay) {
			break
		}
	}
	// Let the acknowledger drain what the final disconnect completed.
	p.Flush(time.Second)
	return nil
}

// connect makes one connection attempt with a fresh paho client.
func (p *Publisher) connect(ctx context.Context) (paho.Client, chan error, error) {
	lost := make(chan error, 1)
	o := paho.NewClientOptions().
		AddBroker(p.opts.URL).
		SetClientID(p.opts.ClientID).
		SetUsername(p.opts.Username).
		SetPassword(p.opts.Password).
		SetCleanSession(true).
		SetAutoReconnect(false).
		SetConnectRetry(false).
		SetOrderMatters(true). // subscription handlers only queue (inbox.go)
		SetConnectTimeout(10 * time.Second).
		SetKeepAlive(30 * time.Second).
		SetWriteTimeout(writeTimeout). // bounds how long Publish waits for paho's writer
		SetStore(noStore{}).
		SetConnectionLostHandler(func(_ paho.Client, err error) {
			select {
			case lost <- err:
			default:
			}
		})
	if p.opts.TLS != nil {
		o.SetTLSConfig(p.opts.TLS)
	}
	if p.opts.WillTopic != "" {
		o.SetWill(p.opts.WillTopic, "offline", 1, true)
	}
	if !isWebsocket(p.opts.URL) {
		o.SetCustomOpenConnectionFn(openConnection(p.opts.TLS, 10*time.Second, &p.hold, p.setConn))
	}
	client := paho.NewClient(o)
	tok := client.Connect()
	select {
	case <-tok.Done():
	case <-ctx.Done():
		client.Disconnect(0)
		return nil, nil, ctx.Err()
	}
	if err := tok.Error(); err != nil {
		return nil, nil, redact.Error(err, p.opts.Password)
	}
	return client, lost, nil
}

// serve runs one connected session: bridge online, subscriptions, the
// suspects of the previous session one at a time (setaside.go), full
// republish. It returns the session's number and why it ended.
func (p *Publisher) serve(ctx context.Context, client paho.Client, lost chan error, suspects []string) (uint64, error) {
	p.mu.Lock()
	p.client = client
	p.session++
	session := p.session
	p.mu.Unlock()
	if p.opts.Stats.Connected != nil {
		p.opts.Stats.Connected(true)
	}
	defer func() {
		p.mu.Lock()
		p.client = nil
		p.mu.Unlock()
		if p.opts.Stats.Connected != nil {
			p.opts.Stats.Connected(false)
		}
	}()

	if p.opts.WillTopic != "" {
		// First thing on every connect, whether or not the cached value changed.
		p.store(Availability, p.opts.WillTopic, nil, []byte("online"))
		p.send(session, p.opts.WillTopic)
	}
	for topic, handler := range p.opts.Subscriptions {
		handler := handler
		client.Subscribe(topic, 1, func(_ paho.Client, m paho.Message) {
			if !p.inbox.put(handler, Message{Topic: m.Topic(), Payload: m.Payload(), Retained: m.Retained(), Received: time.Now()}) {
				p.log.WithField("topic", m.Topic()).Warn("received message dropped: too many waiting for their handler")
			}
		})
	}

	sessCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	defer wg.Wait()
	start := func(suspects []string, done func()) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if len(suspects) > 0 && !p.probe(sessCtx, client, session, suspects) {
				return // the connection died on a suspect: nothing more to send on it
			}
			if p.republishAll(sessCtx, session) && done != nil {
				done()
			}
		}()
	}
	start(suspects, p.opts.OnRepublished)
	for {
		select {
		case err := <-lost:
			cancel()
			return session, err
		case <-ctx.Done():
			return session, ctx.Err()
		case <-p.republish:
			// Home Assistant restarted: give it a moment, then send everything again.
			if !sleep(sessCtx, time.Duration(500+rand.IntN(1500))*time.Millisecond) {
				continue
			}
			wg.Wait()
			start(nil, nil)
		}
	}
}

func (p *Publisher) disconnect(client paho.Client) {
	p.mu.Lock()
	p.client = nil
	p.mu.Unlock()
	client.Disconnect(250)
}

func isWebsocket(u string) bool {
	return len(u) >= 5 && (u[:5] == "ws://" || (len(u) >= 6 && u[:6] == "wss://"))
}

func jitter(d time.Duration) time.Duration {
	return d/2 + time.Duration(rand.Int64N(int64(d)))/2
}

func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}
