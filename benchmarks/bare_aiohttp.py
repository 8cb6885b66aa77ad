"""A reference aiohttp load client: requests sent and streams read, nothing else.

client_overhead.py runs it as the tool "aiohttp", beside servecap and its peers. It schedules
requests as servecap does (constant rate on an absolute clock, or N streams in a closed loop
with their connections opened first) and reads each answer with `iter_any()`, stamping only the
first chunk: no SSE decoding, no JSON, no records, no /metrics. It runs on servecap's event
loop (uvloop where installed). What it sustains is roughly what aiohttp itself allows on one
core (measured: no more request rate than servecap, more closed-loop streams).

Usage: python benchmarks/bare_aiohttp.py --url URL --model M --requests N
       (--rate R | --concurrency C) --output-tokens T --out result.json
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import time
from pathlib import Path

import aiohttp

from servecap.loadtest.client import Endpoint
from servecap.loadtest.eventloop import run_loop


async def _one(session: aiohttp.ClientSession, url: str, body: bytes, ttfts: list[float]) -> bool:
    start = time.perf_counter()
    first = None
    async with session.post(url, data=body, headers={"Content-Type": "application/json"}) as r:
        if r.status != 200:
            return False
        async for _ in r.content.iter_any():
            if first is None:
                first = time.perf_counter()
    if first is None:
        return False
    ttfts.append(first - start)
    return True


async def run(args: argparse.Namespace) -> dict[str, object]:
    endpoint = Endpoint(args.url, args.model, "completions")
    url = endpoint.url
    body = json.dumps(
        {
            "model": args.model,
            "prompt": "hello " * 64,
            "max_tokens": args.output_tokens,
            "stream": True,
            "ignore_eos": True,
        }
    ).encode()
    ttfts: list[float] = []
    connector = aiohttp.TCPConnector(limit=0)
    async with aiohttp.ClientSession(connector=connector) as session:
        if args.concurrency:
            models = endpoint.root + "/v1/models"

            async def warm() -> None:
                async with session.get(models) as r:
                    await r.read()

            await asyncio.gather(*(warm() for _ in range(args.concurrency)))
            issued = itertools.count()

            async def stream() -> list[bool]:
                done = []
                while next(issued) < args.requests:
                    done.append(await _one(session, url, body, ttfts))
                return done

            results = [
                ok
                for s in await asyncio.gather(*(stream() for _ in range(args.concurrency)))
                for ok in s
            ]
        else:
            loop = asyncio.get_running_loop()
            start = loop.time() + 0.05
            tasks = []
            for i in range(args.requests):
                delay = start + i / args.rate - loop.time()
                if delay > 0:
                    await asyncio.sleep(delay)
                tasks.append(asyncio.create_task(_one(session, url, body, ttfts)))
            results = await asyncio.gather(*tasks)
    return {
        "requests_ok": sum(results),
        "requests_failed": len(results) - sum(results),
        "ttfts_s": ttfts,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", required=True)
    parser.add_argument("--model", required=True)
    parser.add_argument("--requests", type=int, required=True)
    parser.add_argument("--rate", type=float, default=None)
    parser.add_argument("--concurrency", type=int, default=None)
    parser.add_argument("--output-tokens", type=int, default=32)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    if (args.rate is None) == (args.concurrency is None):
        parser.error("give one of --rate and --concurrency")
    args.out.write_text(json.dumps(run_loop(run(args))))


if __name__ == "__main__":
    main()
