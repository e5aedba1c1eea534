"""The zoo: transformers models built small from their config classes, on any device.

Each entry is (model type, config overrides, per-example shape of the main input or None for
the model's default). Small: two blocks, widths of 32-64, short sequences, small images; the
structure (attention kinds, norms, activations, sliding windows) is the real models'.
"""

from __future__ import annotations

from functools import cache

import torch

import archcount
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

# Issue 20's wider sweep: the model types it names, small (tests/zoo/test_wider.py)
BERTISH = dict(
    num_hidden_layers=2,
    hidden_size=64,
    num_attention_heads=4,
    intermediate_size=128,
    max_position_embeddings=128,
    **TEXT,
)
WIDER: dict[str, tuple[dict, tuple[int, ...] | None]] = {
    "wavlm": (  # its attention runs F.linear as mm + bias add at batch > 1
        dict(num_hidden_layers=2, hidden_size=64, num_attention_heads=4, intermediate_size=128,
             conv_dim=(32, 32), conv_stride=(5, 2), conv_kernel=(10, 3),
             num_conv_pos_embeddings=16, num_conv_pos_embedding_groups=4, num_buckets=32,
             max_bucket_distance=100),
        (800,),
    ),
    "jamba": (  # mamba and attention layers, a mixture of experts routed over the batch
        dict(num_hidden_layers=2, hidden_size=64, num_attention_heads=4, num_key_value_heads=2,
             intermediate_size=128, num_experts=4, num_experts_per_tok=2, expert_layer_period=2,
             expert_layer_offset=1, attn_layer_period=2, attn_layer_offset=0, mamba_d_state=8,
             mamba_expand=2, mamba_dt_rank=8, **TEXT),
        (32,),
    ),
    "deberta": (  # rel_embeddings.weight read straight from an Embedding that never runs
        dict(BERTISH, relative_attention=True, max_relative_positions=32,
             pos_att_type=["c2p", "p2c"]),
        (32,),
    ),
    "fnet": (  # a DFT mixes the tokens
        dict(num_hidden_layers=2, hidden_size=64, intermediate_size=128,
             max_position_embeddings=128, **TEXT),
        (32,),
    ),
    "longt5": (  # transient-global attention: one_hot block ids
        dict(num_layers=2, num_decoder_layers=2, d_model=64, d_ff=128, d_kv=16, num_heads=4,
             local_radius=8, encoder_attention_type="transient-global", global_block_size=4,
             **TEXT),
        (32,),
    ),
    "prophetnet": (  # scores + a computed position bias + a causal mask, a cache from empty
        dict(num_encoder_layers=2, num_decoder_layers=2, hidden_size=64,
             num_encoder_attention_heads=4, num_decoder_attention_heads=4, encoder_ffn_dim=128,
             decoder_ffn_dim=128, max_position_embeddings=256, ngram=2, num_buckets=8,
             relative_max_distance=32, **TEXT),
        (32,),
    ),
    "squeezebert": (  # transformers' pad_token_id in input_ids[:, [-1, 0]] check
        dict(BERTISH, embedding_size=64, q_groups=2, k_groups=2, v_groups=2,
             post_attention_groups=2, intermediate_groups=2, output_groups=2),
        (32,),
    ),
    "convbert": (dict(BERTISH, embedding_size=64), (32,)),
    "nystromformer": (dict(BERTISH, num_landmarks=8, segment_means_seq_len=32), (32,)),
    "layoutlm": (dict(BERTISH, max_2d_position_embeddings=128), (32,)),
}  # fmt: skip


def build(model_type: str, device: str = "meta", batch: int = 1, attention: str | None = None):
    """(model, args, kwargs) of one zoo model on `device`, its default inputs at `batch`.

    `attention` picks transformers' attention implementation ("eager": hand-written matmuls
    and softmax; "sdpa": F.scaled_dot_product_attention); None keeps the model's default.
    """
    overrides, main_shape = ZOO[model_type] if model_type in ZOO else WIDER[model_type]
    factory = zoo_factory(f"hf:{model_type}")
    with torch.device(device):
        model = factory(**overrides)
    if attention is not None:
        model.set_attn_implementation(attention)
    specs = factory.default_inputs(model, batch, main_shape)
    args = tuple(s.tensor(device) for s in specs if not s.name)
    kwargs = {s.name: s.tensor(device) for s in specs if s.name}
    return model.eval(), args, kwargs


@cache
def counted(model_type: str, device: str = "meta", batch: int = 1):
    """(model, args, kwargs, report) of one zoo model, counted once per device and batch."""
    model, args, kwargs = build(model_type, device, batch)
    report = archcount.count(model, example_input=args or None, example_kwargs=kwargs)
    return model, args, kwargs, report
