package fakecli

import (
	"fmt"
	"os"
	"path/filepath"
)

// LinkPersonas makes dir a persona folder for the fakecli binary at
// fakecliPath: one symlink per persona name (Personas(): aws, fakecli,
// gsutil, …), each pointing at the binary, so that dir first on PATH makes
// every storage CLI fakecli:
//
//	err := fakecli.LinkPersonas("bin/fakecli", dir)
//
// dir must exist; links already there are replaced.
func LinkPersonas(fakecliPath, dir string) error {
	abs, err := filepath.Abs(fakecliPath)
	if err != nil {
		return fmt.Errorf("link personas: %w", err)
	}
	fi, err := os.Stat(abs)
	if err != nil {
		return fmt.Errorf("link personas: fakecli binary: %w", err)
	}
	if fi.IsDir() {
		return fmt.Errorf("link personas: fakecli binary %s is a folder", abs)
	}
	for _, name := range Personas() {
		link := filepath.Join(dir, name)
		_ = os.Remove(link)
		if err := os.Symlink(abs, link); err != nil {
			return fmt.Errorf("link personas: %w", err)
		}
	}
	return nil
}
