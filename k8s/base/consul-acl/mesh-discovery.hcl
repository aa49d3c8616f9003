# What discovery's Consul token (DISCOVERY_CONSUL_TOKEN) may do: register, check and
# deregister the mesh's service, keep its descriptors under the mesh's key prefix, and read
# nodes, health and the local agent. Nothing else: not other services, keys or ACLs.
service_prefix "mesh-agent" {
  policy = "write"
}
key_prefix "mesh/agents/" {
  policy = "write"
}
node_prefix "" {
  policy = "read"
}
agent_prefix "" {
  policy = "read"
}
