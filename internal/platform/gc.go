package platform

import (
	"fmt"
	"runtime/debug"
	"strconv"
)

// ParseGOGC reads a GOGC value the way Go's runtime does: "off", or a
// percentage of the live heap that new allocations may add before the next
// collection.
func ParseGOGC(v string) (percent int, err error) {
	if v == "off" {
		return -1, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 || n > 100000 {
		return 0, fmt.Errorf("GOGC must be off or a percentage between 1 and 100000")
	}
	return n, nil
}

// CheckGOGC validates GOGC.
func CheckGOGC(v string) error {
	_, err := ParseGOGC(v)
	return err
}

// SetGOGC applies a service's GOGC. The runtime has already applied the
// variable if it was set, to the same value; this is for a service whose
// default differs from Go's 100.
func SetGOGC(v string) {
	if n, err := ParseGOGC(v); err == nil { // LoadConfig rejected the others
		debug.SetGCPercent(n)
	}
}
