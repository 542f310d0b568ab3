// Package depsanchor pins the project's chosen dependencies in go.mod while
// the packages that use them are written. Delete it once they all exist.
package depsanchor

import (
	_ "github.com/onsi/ginkgo/v2"
	_ "github.com/onsi/ginkgo/v2/types"
	_ "github.com/onsi/gomega"
	_ "github.com/onsi/gomega/gexec"
	_ "github.com/onsi/gomega/gleak"
	_ "github.com/onsi/gomega/types"
	_ "github.com/shirou/gopsutil/v3/process"
	_ "go.yaml.in/yaml/v3"
	_ "golang.org/x/sys/unix"
)
