"""Kept for imports written before the kvplan.hf package: the same entry points."""

from kvplan.hf import spec_from_hf_config, spec_mapping_from_hf_config

__all__ = ["spec_from_hf_config", "spec_mapping_from_hf_config"]
