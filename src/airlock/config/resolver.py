"""Builds the session configuration a request runs with, from four layers.

    built-in preset (endpoint type, arch)  <  API key's saved config  <  X-Features
    <  X-Policy  <  X-Config  <  request model and X-Api-Key

The arch is decided first (LangGraph forces dual-llm; else X-Features, else the key, else the
endpoint default) and the preset of *that* arch is the base. So an ``X-Features`` arch switch
rebuilds the config from the other arch's defaults, while the key's saved settings (notably its
policy) are still applied on top: a client cannot shed an operator's policy by switching arch.

A key whose policy is locked (``policy_locked``) changes how ``X-Policy`` and a few other
fields combine: see ``authority``. The resolved config records the lock, the header's extra
policy (``header_codes``) and whose code ``policy.codes`` is (``codes_authority``), which is
all ``agent.authority`` needs to build the session's policy layers.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, SecretStr, ValidationError

from .defaults import ENDPOINT_TYPES, EndpointType, ServerInternals, effective_arch, preset
from .headers import (
    AgentArch,
    FsmConfig,
    PllmPrompt,
    PolicyCode,
    PolicyPresets,
    ResponseFormat,
    XConfig,
    XFeatures,
    XPolicy,
)
from .authority import rarer_clearing, stricter_mode, stricter_presets
from .merge import deep_merge
from .parse import HeaderError, KeyConfigError, loc_path, parse_header

_KEY_SECTIONS = {"features": XFeatures, "policy": XPolicy, "config": XConfig}


class ResolvedConfig(BaseModel):
    """The fully defaulted, immutable configuration of one request/session.

    ``features``/``policy``/``config`` have every field filled (except ``defaults.NULLABLE``),
    so the shortcut properties below never return ``None``.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    endpoint_type: EndpointType
    arch: AgentArch
    features: XFeatures
    policy: XPolicy
    config: XConfig
    internals: ServerInternals = ServerInternals()
    pllm_model: str | None = None
    qllm_model: str | None = None
    byok_key: SecretStr | None = None
    policy_locked: bool = False
    header_codes: PolicyCode | None = None  # under a lock: the header's additional policy
    codes_authority: Literal["key", "header"] = "key"  # whose code ``policy.codes`` holds

    @property
    def fsm(self) -> FsmConfig:
        assert self.config.fsm is not None
        return self.config.fsm

    @property
    def pllm_prompt(self) -> PllmPrompt:
        assert self.config.prompt is not None and self.config.prompt.pllm is not None
        return self.config.prompt.pllm

    @property
    def response_format(self) -> ResponseFormat:
        assert self.config.response_format is not None
        return self.config.response_format

    @property
    def presets(self) -> PolicyPresets:
        assert self.policy.presets is not None
        return self.policy.presets

    @property
    def codes(self) -> PolicyCode:
        assert self.policy.codes is not None
        return self.policy.codes

    def to_public_json(self) -> dict[str, Any]:
        """JSON-ready dict for storage, logs and dashboards. Never contains the BYOK key; only
        whether one was given (``byok``). ``from_public_json`` reverses it."""
        out = self.model_dump(mode="json", exclude={"byok_key"})
        out["byok"] = self.byok_key is not None
        return out

    @classmethod
    def from_public_json(cls, data: dict[str, Any], byok_key: str | None = None) -> ResolvedConfig:
        body = {k: v for k, v in data.items() if k != "byok"}
        return cls.model_validate({**body, "byok_key": byok_key})


def parse_model(model: str | None) -> tuple[str | None, str | None]:
    """``"m"`` -> (m, m); ``"p,q"`` -> (p, q). Spaces are trimmed; empty parts are an error."""
    if model is None:
        return None, None
    parts = [p.strip() for p in model.split(",")]
    if len(parts) > 2:
        raise HeaderError("model", "model", "expected 'model' or 'pllm_model,qllm_model'")
    if any(not p for p in parts):
        raise HeaderError("model", "model", "model name must not be empty")
    return parts[0], parts[-1]


def layer_of(model: BaseModel | None) -> dict[str, Any]:
    """A layer as a dict of what it gives: ``None`` is "not given", except an explicit ``null``
    for a limit whose reference meaning is "unlimited" (``headers.NULL_IS_UNLIMITED``)."""
    if model is None:
        return {}
    out = model.model_dump(mode="json", exclude_none=True)
    fsm = getattr(model, "fsm", None)
    if isinstance(fsm, FsmConfig):
        for name in fsm.explicit_nulls():
            out.setdefault("fsm", {})[name] = None
    return out


