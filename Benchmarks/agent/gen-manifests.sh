#!/bin/bash
# Writes N pod manifests, one file each, into DIR: pod agentbench/pI with one `/bin/sleep infinity`
# app container, no init container, an emptyDir volume and a small ConfigMap volume. Both are
# mounted below /run and /var, which need no mount point on the host.
#
#   gen-manifests.sh N DIR
set -euo pipefail
n=${1:?usage: gen-manifests.sh N DIR}
dir=${2:?usage: gen-manifests.sh N DIR}
mkdir -p "$dir"
for ((i = 0; i < n; i++)); do
  cat > "$dir/p$i.yaml" <<YAML
apiVersion: v1
kind: Pod
metadata: {name: p$i, namespace: agentbench}
spec:
  containers:
  - name: app
    image: /bin/sleep
    args: ["infinity"]
    volumeMounts: [{name: config, mountPath: /run/config}, {name: data, mountPath: /var/data}]
  volumes:
  - {name: data, emptyDir: {}}
  - {name: config, configMap: {name: p$i-config}}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: p$i-config, namespace: agentbench}
data: {app.conf: "port=8080\n", pod: "p$i"}
YAML
done
