package fakecli

import (
	"slices"
	"sort"
	"testing"

	"github.com/leakgate/leakgate/fakecli/fakeenv"
)

// The registry and fakeenv's list of persona names (what launchers link)
// name the same personas: a persona added to one and not the other fails
// here.
func TestRegistryMatchesFakeenv(t *testing.T) {
	var registered []string
	for name := range personas {
		registered = append(registered, name)
	}
	sort.Strings(registered)
	if want := fakeenv.Personas(); !slices.Equal(registered, want) {
		t.Errorf("registry %v, fakeenv.Personas() %v: add the persona to both", registered, want)
	}
}
