"""Mamba-2 hybrids: Nemotron-H (hybrid_override_pattern), Bamba (attn_layer_indices) and
Falcon-H1 (attention and Mamba-2 side by side in every layer)."""

from __future__ import annotations

from kvplan.hf.core import ROTARY_WIDTH_KEYS, Family, HFConfig, base, full, layout, one_rotary_width, rotary_factor
from kvplan.hf.dtypes import DTYPES
from kvplan.hf.families.mamba import SCAN_SETTINGS, mamba2_state

def _dtype(c: HFConfig, key: str, value: str) -> str:
    if not isinstance(value, str) or value.lower() not in DTYPES:
        raise c.error(f"{c.where(key)} {value!r} is not one of bfloat16, float16, float32")
    return DTYPES[value.lower()]


def read_nemotron_h(c: HFConfig) -> dict:
    # NemotronHConfig: hybrid_override_pattern holds one character per layer: M a Mamba-2
    # mixer, * attention, - an MLP, E a MoE block (vLLM nemotron_h.py ALL_DECODER_LAYER_TYPES).
    # Only M and * layers cache. Attention: num_key_value_heads heads of head_dim
    # (attention_head_dim in older configs). Mamba-2: mamba_num_heads x mamba_head_dim
    # channels (not expand x hidden_size: Nemotron-3-Nano's expand does not match them),
    # n_groups groups of ssm_state_size, conv_kernel; the recurrent state in
    # mamba_ssm_cache_dtype when the config names one, else left to the engine (vLLM's
    # NemotronH config hook picks it by release: kvplan.engines.vllm_rules mamba_ssm_cache_dtype),
    # the conv state in the model dtype.
    m = base(c, read_intermediate=False)
    pattern = c.raw("hybrid_override_pattern", None)
    if not isinstance(pattern, str) or len(pattern) != m["num_layers"] or set(pattern) - set("M*-E"):
        raise c.error(f"hybrid_override_pattern must be one of M * - E per layer ({m['num_layers']} layers)")
    head_dim = c.raw("head_dim", None) or c.raw("attention_head_dim", None)
    if head_dim is not None:
        m["head_dim"] = c.check_int("head_dim", head_dim)
    if c.window() is not None:
        raise c.error("sliding_window is set: sliding attention in Nemotron-H is not modelled")
    ssm_dtype = None
    if c.has("mamba_ssm_cache_dtype"):
        ssm_dtype = _dtype(c, "mamba_ssm_cache_dtype", c.raw("mamba_ssm_cache_dtype", None))
    else:
        c.note("mamba_ssm_cache_dtype not in the config: the recurrent state in the model dtype; vLLM picks it "
               "by release (float16 in 0.13.0-0.19.1, float32 from 0.20.0; --engine vllm==X applies it)")
    heads, head = c.int("mamba_num_heads"), c.int("mamba_head_dim")
    mamba = mamba2_state(heads * head, c.int("n_groups"), heads, head, c.int("ssm_state_size"),
                         c.int("conv_kernel"), ssm_dtype)
    names = {"M": "mamba", "*": "attention", "-": "mlp", "E": "moe"}
    kinds = {"mamba": mamba, "attention": full(), "mlp": {"kind": "no_cache"}, "moe": {"kind": "no_cache"}}
    m["cache"] = layout(kinds, [names[ch] for ch in pattern])
    # expand: a Mamba-2 convention the mixer does not read (see above); mamba_hidden_act /
    # mlp_hidden_act: activations (relu2: the MLPs and experts are up -> relu^2 -> down, not
    # gated); mamba_proj_bias: not read by vLLM, which takes use_bias for in/out_proj.
    # time_step_rank: a Mamba 1 size Mamba-2 mixers do not use.
    c.ignore("expand", "mamba_hidden_act", "mamba_proj_bias", "mlp_hidden_act", "time_step_rank")
    m["ssm"] = {"type": "mamba2", "conv_bias": c.flag("use_conv_bias", True), "proj_bias": c.flag("use_bias", False)}
    # vLLM NemotronHAttention builds q/k/v/o without biases whatever attention_bias says.
    if c.flag("attention_bias", False):
        c.weights_need("attention_bias true: vLLM's NemotronHAttention builds no attention biases")
    m.update(mlp_gated=False, mlp_bias=c.flag("mlp_bias", False), norms_per_layer=2)
    m.update(c.weights_only(lambda: _nemotron_h_ffn(c, pattern)) or {})
    # n_group / topk_group / norm_topk_prob / routed_scaling_factor: routing, not shapes.
    c.ignore("n_group", "topk_group", "norm_topk_prob", "routed_scaling_factor")
    # vLLM's NemotronHAttention has no rotary embedding (nemotron_h.py builds no get_rope in any
    # release, 0.9.1-0.23.0): no cos/sin table, and rotary keys of the config shape nothing.
    m["position_embedding"] = "none"
    c.ignore(*ROTARY_WIDTH_KEYS)
    return m


