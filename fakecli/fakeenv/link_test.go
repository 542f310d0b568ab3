package fakeenv

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestLinkPersonas(t *testing.T) {
	dir := t.TempDir()
	bin := filepath.Join(dir, "fakecli-bin")
	os.WriteFile(bin, []byte("#!/bin/sh\n"), 0o755)
	personas := filepath.Join(dir, "personas")
	os.Mkdir(personas, 0o755)
	if err := LinkPersonas(bin, personas); err != nil {
		t.Fatal(err)
	}
	if err := LinkPersonas(bin, personas); err != nil {
		t.Fatalf("relinking: %v", err)
	}
	for _, name := range Personas() {
		if target, err := os.Readlink(filepath.Join(personas, name)); err != nil || target != bin {
			t.Errorf("persona %s -> %q, %v; want %s", name, target, err, bin)
		}
	}
	if err := LinkPersonas(filepath.Join(dir, "nope"), personas); err == nil || !strings.Contains(err.Error(), "nope") {
		t.Errorf("missing binary: %v", err)
	}
}
