package platform

import (
	"fmt"
	"net"
)

// MinTokenLen is the shortest bearer token a service accepts: shorter ones
// can be guessed.
const MinTokenLen = 16

// CheckInternalToken validates INTERNAL_TOKEN for a service listening on
// listenAddr (SPEC §9): required unless the address is a loopback one, and
// long enough when given.
func (c *Checks) CheckInternalToken(token, listenAddr string) {
	c.Check(token != "" || IsLoopback(listenAddr), "INTERNAL_TOKEN",
		"must be set when LISTEN_ADDR is not a loopback address: /internal/ routes would be open to anyone who reaches the port")
	c.Check(token == "" || len(token) >= MinTokenLen, "INTERNAL_TOKEN", fmt.Sprintf("must be at least %d characters", MinTokenLen))
}

// IsLoopback reports whether a listen address only accepts connections
// from this machine: its host is a loopback IP or "localhost". An empty
// host listens on every interface.
func IsLoopback(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