def _nemotron_h_ffn(c: HFConfig, pattern: str) -> dict:
    """Nemotron-H's blocks (vLLM nemotron_h.py): each layer is one RMSNorm and one mixer.
    ``-`` layers hold a NemotronHMLP (up, relu^2, down) of intermediate_size (a list gives
    one width per ``-`` layer, in order); ``E`` layers a NemotronHMoE: a bias-free router of
    n_routed_experts with an fp32 e_score_correction_bias, non-gated experts of
    moe_intermediate_size and one shared non-gated MLP of n_shared_experts x
    moe_shared_expert_intermediate_size; ``M`` / ``*`` layers no feed-forward block."""
    if c.raw("moe_latent_size", None) is not None:
        raise c.error("moe_latent_size (latent MoE projections) is not modelled")
    widths = c.raw("intermediate_size", None)
    mlp_layers = pattern.count("-")
    if isinstance(widths, list):
        if len(widths) not in (1, mlp_layers) or any(not isinstance(w, int) or w <= 0 for w in widths):
            raise c.error(f"intermediate_size must list one width or one per MLP layer ({mlp_layers})")
        widths = widths * mlp_layers if len(widths) == 1 else widths
    elif mlp_layers:
        widths = [c.int("intermediate_size")] * mlp_layers
    kinds, labels, seen = {"none": {"kind": "none"}}, [], 0
    for ch in pattern:
        if ch == "-":
            label = f"mlp_{widths[seen]}"
            kinds[label] = {"kind": "mlp", "intermediate_size": widths[seen]}
            seen += 1
        elif ch == "E":
            label = "moe"
            kinds[label] = {"kind": "moe"}
        else:
            label = "none"
        labels.append(label)
    out = {"ffn": ffn_layout(kinds, labels)}
    if "E" in pattern:
        shared = c.count("n_shared_experts", 0)
        out["moe"] = {"num_experts": c.int("n_routed_experts"), "experts_per_token": c.int("num_experts_per_tok"),
                      "expert_intermediate_size": c.int("moe_intermediate_size"), "num_shared_experts": min(shared, 1),
                      "router_bias": True}
        if shared:
            out["moe"]["shared_expert_intermediate_size"] = shared * c.int("moe_shared_expert_intermediate_size")
    else:
        c.ignore("n_routed_experts", "num_experts_per_tok", "moe_intermediate_size", "n_shared_experts",
                 "moe_shared_expert_intermediate_size")
    return out


