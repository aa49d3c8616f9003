"""A tiny GGUF causal LM for tests: what the workers' GGUF loading and model cache do, in a
second instead of SmolLM2's tens.

``write_tiny_gguf(path)`` writes a one-layer Llama (hidden size 64) in the file layout of the
bundled SmolLM2 GGUF: the embedding in Q8_0, the projections in Q4_1 (so transformers
dequantizes both, as for the real file), norms in F32, the output head tied to the
embedding, and a byte-level BPE vocabulary (the 256 bytes, three ChatML control tokens and
a few merges) with a ChatML chat template. The weights are random but fixed by ``seed``.
"""

from __future__ import annotations

from pathlib import Path

ARCH = "llama"
HIDDEN, FFN, HEADS, KV_HEADS, LAYERS = 64, 128, 2, 1, 1
SPECIALS = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]
MERGES = ["Ġ t", "Ġ a", "h e", "i n", "r e", "o n", "Ġt he", "e r"]
CHAT_TEMPLATE = (
    "{% for message in messages %}<|im_start|>{{ message['role'] }}\n"
    "{{ message['content'] }}<|im_end|>\n{% endfor %}"
    "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)


def _byte_alphabet() -> list[str]:
    """GPT-2's printable spelling of the 256 bytes, in byte order."""
    keep = [*range(ord("!"), ord("~") + 1), *range(ord("¡"), ord("¬") + 1)]
    keep += range(ord("®"), ord("ÿ") + 1)
    spelled, n = {}, 0
    for b in range(256):
        if b in keep:
            spelled[b] = chr(b)
        else:
            spelled[b] = chr(256 + n)
            n += 1
    return [spelled[b] for b in range(256)]


def write_tiny_gguf(path: Path, seed: int = 0) -> Path:
    """Write the tiny model to ``path`` (a ``.gguf`` file); returns ``path``."""
    import gguf
    import numpy as np

    Q = gguf.GGMLQuantizationType
    tokens = SPECIALS + _byte_alphabet()
    tokens += ["".join(m.split(" ")) for m in MERGES]
    types = [3] * len(SPECIALS) + [1] * (len(tokens) - len(SPECIALS))  # 3: control, 1: normal
    w = gguf.GGUFWriter(str(path), ARCH)
    w.add_name("tiny-test-llama")
    w.add_block_count(LAYERS)
    w.add_context_length(256)
    w.add_embedding_length(HIDDEN)
    w.add_feed_forward_length(FFN)
    w.add_head_count(HEADS)
    w.add_head_count_kv(KV_HEADS)
    w.add_rope_dimension_count(HIDDEN // HEADS)
    w.add_rope_freq_base(10000.0)
    w.add_layer_norm_rms_eps(1e-5)
    w.add_vocab_size(len(tokens))
    w.add_tokenizer_model("gpt2")
    w.add_tokenizer_pre("smollm")
    w.add_token_list(tokens)
    w.add_token_types(types)
    w.add_token_merges(MERGES)
    w.add_bos_token_id(1)
    w.add_eos_token_id(2)
    w.add_unk_token_id(0)
    w.add_pad_token_id(2)
    w.add_add_bos_token(False)
    w.add_chat_template(CHAT_TEMPLATE)
    rng = np.random.default_rng(seed)

    def tensor(name: str, shape: tuple[int, ...], qtype: gguf.GGMLQuantizationType) -> None:
        data = (rng.standard_normal(shape) * 0.05).astype(np.float32)
        if qtype == Q.F32:
            w.add_tensor(name, data)
            return
        packed = gguf.quants.quantize(data, qtype)
        w.add_tensor(name, packed, raw_shape=packed.shape, raw_dtype=qtype)

    head = HIDDEN // HEADS
    tensor("token_embd.weight", (len(tokens), HIDDEN), Q.Q8_0)
    for i in range(LAYERS):
        tensor(f"blk.{i}.attn_norm.weight", (HIDDEN,), Q.F32)
        tensor(f"blk.{i}.ffn_norm.weight", (HIDDEN,), Q.F32)
        tensor(f"blk.{i}.attn_q.weight", (HIDDEN, HIDDEN), Q.Q4_1)
        tensor(f"blk.{i}.attn_k.weight", (head * KV_HEADS, HIDDEN), Q.Q4_1)
        tensor(f"blk.{i}.attn_v.weight", (head * KV_HEADS, HIDDEN), Q.Q4_1)
        tensor(f"blk.{i}.attn_output.weight", (HIDDEN, HIDDEN), Q.Q4_1)
        tensor(f"blk.{i}.ffn_gate.weight", (FFN, HIDDEN), Q.Q4_1)
        tensor(f"blk.{i}.ffn_up.weight", (FFN, HIDDEN), Q.Q4_1)
        tensor(f"blk.{i}.ffn_down.weight", (HIDDEN, FFN), Q.Q4_1)
    tensor("output_norm.weight", (HIDDEN,), Q.F32)
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()
    return path
