//go:build tools

// The CNI plugins the real-pods rig (issue 14) wires pod networks with: bridge and
// host-local give each pod an address on its node's bridge, loopback its lo, portmap its
// hostPorts. This file only pins the dependency: the binaries are built from the plugins'
// own main packages, named in tool.json.
package tools

import (
	_ "github.com/containernetworking/plugins/plugins/ipam/host-local"
	_ "github.com/containernetworking/plugins/plugins/main/bridge"
	_ "github.com/containernetworking/plugins/plugins/main/loopback"
	_ "github.com/containernetworking/plugins/plugins/meta/portmap"
)