def ffn_layout(kinds: dict, labels: list[str]) -> dict:
    """An ``ffn`` mapping for per-layer labels (pattern when periodic, else layer_types)."""
    used = {k: kinds[k] for k in dict.fromkeys(labels)}
    if len(used) == 1:
        return {"kinds": used}
    n = len(labels)
    for period in range(1, n // 2 + 1):
        if all(labels[i] == labels[i % period] for i in range(n)):
            return {"kinds": used, "pattern": labels[:period]}
    return {"kinds": used, "layer_types": labels}


def read_bamba(c: HFConfig) -> dict:
    # BambaConfig (Bamba-9B; vLLM bamba.py): attention in the layers listed in
    # attn_layer_indices, Mamba-2 elsewhere with intermediate = mamba_expand x hidden_size
    # (mamba_d_head "auto" = that / mamba_n_heads), mamba_n_groups groups of mamba_d_state,
    # mamba_d_conv. attn_rotary_emb: rotary channels of each head (partial RoPE).
    m = base(c)
    n = m["num_layers"]
    attn = c.raw("attn_layer_indices", None) or []
    if not isinstance(attn, list) or any(not isinstance(i, int) or not 0 <= i < n for i in attn):
        raise c.error(f"attn_layer_indices must list layers in 0..{n - 1}")
    intermediate = c.int("mamba_expand") * m["hidden_size"]
    heads = c.int("mamba_n_heads")
    head = c.raw("mamba_d_head", "auto")
    head = intermediate // heads if head == "auto" else c.check_int("mamba_d_head", head)
    if heads * head != intermediate:
        raise c.error(f"mamba_n_heads x mamba_d_head = {heads * head} differs from mamba_expand x hidden_size "
                      f"= {intermediate}")
    mamba = mamba2_state(intermediate, c.int("mamba_n_groups"), heads, head, c.int("mamba_d_state"),
                         c.int("mamba_d_conv"))
    m["cache"] = layout({"attention": full(), "mamba": mamba}, ["attention" if i in attn else "mamba" for i in range(n)])
    # vLLM bamba.py BambaMixerDecoderLayer: MambaMixer2 (gated norm on) with use_conv_bias =
    # mamba_conv_bias, use_bias = mamba_proj_bias; every layer also has a SwiGLU MLP and two
    # RMSNorms; attention q/k/v/o carry no biases.
    m["ssm"] = {"type": "mamba2", "conv_bias": c.flag("mamba_conv_bias", True),
                "proj_bias": c.flag("mamba_proj_bias", False)}
    c.ignore("mamba_dt_rank", "mamba_chunk_size", "z_loss_coefficient")
    head = m["hidden_size"] // m["num_attention_heads"]
    if (rotary := _attn_rotary_emb_width(c, head, "0.8.0-0.12.0", rotary_factor(c, "partial_rotary_factor") or 0.5)):
        m["rotary_dim"] = rotary
    return m


def _attn_rotary_emb_width(c: HFConfig, head: int, before: str, factor: float | None) -> int | None:
    """vLLM's rotary table width for Bamba (bamba.py BambaAttentionDecoderLayer, head_dim = hidden
    / heads) and Falcon-H1 (falcon_h1.py FalconH1AttentionDecoderLayer, head_dim = config.head_dim
    or hidden / heads). Up to 0.12.0 ``before``: head_dim x partial_rotary_factor when the config
    object has one, else attn_rotary_emb, else the head (Bamba 0.8.0 :167-174, 0.9.2 :172-179,
    0.10.0 :171-178 with int(), 0.11.2 :185-192, 0.12.0 :181-188; Falcon-H1 0.9.2 :229-236, 0.12.0
    :245-252). BambaConfig sets partial_rotary_factor 0.5 itself, a config.json value overriding
    it (transformers v4.57.1 models/bamba/configuration_bamba.py :169 before super().__init__ at
    :194); FalconH1Config has none. From 0.13.0 rope_parameters["partial_rotary_factor"] =
    attn_rotary_emb (default head_dim) / head_dim, over any fraction of the config (Bamba 0.13.0
    :181-184, 0.23.0 :183-186; Falcon-H1 0.13.0 :245-248, 0.23.0 :251-254). Bamba-9B: 64 of 128
    both ways. ``factor``: the fraction the releases up to 0.12.0 read, None when there is none."""
    attn = c.raw("attn_rotary_emb", None)
    attn = head if attn is None else c.check_int("attn_rotary_emb", attn)
    field = "partial_rotary_factor" if factor is not None and c.has("partial_rotary_factor") else "attn_rotary_emb"
    return one_rotary_width(c, head, field, {before: head * factor if factor is not None else attn,
                                             "0.13.0+": int(head * (attn / head))})


def read_falcon_h1(c: HFConfig) -> dict:
    # FalconH1Config (vLLM falcon_h1.py): every decoder layer runs attention and a Mamba-2
    # mixer in parallel on the same input, so every layer keeps both caches
    # (kvplan.layers.AttentionWithState). Mamba-2 channels: mamba_d_ssm, else mamba_expand x
    # hidden_size; mamba_n_heads heads of mamba_d_head, mamba_n_groups groups of
    # mamba_d_state, mamba_d_conv. attn_layer_indices null: attention in every layer.
    m = base(c)
    if c.raw("attn_layer_indices", None) is not None:
        raise c.error("attn_layer_indices is set: Falcon-H1 with attention in some layers only is not modelled")
    intermediate = c.raw("mamba_d_ssm", None)
    intermediate = c.check_int("mamba_d_ssm", intermediate) if intermediate else c.int("mamba_expand") * m["hidden_size"]
    heads, head = c.int("mamba_n_heads"), c.int("mamba_d_head")
    if heads * head != intermediate:
        raise c.error(f"mamba_n_heads x mamba_d_head = {heads * head} differs from the Mamba-2 width {intermediate}")
    state = mamba2_state(intermediate, c.int("mamba_n_groups"), heads, head, c.int("mamba_d_state"), c.int("mamba_d_conv"))
    state.pop("kind")
    m["cache"] = {"kinds": {"hybrid": {"kind": "attention_with_state", "state": state}}}
    # Weights (vLLM falcon_h1.py FalconH1ParallelHybrid): attention (q/k/v/o, no biases) and
    # a MambaMixer2 (conv bias mamba_conv_bias, in/out_proj bias mamba_proj_bias, its gated
    # norm only with mamba_rms_norm) side by side, then a SwiGLU MLP; two RMSNorms
    # (input_layernorm, pre_ff_layernorm). mamba_expand: superseded by mamba_d_ssm;
    # mamba_chunk_size: the scan's chunking; mamba_norm_before_gate: where the gated norm
    # sits; the multipliers (mlp_multipliers, ssm_multipliers ...): muP scalars.
    m["ssm"] = {"type": "mamba2", "conv_bias": c.flag("mamba_conv_bias", True),
                "proj_bias": c.flag("mamba_proj_bias", False), "inner_norm": c.flag("mamba_rms_norm", False)}
    if not c.flag("mamba_use_mlp", True):
        raise c.error("mamba_use_mlp false: a Falcon-H1 layer without its MLP is not modelled")
    for key in ("attention_bias", "projectors_bias"):
        if c.flag(key, False):
            c.weights_need(f"{key} true: vLLM's falcon_h1.py builds its projections without biases")
    c.ignore("mamba_expand", "mamba_chunk_size", "mamba_norm_before_gate", "mlp_multipliers", "ssm_multipliers",
             "mlp_expansion_factor", "attn_layer_indices")
    m["mlp_bias"] = c.flag("mlp_bias", False)
    head = m.get("head_dim") or m["hidden_size"] // m["num_attention_heads"]
    if (rotary := _attn_rotary_emb_width(c, head, "0.9.0-0.12.0", rotary_factor(c, "partial_rotary_factor"))):
        m["rotary_dim"] = rotary
    return m


# KV heads: BambaConfig and FalconH1Config (transformers v4.57.1 models/bamba/configuration_bamba.py,
# models/falcon_h1/configuration_falcon_h1.py) 8, null -> the heads. NemotronHConfig is remote
# code (not in transformers 4.57.1 nor in vLLM 0.19.1's _CONFIG_REGISTRY): no default known,
# a config without num_key_value_heads is refused.
NEMOTRON_H = Family(read_nemotron_h, "NemotronHConfig", {"tie_word_embeddings": False}, ignored=SCAN_SETTINGS)
BAMBA = Family(read_bamba, "BambaConfig",
               {"hidden_size": 4096, "num_hidden_layers": 32, "num_attention_heads": 32, "num_key_value_heads": 8,
                "tie_word_embeddings": False, "max_position_embeddings": 262144, "mamba_n_heads": 128,
                "mamba_d_head": "auto", "mamba_n_groups": 1, "mamba_d_state": 256, "mamba_d_conv": 4},
               ignored=SCAN_SETTINGS)
FALCON_H1 = Family(read_falcon_h1, "FalconH1Config",
                   {"hidden_size": 4096, "num_hidden_layers": 32, "num_attention_heads": 32, "num_key_value_heads": 8,
                    "tie_word_embeddings": False}, ignored=SCAN_SETTINGS)
