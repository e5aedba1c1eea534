"""The zoo: transformers models built small from their config classes, on any device.

Each entry is (model type, config overrides, per-example shape of the main input or None for
the model's default). Small: two blocks, widths of 32-64, short sequences, small images; the
structure (attention kinds, norms, activations, sliding windows) is the real models'.
"""

from __future__ import annotations

import torch

from archcount.front.zoo import zoo_factory

TEXT = dict(vocab_size=512)
ZOO: dict[str, tuple[dict, tuple[int, ...] | None]] = {
    "gpt2": (dict(n_layer=2, n_embd=64, n_head=4, n_positions=128), (64,)),
    "bert": (
        dict(num_hidden_layers=2, hidden_size=64, num_attention_heads=4, intermediate_size=128,
             max_position_embeddings=128, **TEXT),
        (64,),
    ),
    "llama": (
        dict(num_hidden_layers=2, hidden_size=64, num_attention_heads=4, num_key_value_heads=2,
             intermediate_size=128, max_position_embeddings=128, **TEXT),
        (64,),
    ),
    "mistral": (  # a sliding window shorter than the sequence: exact attention leaves taps out
        dict(num_hidden_layers=2, hidden_size=64, num_attention_heads=4, num_key_value_heads=2,
             intermediate_size=128, max_position_embeddings=128, sliding_window=16, **TEXT),
        (64,),
    ),
    "t5": (
        dict(num_layers=2, num_decoder_layers=2, d_model=64, d_ff=128, d_kv=16, num_heads=4,
             **TEXT),
        (64,),
    ),
    "bloom": (  # ALiBi: the scores start as baddbmm(alibi, q, kᵀ), then the causal mask
        dict(n_layer=2, hidden_size=64, n_head=4, **TEXT),
        (64,),
    ),
    "bart": (  # its forward calls .item() on a mask: answered from the shadow on meta
        dict(encoder_layers=2, decoder_layers=2, d_model=64, encoder_attention_heads=4,
             decoder_attention_heads=4, encoder_ffn_dim=128, decoder_ffn_dim=128,
             max_position_embeddings=128, **TEXT),
        (64,),
    ),
    "whisper": (
        dict(encoder_layers=2, decoder_layers=2, d_model=64, encoder_attention_heads=4,
             decoder_attention_heads=4, encoder_ffn_dim=128, decoder_ffn_dim=128,
             num_mel_bins=16, max_source_positions=32, max_target_positions=64),
        None,
    ),
    "vit": (
        dict(hidden_size=64, num_hidden_layers=2, num_attention_heads=4, intermediate_size=128,
             image_size=32, patch_size=8),
        None,
    ),
    "swin": (  # two blocks in stage 1: the second is shifted, with its -100 window mask
        dict(embed_dim=16, depths=[2, 1], num_heads=[2, 4], image_size=32, patch_size=4,
             window_size=4),
        None,
    ),
    "resnet": (dict(embedding_size=16, hidden_sizes=[16, 32], depths=[1, 1]), (3, 32, 32)),
    "convnext": (dict(num_stages=2, hidden_sizes=[16, 32], depths=[1, 1], image_size=32), None),
    "mobilenet_v2": (dict(depth_multiplier=0.35, image_size=32), None),
    "regnet": (dict(embedding_size=16, hidden_sizes=[16, 32], depths=[1, 1],
                    groups_width=8), (3, 32, 32)),
}  # fmt: skip


def build(model_type: str, device: str = "meta", batch: int = 1, attention: str | None = None):
    """(model, args, kwargs) of one zoo model on `device`, its default inputs at `batch`.

    `attention` picks transformers' attention implementation ("eager": hand-written matmuls
    and softmax; "sdpa": F.scaled_dot_product_attention); None keeps the model's default.
    """
    overrides, main_shape = ZOO[model_type]
    factory = zoo_factory(f"hf:{model_type}")
    with torch.device(device):
        model = factory(**overrides)
    if attention is not None:
        model.set_attn_implementation(attention)
    specs = factory.default_inputs(model, batch, main_shape)
    args = tuple(s.tensor(device) for s in specs if not s.name)
    kwargs = {s.name: s.tensor(device) for s in specs if s.name}
    return model.eval(), args, kwargs
