"""Bundled example datasets (stub; being written)."""
