"""Batch simulation of candidates on the adaptive engine: `fast` (the vectorized core in Ray tasks) and
`live` (the real session actors and graph)."""
