package adapter

import (
	"errors"
	"runtime"
	"strings"
	"testing"
)

// FuzzParseConfig checks, for any bytes, that ParseConfig never panics,
// allocates in bounded proportion to its input (YAML aliases cannot
// multiply it), fails only with an error matching ErrConfig that starts
// with the source's name, and returns only configs with every required
// command non-blank. Seeds: testdata/fuzz/FuzzParseConfig.
func FuzzParseConfig(f *testing.F) {
	const source = "fuzz.yaml"
	f.Fuzz(func(t *testing.T, data []byte) {
		var cfg *Config
		var err error
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		cfg, err = ParseConfig(data, source)
		runtime.ReadMemStats(&after)
		if got, limit := after.TotalAlloc-before.TotalAlloc, uint64(1024*len(data))+4<<20; got > limit {
			t.Fatalf("parsing %d bytes allocated %d, want at most %d", len(data), got, limit)
		}
		if err != nil {
			if cfg != nil || !errors.Is(err, ErrConfig) || !strings.HasPrefix(err.Error(), source+":") {
				t.Fatalf("ParseConfig = %v, %v; want nil and an ErrConfig naming %s", cfg, err, source)
			}
			return
		}
		c := cfg.Commands
		for name, cmd := range map[string]string{"create_backup": c.CreateBackup, "create_for_write": c.CreateForWrite,
			"open_for_read": c.OpenForRead, "save_metadata_line": c.SaveMetadataLine, "list_metadata_files": c.ListMetadataFiles} {
			if strings.TrimSpace(cmd) == "" {
				t.Fatalf("accepted a config with a blank %s", name)
			}
		}
		if cfg.Source != source {
			t.Fatalf("Source = %q", cfg.Source)
		}
	})
}
