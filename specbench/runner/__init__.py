"""The open-loop dispatcher and where its per-request records go."""
