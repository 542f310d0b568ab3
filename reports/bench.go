package reports

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
)

// BenchFile is where `make bench` collects its figures.
const BenchFile = "reports/out/bench.json"

// MergeBench sets keys in the JSON object stored at path (creating the file
// and its directory if needed), keeping the keys other benchmarks wrote, so
// that several benchmarks can each add their figures to one bench.json. The
// write is atomic (temp file + rename).
//
//	err := reports.MergeBench("reports/out/bench.json", map[string]any{"restore_mb_per_s": 182.4})
func MergeBench(path string, figures map[string]any) error {
	obj := map[string]any{}
	data, err := os.ReadFile(path)
	switch {
	case errors.Is(err, os.ErrNotExist):
	case err != nil:
		return fmt.Errorf("merge bench figures: %w", err)
	default:
		if err := json.Unmarshal(data, &obj); err != nil {
			return fmt.Errorf("merge bench figures: %s is not a JSON object: %w", path, err)
		}
	}
	for k, v := range figures {
		obj[k] = v
	}
	out, err := json.MarshalIndent(obj, "", "  ")
	if err != nil {
		return fmt.Errorf("merge bench figures: %w", err)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return fmt.Errorf("merge bench figures: %w", err)
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".bench-*.json")
	if err != nil {
		return fmt.Errorf("merge bench figures: %w", err)
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(append(out, '\n')); err != nil {
		tmp.Close()
		return fmt.Errorf("merge bench figures: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("merge bench figures: %w", err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("merge bench figures: %w", err)
	}
	return nil
}
