package store

// SetAfterWrite lets tests pause a batch between taking its positions and
// committing; an error from f rolls the batch back.
func (a *Appender) SetAfterWrite(f func() error) { a.afterWrite = f }
