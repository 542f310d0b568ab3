package fakeenv

import (
	"fmt"
	"os"
	"path/filepath"
)

// Personas are the names fakecli answers to, sorted: argv[0]'s base name
// picks the persona (a symlink named "aws" makes fakecli the aws
// persona). The one list: fakecli's registry has one persona per name
// here, and its tests check it.
//
//	fakeenv.Personas() // [aws azcopy fakecli gcloud gsutil s5cmd]
func Personas() []string {
	return []string{"aws", "azcopy", "fakecli", "gcloud", "gsutil", "s5cmd"}
}

// LinkPersonas makes dir a persona folder for the fakecli binary at
// fakecliPath: one symlink per persona name (Personas), each pointing at
// the binary, so that dir first on PATH makes every storage CLI fakecli:
//
//	err := fakeenv.LinkPersonas("bin/fakecli", dir)
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
