#!/bin/sh
# Makes what compose mounts (compose/secrets/, git-ignored), once; a second run keeps what is
# there, but issues again a token within a week of its expiry (services: a year; Prometheus's
# client token: 30 days). Needs the mesh CLI (`make setup`, or MESH=/path/to/mesh):
#   keys/issuer.pem       the issuer's private key: stays here, never mounted into a service
#   delegated/orchestrator.pem  the orchestrator's delegated key (MESH_TOKEN_KEY_FILE): it
#                         signs only the orchestrator's own 10-minute tokens for single
#                         workers; public/jwks.json lists it as such
#   public/jwks.json      its public keys (MESH_AUTH_JWKS_FILE), mounted read-only into all
#   public/revoked        revoked token ids (MESH_AUTH_REVOKED_FILE; `mesh token revoke`)
#   tokens/<service>      each worker's agent token and the orchestrator's (MESH_TOKEN_FILE),
#                         and Prometheus's (a client token: /metrics takes any valid one)
#   consul-token          Consul's management token (Consul alone holds it)
#   discovery-consul-token  discovery's Consul token (policy mesh-discovery, made at start)
#   consul-acl.hcl        Consul's ACL config (on, default deny)
# and compose/.env (read by compose): POSTGRES_PASSWORD, random, unless one is set there.
#   sh compose/make-secrets.sh
set -eu
here="$(cd "$(dirname "$0")" && pwd)"
dir="$here/secrets"
mesh="${MESH:-$here/../.venv/bin/mesh}"
[ -x "$mesh" ] || { echo "make-secrets: no mesh CLI at $mesh (run make setup, or set MESH)" >&2; exit 1; }
umask 077
mkdir -p "$dir/keys" "$dir/public" "$dir/tokens" "$dir/delegated"
chmod 700 "$dir" # the files must be readable by the containers' user: the folder guards them
if [ ! -s "$dir/keys/issuer.pem" ]; then
    "$mesh" keys init "$dir/keys" --jwks "$dir/public/jwks.json"
fi
if [ ! -s "$dir/delegated/orchestrator.pem" ]; then
    "$mesh" keys delegate "$dir/delegated" --jwks "$dir/public/jwks.json"
fi
[ -e "$dir/public/revoked" ] || printf '# revoked token ids, one per line (mesh token revoke)\n' >"$dir/public/revoked"
issue() { # name, lifetime in days, then `mesh token issue` arguments
    name="$1"
    days="$2"
    shift 2
    file="$dir/tokens/$name"
    # A missing token, or one within a week of its expiry, is issued (again): restart the
    # service it belongs to afterwards (Prometheus reads its token on every scrape).
    if [ ! -s "$file" ] || [ -n "$(find "$file" -mtime +$((days - 7)))" ]; then
        "$mesh" token issue --key "$dir/keys/issuer.pem" --ttl "${days}d" "$@" >"$file.new"
        mv "$file.new" "$file"
    fi
}
issue orchestrator 366 --orchestrator --audience discovery # its worker calls: the delegated key
issue prometheus 30 --client prometheus # scrapes /metrics, which takes any valid token
for agent in writer analyst lookup image-gen lora-trainer; do
    issue "$agent" 366 --agent "$agent" # the capabilities that agent declares, priority 0
done
for token in consul-token discovery-consul-token; do
    [ -s "$dir/$token" ] || python3 -c 'import uuid; print(uuid.uuid4())' >"$dir/$token"
done
# Postgres's password: random, once, in compose/.env (compose reads it; no default in the
# compose file, where every container on the network could use a published one).
if ! grep -q '^POSTGRES_PASSWORD=' "$here/.env" 2>/dev/null; then
    printf 'POSTGRES_PASSWORD=%s\n' "$(python3 -c 'import secrets; print(secrets.token_hex(24))')" >>"$here/.env"
fi
chmod 600 "$here/.env"
cat >"$dir/consul-acl.hcl" <<HCL
acl {
  enabled = true
  default_policy = "deny"
  enable_token_persistence = true
  tokens {
    initial_management = "$(cat "$dir/consul-token")"
    agent = "$(cat "$dir/consul-token")"
  }
}
HCL
chmod 755 "$dir/public"
chmod 644 "$dir/public/"* "$dir/tokens/"* "$dir/consul-token" "$dir/discovery-consul-token" \
    "$dir/consul-acl.hcl" "$dir/delegated/orchestrator.pem"
chmod 755 "$dir/tokens" "$dir/delegated"
echo "secrets in $dir: keys/issuer.pem (not mounted), delegated/ (the orchestrator's), public/, tokens/, Consul's tokens; POSTGRES_PASSWORD in $here/.env"
