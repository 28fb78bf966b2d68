"""Process settings, read once at the edge (CLI, Serve deployment builder) and passed inward."""

from config.settings import Settings

__all__ = ["Settings"]
