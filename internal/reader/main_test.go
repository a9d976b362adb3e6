package reader_test

import (
	"testing"

	"go.uber.org/goleak"
)

// Every goroutine the reader starts has an owner that stops it.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}
