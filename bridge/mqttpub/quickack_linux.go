package mqttpub

import (
	"net"
	"syscall"
)

// quickAcker returns a function that has the kernel acknowledge at once
// the data that arrived on c's TCP socket (TCP_QUICKACK, which the kernel
// drops again by itself: it is set after each read), or nil when c is not a
// TCP socket.
//
// Why: brokers write with Nagle's algorithm on (mosquitto's default,
// set_tcp_nodelay false), so a small message for the bridge, e.g. a
// command, waits in the broker's kernel until the bridge has acknowledged
// the broker's earlier writes (its PUBACKs). With delayed acknowledgements
// that is when the bridge next publishes: at 1,000 values/s a command
// waited 5 ms at the median (BENCHMARKS.md). See socketReader for when.
func quickAcker(c net.Conn) func() {
	if t, ok := c.(interface{ NetConn() net.Conn }); ok {
		c = t.NetConn()
	}
	sc, ok := c.(syscall.Conn)
	if !ok {
		return nil
	}
	raw, err := sc.SyscallConn()
	if err != nil {
		return nil
	}
	set := func(fd uintptr) {
		_ = syscall.SetsockoptInt(int(fd), syscall.IPPROTO_TCP, syscall.TCP_QUICKACK, 1)
	}
	return func() { _ = raw.Control(set) }
}
