//go:build tools

// Helm for KVRaft's chart tests (helm lint, helm template) and the Kubernetes test rig
// (helm install), built from its Go module. This file only pins the dependency: the
// binary is built from helm's own command package, named in tool.json.
package tools

import _ "helm.sh/helm/v3/cmd/helm"
