"""The hazmat layer: small, typed, pure (no I/O, no clock, no UI). Reach it through the recipes."""
