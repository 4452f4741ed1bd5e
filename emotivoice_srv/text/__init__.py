"""Text front end: written English -> spoken words (normalize) -> phonemes (g2p) -> chunks."""
