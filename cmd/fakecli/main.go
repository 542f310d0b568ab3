// Command fakecli is the fake storage CLI: see package fakecli. Install it
// under the name of the CLI it stands in for (a symlink named aws, gsutil, or
// fakecli for the plain protocol):
//
//	go build -o bin/fakecli ./cmd/fakecli && ln -s fakecli bin/aws
//	LEAKGATE_BUCKET=/tmp/bucket bin/aws s3 ls s3://b/e1/metadata/
package main

import (
	"os"

	"github.com/leakgate/leakgate/fakecli"
)

func main() { os.Exit(fakecli.Main(os.Args)) }
