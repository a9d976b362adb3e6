//go:build !linux

package main

// applyTimerSlack does nothing where there is no timer slack to set.
func applyTimerSlack() {}
