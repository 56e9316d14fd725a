"""clients/console/deploy.py against moto's S3 and CloudFront (the local stack's): the built files land
in the bucket with their types, config.json names the WebSocket API and the page's own origin, and
the distribution gets an invalidation of /*."""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
from pathlib import Path

import boto3

DEPLOY = Path(__file__).resolve().parent.parent / "deploy.py"


def test_deploy_uploads_the_built_console_and_invalidates_the_distribution() -> None:
    # moto's S3 and CloudFront, as the local stack runs them.
    os.environ.setdefault("AWS_ENDPOINT_URL_CLOUDFRONT", os.environ["AWS_ENDPOINT_URL_S3"])
    s3, cloudfront = boto3.client("s3"), boto3.client("cloudfront")
    bucket = f"console-{secrets.token_hex(4)}"
    s3.create_bucket(Bucket=bucket)
    made = cloudfront.create_distribution(DistributionConfig={
        "CallerReference": bucket, "Comment": "console test", "Enabled": True,
        "Origins": {"Quantity": 1, "Items": [{"Id": "console", "DomainName": f"{bucket}.s3.amazonaws.com",
                                               "S3OriginConfig": {"OriginAccessIdentity": ""}}]},
        "DefaultCacheBehavior": {"TargetOriginId": "console", "ViewerProtocolPolicy": "redirect-to-https",
                                 "CachePolicyId": "658327ea-f89d-4fab-a63d-7e88639e58f6"}})
    distribution = made["Distribution"]["Id"]
    ws = "wss://abc123.execute-api.us-east-1.amazonaws.com/v1"
    done = subprocess.run([sys.executable, str(DEPLOY), "--bucket", bucket, "--distribution", distribution, "--ws-url", ws],
                          check=True, capture_output=True, text=True)
    report = json.loads(done.stdout.strip().splitlines()[-1])
    assert sorted(report["uploaded"]) == ["app.js", "app.js.map", "config.json", "index.html", "style.css"]
    index = s3.get_object(Bucket=bucket, Key="index.html")
    assert index["ContentType"] == "text/html; charset=utf-8"
    assert b'<script src="app.js">' in index["Body"].read()
    assert s3.get_object(Bucket=bucket, Key="app.js")["ContentType"] == "text/javascript; charset=utf-8"
    config = json.loads(s3.get_object(Bucket=bucket, Key="config.json")["Body"].read())
    assert config == {"api_url": "", "ws_url": ws}
    invalidations = cloudfront.list_invalidations(DistributionId=distribution)["InvalidationList"]
    assert [i["Id"] for i in invalidations.get("Items", [])] == [report["invalidation"]]
