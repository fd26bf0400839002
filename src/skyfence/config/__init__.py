"""Loading TOML configuration into pydantic models with errors that name file and key."""

from skyfence.config.loader import format_key, load_toml, validate_model

__all__ = ["format_key", "load_toml", "validate_model"]
