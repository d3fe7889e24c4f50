#!/usr/bin/env python3
"""Regenerates the default rate card of src/llmcost--<version>.sql.

The card is llmcost's own data: prices of the current models of OpenAI,
Anthropic and Google, each with the date it took effect.  Prices are read
from a LiteLLM price list (USD per token) and written as exact USD per
million tokens; effective dates are the public release (or price-change)
dates listed below, which LiteLLM does not carry.

    python3 test/tools/make_rate_card.py ../shared/data/prices/litellm-model_prices_and_context_window.json

rewrites the block between the BEGIN/END DEFAULT RATE CARD markers.  The
extension never reads the price list itself.
"""
import json
import re
import sys
from decimal import Decimal

# (rates model name, LiteLLM key, provider, valid_from, valid_until or None)
CARD = [
    # OpenAI
    ("gpt-4o", "gpt-4o-2024-05-13", "openai", "2024-05-13", "2024-10-02"),
    ("gpt-4o", "gpt-4o", "openai", "2024-10-02", None),
    ("gpt-4o-2024-05-13", "gpt-4o-2024-05-13", "openai", "2024-05-13", None),
    ("gpt-4o-mini", "gpt-4o-mini", "openai", "2024-07-18", None),
    ("gpt-4.1", "gpt-4.1", "openai", "2025-04-14", None),
    ("gpt-4.1-mini", "gpt-4.1-mini", "openai", "2025-04-14", None),
    ("gpt-4.1-nano", "gpt-4.1-nano", "openai", "2025-04-14", None),
    ("o1", "o1", "openai", "2024-12-17", None),
    ("o3-mini", "o3-mini", "openai", "2025-01-31", None),
    ("o3", None, "openai", "2025-04-16", "2025-06-10"),  # launch price, below
    ("o3", "o3", "openai", "2025-06-10", None),
    ("o4-mini", "o4-mini", "openai", "2025-04-16", None),
    ("gpt-5", "gpt-5", "openai", "2025-08-07", None),
    ("gpt-5-mini", "gpt-5-mini", "openai", "2025-08-07", None),
    ("gpt-5-nano", "gpt-5-nano", "openai", "2025-08-07", None),
    ("gpt-5.1", "gpt-5.1", "openai", "2025-11-13", None),
    ("gpt-5.2", "gpt-5.2", "openai", "2025-12-11", None),
    ("gpt-5.4", "gpt-5.4", "openai", "2026-03-05", None),
    ("gpt-5.4-mini", "gpt-5.4-mini", "openai", "2026-03-17", None),
    ("gpt-5.4-nano", "gpt-5.4-nano", "openai", "2026-03-17", None),
    ("gpt-5.5", "gpt-5.5", "openai", "2026-04-23", None),
    ("text-embedding-3-small", "text-embedding-3-small", "openai", "2024-01-25", None),
    ("text-embedding-3-large", "text-embedding-3-large", "openai", "2024-01-25", None),
    # Anthropic: keyed by base name; dated snapshots resolve to it
    ("claude-3-7-sonnet", "claude-3-7-sonnet-20250219", "anthropic", "2025-02-24", None),
    ("claude-sonnet-4", "claude-sonnet-4-20250514", "anthropic", "2025-05-22", None),
    ("claude-opus-4", "claude-opus-4-20250514", "anthropic", "2025-05-22", None),
    ("claude-opus-4-1", "claude-opus-4-1", "anthropic", "2025-08-05", None),
    ("claude-sonnet-4-5", "claude-sonnet-4-5", "anthropic", "2025-09-29", None),
    ("claude-haiku-4-5", "claude-haiku-4-5", "anthropic", "2025-10-15", None),
    ("claude-opus-4-5", "claude-opus-4-5", "anthropic", "2025-11-24", None),
    ("claude-opus-4-6", "claude-opus-4-6", "anthropic", "2026-02-05", None),
    ("claude-sonnet-4-6", "claude-sonnet-4-6", "anthropic", "2026-02-17", None),
    ("claude-opus-4-7", "claude-opus-4-7", "anthropic", "2026-04-16", None),
    # Google Gemini
    ("gemini-2.0-flash", "gemini-2.0-flash", "google", "2025-02-05", None),
    ("gemini-2.0-flash-lite", "gemini-2.0-flash-lite", "google", "2025-02-25", None),
    ("gemini-2.5-pro", "gemini/gemini-2.5-pro", "google", "2025-06-17", None),
    ("gemini-2.5-flash", "gemini/gemini-2.5-flash", "google", "2025-06-17", None),
    ("gemini-2.5-flash-lite", "gemini/gemini-2.5-flash-lite", "google", "2025-07-22", None),
    ("gemini-3-pro-preview", "gemini/gemini-3-pro-preview", "google", "2025-11-18", None),
    ("gemini-3-flash-preview", "gemini/gemini-3-flash-preview", "google", "2025-12-17", None),
    ("gemini-3.1-pro-preview", "gemini/gemini-3.1-pro-preview", "google", "2026-02-19", None),
    ("gemini-3.5-flash", "gemini/gemini-3.5-flash", "google", "2026-05-20", None),
]

