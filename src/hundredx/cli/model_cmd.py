"""`hundredx model list|show`: the model zoo and what the model layer makes of a config."""

from __future__ import annotations

from typing import Any

import typer

from hundredx.cli.common import print_json, print_table, user_errors


def model_summary(spec: Any) -> dict:
    """JSON-ready summary of a ModelSpec (the `model show --json` object)."""
    from hundredx.model import kv_bytes_per_token, params_active, params_total, weight_bytes

    a = spec.attention
    details = {k: getattr(a, k) for k in a.__slots__ if getattr(a, k) not in (0, False)}
    attention = {"kind": a.kind, **details,
                 "layers": {key: n for key, n in _attn_counts(spec).items()}}
    moe = None
    if spec.moe is not None:
        m = spec.moe
        moe = {"experts": m.num_experts, "active": m.top_k, "shared": m.num_shared, "expert_width": m.expert_width,
               "shared_width": m.shared_width, "moe_layers": sum(1 for k in spec.layers if k.ffn != "dense")}
    return {"id": spec.id, "model_type": spec.model_type, "params_total": params_total(spec),
            "params_active": params_active(spec), "num_layers": spec.num_layers, "hidden_size": spec.hidden_size,
            "vocab_size": spec.vocab_size, "attention": attention,
            "kv_bytes_per_token": kv_bytes_per_token(spec), "weight_bytes": weight_bytes(spec), "moe": moe,
            "linear_attention": (None if spec.linear is None
                                 else {k: getattr(spec.linear, k) for k in spec.linear.__slots__}),
            "quant": spec.quant.to_dict(), "layer_groups": {k.key: n for k, n in spec.groups.items()},
            "not_modelled": list(spec.not_modelled)}


def _attn_counts(spec: Any) -> dict[str, int]:
    out: dict[str, int] = {}
    for kind in spec.layers:
        out[kind.attn] = out.get(kind.attn, 0) + 1
    return out


def register(app: typer.Typer) -> None:
    sub = typer.Typer(help="Model zoo and model specs (params, KV cache, formats).", no_args_is_help=True)

    @sub.command("list")
    def list_cmd(json_out: bool = typer.Option(False, "--json", help="print one JSON object")) -> None:
        """List the zoo models with their sizes."""
        from hundredx.model import list_models, load_model, params_active, params_total

        with user_errors():
            rows: list[dict[str, Any]] = []
            for model_id in list_models():
                spec = load_model(model_id)
                rows.append({"id": model_id, "params_total": params_total(spec), "params_active": params_active(spec),
                             "attention": spec.attention.kind, "moe": spec.moe is not None})
            if json_out:
                print_json({"models": rows})
                return
            print_table("hundredx model zoo", ["id", "total", "active", "attention", "moe"],
                        [[r["id"], f"{r['params_total'] / 1e9:.1f}B", f"{r['params_active'] / 1e9:.1f}B",
                          r["attention"], "yes" if r["moe"] else "no"] for r in rows])

    @sub.command("show")
    def show_cmd(model: str = typer.Argument(..., help="zoo id, zoo name, config.json or folder"),
                 weights: str | None = typer.Option(None, "--weights", help="weight format, e.g. fp8, nvfp4"),
                 kv: str | None = typer.Option(None, "--kv", help="KV-cache format"),
                 act: str | None = typer.Option(None, "--act", help="activation format"),
                 json_out: bool = typer.Option(False, "--json", help="print one JSON object")) -> None:
        """Show one model: parameters, attention, KV bytes per token, weight bytes, formats."""
        from hundredx.model import load_model
        from hundredx.units import fmt_bytes

        with user_errors():
            info = model_summary(load_model(model, weights=weights, kv=kv, act=act))
            if json_out:
                print_json(info)
                return
            groups = ", ".join(f"{k}: {n}" for k, n in info["layer_groups"].items())
            rows = [["params total", f"{info['params_total'] / 1e9:.2f} B"],
                    ["params active", f"{info['params_active'] / 1e9:.2f} B"],
                    ["layers", f"{info['num_layers']} ({groups})"],
                    ["attention", f"{info['attention']['kind']} {info['attention']['layers']}"],
                    ["KV bytes/token", fmt_bytes(info["kv_bytes_per_token"])],
                    ["weights", fmt_bytes(info["weight_bytes"])],
                    ["moe", "-" if info["moe"] is None else str(info["moe"])],
                    ["quant", f"{info['quant']['weight']} (experts {info['quant']['expert_weight']}), act "
                              f"{info['quant']['act']}, kv {info['quant']['kv']}"]]
            rows += [["not modelled", note] for note in info["not_modelled"]]
            print_table(info["id"], ["field", "value"], rows)

    app.add_typer(sub, name="model")
