"""Session configuration: the X-Features / X-Policy / X-Config header models, the built-in
presets, and the layered resolution a request runs with (see ``resolver``)."""

from .defaults import DEFAULT_ARCH, ENDPOINT_TYPES, FORCED_ARCH, ServerInternals, preset
from .headers import XConfig, XFeatures, XPolicy
from .parse import HeaderError, KeyConfigError, parse_header
from .resolver import ResolvedConfig, parse_model, resolve, validate_key_base
from .validate import validate_headers

__all__ = [
    "DEFAULT_ARCH",
    "ENDPOINT_TYPES",
    "FORCED_ARCH",
    "HeaderError",
    "KeyConfigError",
    "ResolvedConfig",
    "ServerInternals",
    "XConfig",
    "XFeatures",
    "XPolicy",
    "parse_header",
    "parse_model",
    "preset",
    "resolve",
    "validate_headers",
    "validate_key_base",
]
