//go:build tools

// runc for the real-pods rig (issue 14): the OCI runtime containerd's shim starts each
// container with. It is built with cgo and the seccomp tag against Debian's libseccomp, so
// pods get the RuntimeDefault seccomp profile as on a real node. This file only pins the
// dependency: the binary is built from runc's own main package, named in tool.json.
package tools

import _ "github.com/opencontainers/runc"
