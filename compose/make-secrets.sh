#!/bin/sh
# Makes the secrets compose mounts (compose/secrets/, git-ignored), once; a second run keeps
# them. The mesh secret signs every service token; the Consul token is Consul's ACL
# management token, which discovery uses (ACLs deny everything else).
#   sh compose/make-secrets.sh
set -eu
dir="$(cd "$(dirname "$0")" && pwd)/secrets"
umask 077
mkdir -p "$dir"
chmod 700 "$dir" # the files must be readable by the containers' user: the folder guards them
if [ ! -s "$dir/mesh-auth-secret" ]; then
    python3 -c 'import secrets; print(secrets.token_urlsafe(48))' >"$dir/mesh-auth-secret"
fi
if [ ! -s "$dir/consul-token" ]; then
    python3 -c 'import uuid; print(uuid.uuid4())' >"$dir/consul-token"
fi
token="$(cat "$dir/consul-token")"
cat >"$dir/consul-acl.hcl" <<HCL
acl {
  enabled = true
  default_policy = "deny"
  enable_token_persistence = true
  tokens {
    initial_management = "$token"
    agent = "$token"
  }
}
HCL
chmod 644 "$dir/mesh-auth-secret" "$dir/consul-token" "$dir/consul-acl.hcl"
echo "secrets in $dir: mesh-auth-secret, consul-token, consul-acl.hcl"
