"""Generator backends: chat messages in, text out, whole or as a stream of deltas."""
