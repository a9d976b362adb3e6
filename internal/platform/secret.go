package platform

import (
	"fmt"
	"net"
)

// MinTokenLen is the shortest bearer token a service accepts: shorter ones
// can be guessed.
const MinTokenLen = 16

// CheckToken validates an optional bearer token's variable.
func CheckToken(name, token string) error {
	if token != "" && len(token) < MinTokenLen {
		return fmt.Errorf("%s must be at least %d characters", name, MinTokenLen)
	}
	return nil
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
