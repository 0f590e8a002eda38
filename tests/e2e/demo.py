#!/usr/bin/env python3
"""A guided tour of aic-mcp-server through the Python MCP SDK: connects over stdio, lists
the tools, and runs a few of them, printing what an assistant would see.

Without AIC_BASE_URL it uses the built-in demo tenant (`aic-mcp-server --demo`); with it,
the real tenant (your browser opens for the sign-in)."""

import asyncio
import json
import os
import pathlib
import sys

from mcp import ClientSession, StdioServerParameters
from mcp.client.stdio import stdio_client

ROOT = pathlib.Path(__file__).resolve().parents[2]
SERVER = pathlib.Path(os.environ.get("CARGO_TARGET_DIR", ROOT / "target")) / "debug" / "aic-mcp-server"


def show(title: str, text: str, limit: int = 1200) -> None:
    print(f"\n--- {title}\n{text[:limit]}{' …' if len(text) > limit else ''}")


async def tour() -> int:
    real = bool(os.environ.get("AIC_BASE_URL"))
    args = [] if real else ["--demo"]
    print(f"Starting {SERVER.name} {' '.join(args)} ({'tenant ' + os.environ['AIC_BASE_URL'] if real else 'built-in demo tenant'})")
    params = StdioServerParameters(command=str(SERVER), args=args, env=dict(os.environ))
    async with stdio_client(params) as (read, write):
        async with ClientSession(read, write) as s:
            init = await s.initialize()
            print(f"Connected to {init.server_info.name} {init.server_info.version}")
            tools = (await s.list_tools()).tools
            print(f"{len(tools)} tools: " + ", ".join(t.name for t in tools))

            async def call(name, arguments):
                r = await s.call_tool(name, arguments)
                text = "".join(c.text for c in r.content if getattr(c, "type", "") == "text")
                show(f"{name} {json.dumps(arguments)}{'  [error]' if r.is_error else ''}", text)
                return text

            await call("listManagedObjects", {})
            await call("queryManagedObjects", {"objectType": "alpha_user", "queryFilter": 'accountStatus eq "active"', "fields": "userName,givenName,sn,mail", "pageSize": 5})
            text = await call("getManagedObjectSchema", {"objectType": "alpha_role"})
            tx = text.rsplit("Transaction ID: ", 1)[-1].strip() if "Transaction ID: " in text else None
            await call("getLogSources", {})
            if tx:
                await call("queryLogs", {"sources": ["idm-access"], "transactionId": tx})
            await call("getManagedObject", {"objectType": "alpha_user", "objectId": "../config/managed"})
    print("\nEvery call above is in the activity log (JSONL) under ~/.local/state/aic-mcp-desktop/logs.")
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(tour()))
