package mqttpub

// The connection loop: connect, serve one session, reconnect with backoff.

import (
	"context"
	"math/rand/v2"
	"sync"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"

	"github.com/teslemetry2mqtt/teslemetry2mqtt/internal/redact"
)

// Run keeps the broker connection up until ctx ends, then disconnects.
func (p *Publisher) Run(ctx context.Context) error {
	ackCtx, stopAck := context.WithCancel(context.Background())
	defer stopAck()
	go p.acknowledge(ackCtx)

	backoff := time.Second
	wasDown := false
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
		backoff = time.Second
		p.log.WithField("broker", redact.URL(p.opts.URL)).Info("MQTT connected")
		err = p.serve(ctx, client, lost)
		if ctx.Err() != nil {
			p.disconnect(client)
			break
		}
		p.log.WithError(err).Warn("MQTT connection lost; reconnecting")
		if !sleep(ctx, jitter(time.Second)) {
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
		SetOrderMatters(false).
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

// serve runs one connected session: bridge online, subscriptions, full republish.
func (p *Publisher) serve(ctx context.Context, client paho.Client, lost chan error) error {
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
			handler(Message{Topic: m.Topic(), Payload: m.Payload(), Retained: m.Retained()})
		})
	}

	sessCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	defer wg.Wait()
	start := func(done func()) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if p.republishAll(sessCtx, session) && done != nil {
				done()
			}
		}()
	}
	start(p.opts.OnRepublished)
	for {
		select {
		case err := <-lost:
			cancel()
			return err
		case <-ctx.Done():
			return ctx.Err()
		case <-p.republish:
			// Home Assistant restarted: give it a moment, then send everything again.
			if !sleep(sessCtx, time.Duration(500+rand.IntN(1500))*time.Millisecond) {
				continue
			}
			wg.Wait()
			start(nil)
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
