"""Build: one manuscript (single), many in parallel and incrementally (batch, state, cluster), outputs."""
