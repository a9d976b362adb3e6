package platform

import "time"

// CheckTimerSlack validates TIMER_SLACK, which every service reads: 0
// keeps the inherited slack, and more than 100ms would let the kernel
// hold back a service's timers (the batch linger, refresh, shutdown)
// long past what they ask for.
func (c *Checks) CheckTimerSlack(d time.Duration) {
	c.Check(d >= 0 && d <= 100*time.Millisecond, "TIMER_SLACK", "must be between 0 and 100ms")
}