def validate_key_base(key_base: dict[str, Any] | None) -> dict[str, Any]:
    """Check a key's saved config ``{"arch"?, "features"?, "policy"?, "config"?}`` and return it
    as layers (``None`` stripped). For the key store, CLI and dashboard as well as ``resolve``."""
    if not key_base:
        return {}
    if not isinstance(key_base, dict):
        raise KeyConfigError("key config must be an object")
    unknown = set(key_base) - {"arch", *_KEY_SECTIONS}
    if unknown:
        raise KeyConfigError(f"key config has unknown sections: {', '.join(sorted(unknown))}")
    out: dict[str, Any] = {}
    for name, model in _KEY_SECTIONS.items():
        if key_base.get(name) is not None:
            out[name] = layer_of(_validate_key_section(name, model, key_base[name]))
    if key_base.get("arch") is not None:
        out["arch"] = _validate_key_section("arch", XFeatures, {"agent_arch": key_base["arch"]}).agent_arch
    return out


def _validate_key_section(name: str, model: type[BaseModel], data: Any) -> Any:
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        err = exc.errors(include_url=False)[0]
        raise KeyConfigError(f"key config {name}: {loc_path(err['loc'])}: {err['msg']}") from None


def resolve(
    endpoint_type: str,
    *,
    key_base: dict[str, Any] | None,
    x_features: str | None,
    x_policy: str | None,
    x_config: str | None,
    model: str | None,
    byok_key: str | None,
    policy_locked: bool = False,
) -> ResolvedConfig:
    """Resolve one request's configuration. Raises ``HeaderError`` (-> HTTP 400) for bad client
    input, ``KeyConfigError`` for a bad saved key config, ``ValueError`` for an unknown endpoint."""
    if endpoint_type not in ENDPOINT_TYPES:
        raise ValueError(f"unknown endpoint type {endpoint_type!r}")
    key = validate_key_base(key_base)
    headers = {
        "features": parse_header("X-Features", x_features),
        "policy": parse_header("X-Policy", x_policy),
        "config": parse_header("X-Config", x_config),
    }
    pllm_model, qllm_model = parse_model(model)

    features_hdr = headers["features"]
    key_arch = key.get("features", {}).get("agent_arch") or key.get("arch")
    requested = (features_hdr.agent_arch if isinstance(features_hdr, XFeatures) else None) or key_arch
    arch = effective_arch(endpoint_type, requested)
    if policy_locked and arch == "single-llm" and effective_arch(endpoint_type, key_arch) == "dual-llm":
        raise HeaderError("X-Features", "agent_arch", "this key's policy is locked to dual-llm mode; single-llm "
                          "mode tracks no data-flow metadata, so it cannot enforce that policy")

    merged = preset(endpoint_type, arch)
    header_policy = layer_of(headers["policy"])
    for section in ("features", "policy", "config"):
        deep_merge(merged[section], key.get(section, {}))
        if not (policy_locked and section == "policy"):
            deep_merge(merged[section], layer_of(headers[section]))
    merged["features"]["agent_arch"] = arch  # a forced arch wins over what any layer said
    header_codes = None
    if policy_locked:
        header_codes, key_clearing = _lock(merged, header_policy), _key_clearing(key, endpoint_type, arch)
        fsm = merged["config"]["fsm"]
        fsm["clear_session_meta"] = rarer_clearing(key_clearing, fsm["clear_session_meta"])

    key_text = byok_key.strip() if byok_key else ""
    return ResolvedConfig(
        endpoint_type=endpoint_type,  # type: ignore[arg-type]
        arch=arch,
        features=XFeatures.model_validate(merged["features"]),
        policy=XPolicy.model_validate(merged["policy"]),
        config=XConfig.model_validate(merged["config"]),
        pllm_model=pllm_model,
        qllm_model=qllm_model,
        byok_key=SecretStr(key_text) if key_text else None,
        policy_locked=policy_locked,
        header_codes=header_codes,
        codes_authority="header" if not policy_locked and "codes" in header_policy else "key",
    )


def _lock(merged: dict[str, Any], header: dict[str, Any]) -> PolicyCode | None:
    """Apply a locked key's rules to ``merged["policy"]`` (preset < key only so far); return the
    header's code as the additional policy it becomes (``None`` if it has none)."""
    policy = merged["policy"]
    for name in ("fail_fast", "auto_gen"):  # how a verdict is recorded, not what it is
        if header.get(name) is not None:
            policy[name] = header[name]
    if header.get("mode") is not None:
        policy["mode"] = stricter_mode(policy["mode"], header["mode"])
    if header.get("presets"):
        policy["presets"] = stricter_presets(policy["presets"], header["presets"])
    codes = header.get("codes")
    if not codes or not str(codes.get("code", "")).strip():
        return None
    return PolicyCode.model_validate(codes)


def _key_clearing(key: dict[str, Any], endpoint_type: str, arch: AgentArch) -> str:
    """``clear_session_meta`` as the key alone resolves it."""
    value = key.get("config", {}).get("fsm", {}).get("clear_session_meta")
    return str(value or preset(endpoint_type, arch)["config"]["fsm"]["clear_session_meta"])
