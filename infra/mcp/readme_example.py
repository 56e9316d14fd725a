import asyncio
import os

import httpx2
from mcp import Client
from mcp.client.streamable_http import streamable_http_client


async def main() -> None:
    headers = {"X-API-Key": os.environ["MCPFLOW_KEY"]}
    async with httpx2.AsyncClient(headers=headers, timeout=30) as http:
        transport = streamable_http_client(os.environ["MCPFLOW_URL"], http_client=http)
        async with Client(transport, mode="legacy") as client:
            created = await client.call_tool("create_task", {"prompt": "What is the capital of France?"})
            task_id = created.structured_content["task_id"]
            while True:
                status = await client.call_tool("get_task_status", {"task_id": task_id})
                if status.structured_content["status"] in ("COMPLETED", "FAILED", "CANCELLED"):
                    break
                await asyncio.sleep(0.5)
            result = await client.call_tool("get_task_result", {"task_id": task_id})
            print(result.structured_content["result"])


asyncio.run(main())
