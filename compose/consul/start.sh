#!/bin/sh
# Consul's entrypoint in compose and Kubernetes: the agent (arguments as given, ACLs on and
# default-deny from its config), then the policy discovery runs under and discovery's token
# with it. Dev mode keeps ACLs in memory, so they are made again on every start. The
# management token stays here; discovery holds only its own (DISCOVERY_CONSUL_TOKEN).
# Tokens come from the environment, or from the files the *_FILE variables name.
set -eu
mgmt="${CONSUL_MGMT_TOKEN:-$(cat "${CONSUL_MGMT_TOKEN_FILE:?CONSUL_MGMT_TOKEN or its _FILE}")}"
disc="${DISCOVERY_CONSUL_TOKEN:-$(cat "${DISCOVERY_CONSUL_TOKEN_FILE:?DISCOVERY_CONSUL_TOKEN or its _FILE}")}"
here="$(cd "$(dirname "$0")" && pwd)"
consul "$@" &
agent=$!
trap 'kill -TERM "$agent" 2>/dev/null; wait "$agent"' TERM INT
export CONSUL_HTTP_TOKEN="$mgmt"
unset CONSUL_HTTP_TOKEN_FILE
tries=0
until consul acl policy list >/dev/null 2>&1; do
    tries=$((tries + 1))
    [ "$tries" -le 120 ] || { echo "consul-acl: the agent never answered" >&2; exit 1; }
    kill -0 "$agent" 2>/dev/null || exit 1
    sleep 1
done
consul acl policy read -name mesh-discovery >/dev/null 2>&1 ||
    consul acl policy create -name mesh-discovery -rules "@$here/mesh-discovery.hcl" >/dev/null
consul acl token read -self -token "$disc" >/dev/null 2>&1 ||
    consul acl token create -description "mesh discovery" -policy-name mesh-discovery \
        -secret "$disc" >/dev/null
echo "consul-acl: policy mesh-discovery and discovery's token are in place"
wait "$agent"
