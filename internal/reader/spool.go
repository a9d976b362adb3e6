package reader

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"go.uber.org/zap"
)

// spoolBatch writes a batch to its own file in the spool directory, made
// whole before it gets its name (rename), so a reader never reads half a
// batch, then syncs the directory so that the name survives a crash. A
// batch that came from a spool file is already there.
func (v *ViewCounter) spoolBatch(b *viewBatch) error {
	if b.file != "" {
		return nil
	}
	data, err := json.Marshal(b)
	if err != nil {
		return err
	}
	tmp, err := os.CreateTemp(v.spool, spoolPartial+"*")
	if err != nil {
		return err
	}
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		os.Remove(tmp.Name())
		return err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		os.Remove(tmp.Name())
		return err
	}
	if err := tmp.Close(); err != nil {
		os.Remove(tmp.Name())
		return err
	}
	name := filepath.Join(v.spool, b.Key+spoolSuffix)
	if err := os.Rename(tmp.Name(), name); err != nil {
		os.Remove(tmp.Name())
		return err
	}
	if err := v.syncDir(v.spool); err != nil {
		// The file is there; only a crash before the directory reaches
		// the disk would lose it.
		v.log.Warn("could not sync the spool directory; a crash may lose a spooled batch",
			zap.String("file", name), zap.Error(err))
	}
	return nil
}

const (
	spoolSuffix  = ".views.json"
	spoolPartial = ".partial-"
)

// stalePartial is the age past which a partial spool file is a leftover of
// a reader that stopped while writing it (a crash, a full disk): writing one
// takes milliseconds, and a younger one may be another reader's, still
// being written.
const stalePartial = time.Minute

// syncDir makes a directory's entries durable (fsync).
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	return err
}

// unspool takes the batches an earlier reader spooled, and removes the
// partial files of a reader that stopped while spooling. Two readers
// started on one directory may both take a file: the batch's key makes the
// writer count it once.
func (v *ViewCounter) unspool() error {
	entries, err := os.ReadDir(v.spool)
	if err != nil {
		return fmt.Errorf("VIEW_SPOOL_DIR: %w", err)
	}
	var ranges int
	for _, e := range entries {
		if !e.IsDir() && strings.HasPrefix(e.Name(), spoolPartial) {
			v.removeStale(filepath.Join(v.spool, e.Name()), e)
			continue
		}
		if e.IsDir() || !strings.HasSuffix(e.Name(), spoolSuffix) {
			continue
		}
		path := filepath.Join(v.spool, e.Name())
		data, err := os.ReadFile(path)
		if errors.Is(err, os.ErrNotExist) {
			continue // another reader delivered it meanwhile
		}
		var b viewBatch
		if err == nil {
			err = json.Unmarshal(data, &b)
		}
		if err != nil || b.Key == "" || len(b.Body) == 0 {
			v.log.Error("skipping an unreadable spool file", zap.String("file", path), zap.Error(err))
			continue
		}
		b.file = path
		v.pending = append(v.pending, &b)
		v.nranges += b.Ranges
		ranges += b.Ranges
	}
	if ranges > 0 {
		v.log.Info("took spooled views to deliver", zap.String("dir", v.spool), zap.Int("ranges", ranges))
	}
	return nil
}

// removeStale removes a partial spool file older than stalePartial.
func (v *ViewCounter) removeStale(path string, e os.DirEntry) {
	info, err := e.Info()
	if err != nil || time.Since(info.ModTime()) < stalePartial {
		return // gone meanwhile, or perhaps still being written
	}
	if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
		v.log.Warn("could not remove a stale partial spool file", zap.String("file", path), zap.Error(err))
		return
	}
	v.log.Info("removed a partial spool file left by a reader that stopped while spooling", zap.String("file", path))
}
