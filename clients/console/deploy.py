#!/usr/bin/env python3
"""Deploys the built web console to the stack's console bucket and invalidates its CloudFront cache.

    python3 clients/console/deploy.py --stack mcpflow            # the stack's outputs name everything
    python3 clients/console/deploy.py --bucket B --distribution D --ws-url wss://…   # or say them

It builds the console (clients/console/build.sh) with a config.json whose API is the page's own
origin (CloudFront forwards /api/* and /mcp to the HTTP API) and whose WebSocket API is the stack's,
uploads each file with its content type, and invalidates `/*`. Needs boto3 and AWS credentials.
"""

from __future__ import annotations

import argparse
import json
import mimetypes
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import boto3

HERE = Path(__file__).resolve().parent
TYPES = {".html": "text/html; charset=utf-8", ".js": "text/javascript; charset=utf-8",
         ".css": "text/css; charset=utf-8", ".json": "application/json", ".map": "application/json"}


def outputs(stack: str) -> dict[str, str]:
    described = boto3.client("cloudformation").describe_stacks(StackName=stack)["Stacks"][0]
    return {o["OutputKey"]: o["OutputValue"] for o in described.get("Outputs", [])}


def build(ws_url: str, out: Path) -> None:
    config = json.dumps({"api_url": "", "ws_url": ws_url})
    subprocess.run(["bash", str(HERE / "build.sh"), str(out)], check=True, env={**os.environ, "CONSOLE_CONFIG": config})


def upload(bucket: str, built: Path) -> list[str]:
    s3 = boto3.client("s3")
    keys = []
    for path in sorted(built.iterdir()):
        if not path.is_file():
            continue
        kind = TYPES.get(path.suffix) or mimetypes.guess_type(path.name)[0] or "application/octet-stream"
        s3.put_object(Bucket=bucket, Key=path.name, Body=path.read_bytes(), ContentType=kind,
                      CacheControl="no-cache" if path.name in ("index.html", "config.json") else "max-age=300")
        keys.append(path.name)
    return keys


def invalidate(distribution: str) -> str:
    answer = boto3.client("cloudfront").create_invalidation(
        DistributionId=distribution,
        InvalidationBatch={"Paths": {"Quantity": 1, "Items": ["/*"]}, "CallerReference": f"console-{time.time_ns()}"})
    return str(answer["Invalidation"]["Id"])


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--stack", help="the deployed stack: its outputs give the bucket, distribution and WebSocket URL")
    parser.add_argument("--bucket")
    parser.add_argument("--distribution")
    parser.add_argument("--ws-url")
    args = parser.parse_args(argv)
    given = outputs(args.stack) if args.stack else {}
    bucket = args.bucket or given.get("ConsoleBucketName")
    distribution = args.distribution or given.get("ConsoleDistributionId")
    ws_url = args.ws_url or given.get("WebSocketUrl")
    if not (bucket and distribution and ws_url):
        parser.error("name the stack (--stack), or all of --bucket, --distribution and --ws-url")
    with tempfile.TemporaryDirectory() as tmp:
        built = Path(tmp)
        build(ws_url, built)
        keys = upload(bucket, built)
    invalidation = invalidate(distribution)
    print(json.dumps({"bucket": bucket, "uploaded": keys, "invalidation": invalidation, "url": given.get("ConsoleUrl")}))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
