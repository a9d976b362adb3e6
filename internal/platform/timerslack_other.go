//go:build !linux

package platform

import "time"

// ApplyTimerSlack does nothing where the kernel has no per-thread timer
// slack to set (see timerslack_linux.go).
func ApplyTimerSlack(time.Duration) error { return nil }
