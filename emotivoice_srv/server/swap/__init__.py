"""Hot upgrade of a tier's model version: verify, load beside, warm, canary, switch, drain, unload
(docs/lifecycle.md)."""
