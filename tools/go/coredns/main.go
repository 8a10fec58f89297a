// CoreDNS as the real-pods rig's cluster DNS (issue 14): a pod finds its peers and Services
// by name through it, as on a real cluster. Upstream's main imports all of plugin.cfg (cloud
// DNS providers, etcd, dnstap, ...); this one registers only what a cluster DNS Corefile uses,
// which keeps the build and the binary small and leaves nothing in it that reaches a cloud.
package main

import (
	"log"

	"github.com/coredns/coredns/core/dnsserver"
	"github.com/coredns/coredns/coremain"

	_ "github.com/coredns/coredns/plugin/bind"
	_ "github.com/coredns/coredns/plugin/cache"
	_ "github.com/coredns/coredns/plugin/errors"
	_ "github.com/coredns/coredns/plugin/forward"
	_ "github.com/coredns/coredns/plugin/health"
	_ "github.com/coredns/coredns/plugin/hosts"
	_ "github.com/coredns/coredns/plugin/kubernetes"
	_ "github.com/coredns/coredns/plugin/loadbalance"
	_ "github.com/coredns/coredns/plugin/log"
	_ "github.com/coredns/coredns/plugin/loop"
	_ "github.com/coredns/coredns/plugin/ready"
	_ "github.com/coredns/coredns/plugin/reload"
	_ "github.com/coredns/coredns/plugin/whoami"
)

// directives is the plugin chain, in the order a query passes through it. The order is not
// ours to choose: it is the order of these plugins in CoreDNS's plugin.cfg (its generated
// dnsserver.Directives), so a Corefile behaves here as it does in a stock CoreDNS, e.g.
// cache answers before kubernetes is asked and forward is tried only after kubernetes and
// hosts passed a name on.
var directives = []string{
	"reload",
	"bind", // listen on the dev cluster's bridge address only, never on every interface
	"ready",
	"health",
	"errors",
	"log",
	"loadbalance",
	"cache",
	"hosts",
	"kubernetes",
	"loop",
	"forward",
	"whoami", // the default server's plugin when no Corefile is found
}

// `coredns -plugins` also lists a few plugins these import (metadata, transfer, prometheus,
// dnstap, debug): they are linked in but not in the chain above, so a Corefile that names one
// fails at startup with "Unknown directive" rather than running a plugin this build left out.

func main() {
	if err := dnsserver.SetDirectives(directives); err != nil {
		log.Fatalf("coredns: %v", err)
	}
	coremain.Run()
}
