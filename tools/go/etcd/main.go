// etcd for KVRaft's tests and benchmarks, built from its Go module: the release's own
// server/main.go is package main inside a module with replace directives, so it cannot be
// installed with `go install`; this wrapper module requires it and calls the same entry.
package main

import (
	"os"

	"go.etcd.io/etcd/server/v3/etcdmain"
)

func main() {
	etcdmain.Main(os.Args)
}
