package harness_test

import (
	"testing"

	"github.com/leakgate/leakgate/harness"
)

func BenchmarkTake(b *testing.B) {
	for b.Loop() {
		if _, err := harness.Take(); err != nil {
			b.Fatal(err)
		}
	}
}
