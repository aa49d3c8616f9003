"""``mesh``: the command-line client of the agent mesh (HTTP only)."""