# Prices LiteLLM no longer lists: o3 at launch, cut by 80% on 2025-06-10.
HISTORIC = {("o3", "2025-04-16"): {"input": "10", "output": "40", "cached_read": "2.5"}}

# Batch API discounts by provider (published: half price).
BATCH = {"openai": "0.5", "anthropic": "0.5", "google": "0.5"}


def per_mtok(entry, key):
    v = entry.get(key)
    if v is None:
        return None
    d = (Decimal(repr(v)) * 1000000).normalize()
    return format(d, "f")


def row(rate_id, model, key, provider, since, until, d):
    if key is None:
        p = HISTORIC[(model, since)]
        prices = dict(input=p["input"], output=p["output"], cached_read=p.get("cached_read"),
                      cache_write=None, reasoning=None, threshold=None, long_input=None,
                      long_output=None, long_cached_read=None, long_cache_write=None)
    else:
        e = d[key]
        above = sorted(int(m.group(1)) for k in e
                       for m in [re.match(r"^input_cost_per_token_above_(\d+)k_tokens$", k)] if m)
        tier = f"above_{above[0]}k_tokens" if above else None
        out = per_mtok(e, "output_cost_per_token")
        reasoning = per_mtok(e, "output_cost_per_reasoning_token")
        prices = dict(
            input=per_mtok(e, "input_cost_per_token"), output=out,
            cached_read=per_mtok(e, "cache_read_input_token_cost"),
            cache_write=per_mtok(e, "cache_creation_input_token_cost"),
            reasoning=reasoning if reasoning != out else None,
            threshold=str(above[0] * 1000) if tier else None,
            long_input=per_mtok(e, f"input_cost_per_token_{tier}") if tier else None,
            long_output=per_mtok(e, f"output_cost_per_token_{tier}") if tier else None,
            long_cached_read=per_mtok(e, f"cache_read_input_token_cost_{tier}") if tier else None,
            long_cache_write=per_mtok(e, f"cache_creation_input_token_cost_{tier}") if tier else None)
    q = lambda v: "NULL" if v is None else v
    ts = lambda v: "NULL" if v is None else f"'{v} 00:00:00+00'"
    return (f"({rate_id}, '{model}', '{provider}', {ts(since)}, {ts(until)}, "
            f"{q(prices['input'])}, {q(prices['cached_read'])}, {q(prices['cache_write'])}, "
            f"{q(prices['output'])}, {q(prices['reasoning'])}, {q(prices['threshold'])}, "
            f"{q(prices['long_input'])}, {q(prices['long_cached_read'])}, "
            f"{q(prices['long_cache_write'])}, {q(prices['long_output'])}, {BATCH[provider]}, "
            "true, 'llmcost default card')")


def main():
    d = json.load(open(sys.argv[1]))
    rows = [row(i + 1, *c, d) for i, c in enumerate(CARD)]
    block = ("-- BEGIN DEFAULT RATE CARD\n"
             "-- Generated by test/tools/make_rate_card.py from a LiteLLM price list; USD per\n"
             "-- million tokens, each from the day it took effect (UTC).\n"
             "INSERT INTO llmcost.rates (rate_id, model, provider, valid_from, valid_until,\n"
             "    input_per_mtok, cached_read_per_mtok, cache_write_per_mtok, output_per_mtok,\n"
             "    reasoning_per_mtok, long_context_threshold, long_input_per_mtok,\n"
             "    long_cached_read_per_mtok, long_cache_write_per_mtok, long_output_per_mtok,\n"
             "    batch_discount, is_default, source)\n"
             "VALUES\n    "
             + ",\n    ".join(rows) +
             ";\n-- END DEFAULT RATE CARD")
    import glob
    for path in glob.glob("src/llmcost--*.sql"):
        if "--" in path[len("src/llmcost--"):]:
            continue  # upgrade scripts
        s = open(path).read()
        s2 = re.sub(r"-- BEGIN DEFAULT RATE CARD.*?-- END DEFAULT RATE CARD", lambda _: block, s, flags=re.S)
        open(path, "w").write(s2)
        print(f"{path}: {len(rows)} rates")


if __name__ == "__main__":
    main()
