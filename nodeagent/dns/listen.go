package dns

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"syscall"

	"golang.org/x/sys/unix"
)

// listenTries bounds the attempts to find a port free on both UDP and TCP when the address
// asks for any port (tests).
const listenTries = 5

// listen opens addr on UDP and TCP with IP_FREEBIND: the address is the Pod bridge's, which
// CNI creates only with the node's first Pod, so the server listens before it exists and
// receives once it does. Port 0 picks one port free on both.
func listen(ctx context.Context, addr netip.AddrPort) (net.PacketConn, net.Listener, error) {
	lc := net.ListenConfig{Control: freebind}
	var errs []error
	for range listenTries {
		pc, err := lc.ListenPacket(ctx, "udp", addr.String())
		if err != nil {
			return nil, nil, fmt.Errorf("listen on udp %s: %w", addr, err)
		}
		// TCP on the port UDP got, which is addr's own unless that is 0
		l, err := lc.Listen(ctx, "tcp", pc.LocalAddr().String())
		if err == nil {
			return pc, l, nil
		}
		pc.Close()
		errs = append(errs, err)
		if addr.Port() != 0 {
			break
		}
	}
	return nil, nil, fmt.Errorf("listen on tcp %s: %w", addr, errors.Join(errs...))
}

// freebind lets a socket bind an address the node does not have (yet).
func freebind(_, _ string, c syscall.RawConn) error {
	var serr error
	err := c.Control(func(fd uintptr) {
		serr = unix.SetsockoptInt(int(fd), unix.SOL_IP, unix.IP_FREEBIND, 1)
	})
	if err != nil {
		return fmt.Errorf("set IP_FREEBIND: %w", err)
	}
	if serr != nil {
		return fmt.Errorf("set IP_FREEBIND: %w", serr)
	}
	return nil
}
