//go:build tools

// containerd for the real-pods rig (issue 14): the container runtime each kubelet talks to
// over CRI, its runc shim, and ctr to import the rig's images without a registry. 2.3 is the
// minor containerd's release table pairs with Kubernetes 1.36. This file only pins the
// dependency (go mod tidy would otherwise drop the require): the binaries are built from
// containerd's own command packages, named in tool.json.
package tools

import (
	_ "github.com/containerd/containerd/v2/cmd/containerd"
	_ "github.com/containerd/containerd/v2/cmd/containerd-shim-runc-v2"
	_ "github.com/containerd/containerd/v2/cmd/ctr"
)
