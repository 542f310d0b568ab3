// Command objserver is leakgate's fault-injecting object server: see package
// objserver. It serves a bucket folder over S3 (the subset the aws CLI uses)
// and OCI-style object URLs on a loopback port, with the faults of
// LEAKGATE_FAULTS acted out on the wire:
//
//	LEAKGATE_BUCKET=/tmp/bucket LEAKGATE_FAULTS='status on=*/1-.chunk' objserver -listen 127.0.0.1:9000
//	aws s3 cp --endpoint-url http://127.0.0.1:9000 s3://b/e1/1-.chunk -
package main

import (
	"os"

	"github.com/leakgate/leakgate/objserver"
)

func main() { os.Exit(objserver.Main(os.Args)) }
