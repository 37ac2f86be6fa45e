"""Rejoinder: self-hosted, privacy-first comments for blogs and news sites."""

__version__ = "0.1.0.dev0"
