package cli

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// Output files land in CI workspaces that a pull request controls: a
// committed symlink named report.sarif must not make fencecheck overwrite
// whatever it points at. Every file fencecheck writes goes through
// writeFileSafe: a temporary file in the target directory, renamed over the
// target (rename replaces a directory entry and never follows a symlink),
// and a target that is already a symlink is refused.

// checkOutputPath validates a destination before any analysis runs.
func checkOutputPath(p string) error {
	if p == "" || p == "-" {
		return nil
	}
	st, err := os.Lstat(p)
	switch {
	case err == nil && st.Mode()&fs.ModeSymlink != 0:
		return fmt.Errorf("%s: refusing to write through a symbolic link", p)
	case err == nil && !st.Mode().IsRegular():
		return fmt.Errorf("%s: not a regular file; refusing to overwrite it", p)
	case err != nil && !errors.Is(err, fs.ErrNotExist):
		return err
	}
	dir := filepath.Dir(p)
	dst, err := os.Stat(dir)
	if err != nil {
		return fmt.Errorf("%s: directory %s: %w", p, dir, errors.Unwrap(err))
	}
	if !dst.IsDir() {
		return fmt.Errorf("%s: %s is not a directory", p, dir)
	}
	return nil
}

// sameFile says whether two output flags name one file.
func sameFile(a, b string) bool {
	if a == "" || b == "" || a == "-" || b == "-" {
		return false
	}
	aa, err1 := filepath.Abs(a)
	bb, err2 := filepath.Abs(b)
	return err1 == nil && err2 == nil && aa == bb
}

func writeFileSafe(p string, data []byte) error {
	if err := checkOutputPath(p); err != nil {
		return err
	}
	f, err := os.CreateTemp(filepath.Dir(p), ".fencecheck-*.tmp")
	if err != nil {
		return err
	}
	tmp := f.Name()
	ok := false
	defer func() {
		if !ok {
			_ = os.Remove(tmp)
		}
	}()
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	if err := f.Chmod(0o644); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp, p); err != nil {
		return err
	}
	ok = true
	return nil
}
