"""Baselines measured in the same run as the server: the runtime floor, a lazy-loading server, a peer."""
