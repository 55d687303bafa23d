"""Measure training steps of small GPT models on one real GPU and write them as cases.

Needs PyTorch with CUDA (not a megapod dependency). Run on the GPU machine::

    python benchmarks/measure_gpt_steps.py --out measured.yaml
    megapod predict train measured.yaml

Each model is a plain pre-norm GPT decoder (learned positions, GELU MLP of 4h, untied output
layer) trained with fused AdamW under bf16 autocast and PyTorch's fused causal attention
(``scaled_dot_product_attention``), so the cases say ``flash_attention`` era (the source key
carries the measurement's year and month). Step time is the mean over ``--steps`` steps after
``--warmup`` steps, forward + backward + optimizer, timed with CUDA synchronisation. TFLOP/s
per GPU are model FLOP (three forward passes, full score matrix), the convention of
:func:`megapod.physics.perf.model_flops_per_token`.
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
import time
from typing import Any

import yaml

from megapod.physics.perf import TransformerModel, model_flops_per_token

#: (name, layers, hidden, heads) of the measured family (GPT-3 paper, Table 2.1 small sizes).
SIZES = {
    "gpt-125m": (12, 768, 12),
    "gpt-350m": (24, 1024, 16),
    "gpt-760m": (24, 1536, 16),
    "gpt-1.3b": (24, 2048, 16),
    "gpt-2.7b": (32, 2560, 32),
}
VOCAB = 50304  # GPT-2's 50257 padded to a multiple of 128
CATALOG_NAMES = [
    ("H200", "h200"),
    ("H100", "h100-sxm"),
    ("GB200", "gb200"),
    ("B200", "b200"),
    ("A100-SXM4-80GB", "a100-80gb-sxm"),
    ("A100-SXM4-40GB", "a100-40gb-sxm"),
]


def catalog_gpu(device_name: str) -> str:
    """The catalog GPU name of a CUDA device name (e.g. 'NVIDIA H100 80GB HBM3')."""
    for token, name in CATALOG_NAMES:
        if token in device_name:
            return name
    raise SystemExit(f"no catalog GPU for device {device_name!r}; add it to CATALOG_NAMES")


def build(torch: Any, layers: int, hidden: int, heads: int, seq: int) -> Any:
    """A GPT decoder as a torch module."""
    nn = torch.nn
    fn = torch.nn.functional

    class Block(nn.Module):  # type: ignore[misc]
        def __init__(self) -> None:
            super().__init__()
            self.ln1 = nn.LayerNorm(hidden)
            self.qkv = nn.Linear(hidden, 3 * hidden)
            self.proj = nn.Linear(hidden, hidden)
            self.ln2 = nn.LayerNorm(hidden)
            self.fc1 = nn.Linear(hidden, 4 * hidden)
            self.fc2 = nn.Linear(4 * hidden, hidden)

        def forward(self, x: Any) -> Any:
            b, s, _ = x.shape
            q, k, v = self.qkv(self.ln1(x)).split(hidden, dim=2)
            q, k, v = (t.view(b, s, heads, hidden // heads).transpose(1, 2) for t in (q, k, v))
            y = fn.scaled_dot_product_attention(q, k, v, is_causal=True)
            x = x + self.proj(y.transpose(1, 2).reshape(b, s, hidden))
            return x + self.fc2(fn.gelu(self.fc1(self.ln2(x))))

    class GPT(nn.Module):  # type: ignore[misc]
        def __init__(self) -> None:
            super().__init__()
            self.tok = nn.Embedding(VOCAB, hidden)
            self.pos = nn.Embedding(seq, hidden)
            self.blocks = nn.ModuleList(Block() for _ in range(layers))
            self.ln = nn.LayerNorm(hidden)
            self.head = nn.Linear(hidden, VOCAB, bias=False)

        def forward(self, idx: Any) -> Any:
            x = self.tok(idx) + self.pos(torch.arange(idx.shape[1], device=idx.device))
            for block in self.blocks:
                x = block(x)
            return self.head(self.ln(x))

    return GPT()


def measure(torch: Any, name: str, seq: int, micro_batch: int, steps: int, warmup: int) -> float:
    """Mean step time of one model [s]."""
    layers, hidden, heads = SIZES[name]
    model = build(torch, layers, hidden, heads, seq).cuda()
    opt = torch.optim.AdamW(model.parameters(), lr=1e-4, fused=True)
    data = torch.randint(0, VOCAB, (micro_batch, seq + 1), device="cuda")
    times = []
    for i in range(warmup + steps):
        torch.cuda.synchronize()
        start = time.perf_counter()
        with torch.autocast("cuda", dtype=torch.bfloat16):
            logits = model(data[:, :-1])
            loss = torch.nn.functional.cross_entropy(logits.float().view(-1, VOCAB), data[:, 1:].reshape(-1))
        loss.backward()
        opt.step()
        opt.zero_grad(set_to_none=True)
        torch.cuda.synchronize()
        if i >= warmup:
            times.append(time.perf_counter() - start)
    del model, opt
    torch.cuda.empty_cache()
    return sum(times) / len(times)


def case(
    name: str, gpu: str, device: str, seq: int, micro_batch: int, step_s: float, torch_version: str
) -> dict[str, Any]:
    """A validation case (validation/SCHEMA.md) for one measurement."""
    layers, hidden, heads = SIZES[name]
    model = TransformerModel(layers, hidden, heads, heads, 4 * hidden, VOCAB, seq)
    tokens = micro_batch * seq
    stamp = dt.date.today()
    return {
        "id": f"measured-{gpu}-{name}-mb{micro_batch}",
        "source": f"measured{stamp:%y%m}: benchmarks/measure_gpt_steps.py on {device}",
        "hardware": {"gpu": gpu, "gpus_per_node": 1, "scale_out_gbps_per_gpu": None},
        "model": {
            "layers": layers,
            "hidden": hidden,
            "heads": heads,
            "kv_heads": heads,
            "ffn_hidden": 4 * hidden,
            "vocab": VOCAB,
            "seq_len": seq,
            "gated_mlp": False,
            "experts": 1,
            "top_k": 1,
        },
        "parallelism": {
            "gpus": 1,
            "tp": 1,
            "pp": 1,
            "dp": 1,
            "cp": 1,
            "ep": 1,
            "global_batch": micro_batch,
            "micro_batch": micro_batch,
            "interleave": 1,
            "recompute": "none",
            "zero_stage": 0,
            "dtype": "bf16",
        },
        "measured": {
            "tflops_per_gpu": model_flops_per_token(model) * tokens / step_s / 1e12,
            "mfu": None,
            "step_time_s": step_s,
            "tokens_per_s_per_gpu": tokens / step_s,
        },
        "note": f"Single GPU, torch {torch_version}, bf16 autocast, SDPA causal attention, "
        f"fused AdamW; model FLOPs (3 forward passes, full score matrix).",
    }


def main() -> None:
    """Measure the chosen sizes and write the cases."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--sizes", nargs="+", default=["gpt-125m", "gpt-350m", "gpt-760m", "gpt-1.3b"], choices=sorted(SIZES)
    )
    parser.add_argument("--seq", type=int, default=2048)
    parser.add_argument("--micro-batch", type=int, default=4)
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--warmup", type=int, default=5)
    parser.add_argument("--out", default="measured_cases.yaml")
    args = parser.parse_args()
    try:
        import torch
    except ImportError:
        print("PyTorch is not installed: run this on a GPU machine with torch", file=sys.stderr)
        raise SystemExit(1) from None
    if not torch.cuda.is_available():
        raise SystemExit("no CUDA device")
    device = torch.cuda.get_device_name()
    gpu = catalog_gpu(device)
    cases = []
    for name in args.sizes:
        step_s = measure(torch, name, args.seq, args.micro_batch, args.steps, args.warmup)
        cases.append(case(name, gpu, device, args.seq, args.micro_batch, step_s, torch.__version__))
        m = cases[-1]["measured"]
        print(
            f"{name}: {step_s * 1e3:.1f} ms/step, {m['tflops_per_gpu']:.1f} TFLOP/s, "
            f"{m['tokens_per_s_per_gpu']:,.0f} tokens/s"
        )
    with open(args.out, "w", encoding="utf-8") as out:
        yaml.safe_dump(cases, out, sort_keys=False)
    print(f"wrote {len(cases)} cases to {args.out}")


if __name__ == "__main__":
    main()
