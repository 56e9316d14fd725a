# The two commands: `make dev` runs mcpflow locally, `make test` checks everything.
# Both install what they need (pinned, cached under ~/.cache/mcpflow) on a fresh machine.
.PHONY: dev agents test stop chaos bench bench-prompts bench-mcp bench-load bench-ws bench-pipelines lint fmt

dev: ## start emulators, functions and the local gateway on http://127.0.0.1:3000; Ctrl-C stops all
	@bash infra/stack/dev.sh

agents: ## one reference pipeline agent per stage type against `make dev` (run it in a second terminal); Ctrl-C stops them
	@bash infra/stack/agents.sh

test: ## install what is missing, run every check and test, stop what was started
	@bash infra/stack/test.sh

stop: ## stop a detached local stack
	@bash infra/stack/stop.sh all

chaos: ## CHAOS_TASKS (10000) prompts through a failing provider and killed workers; none lost, duplicated or out of order
	@bash infra/chaos/run.sh

bench: ## every function: x86_64 and arm64 sizes, cold start, warm, own CPU time, AWS round trips, peak RSS, against a stack of its own
	@bash infra/bench/run.sh

bench-prompts: ## prompt accepted -> completed, p50/p95, 1 and 20 clients, on a stack of its own
	@bash infra/bench/prompts.sh

bench-pipelines: ## the six-stage pipeline vs a one-stage peer with instant agents: wall p50, overhead per stage, state transitions per run, on a stack of its own
	@bash infra/bench/pipelines.sh

bench-ws: ## WebSocket push latency p50/p95 for 1 and 500 connections, gateway RSS, on a stack of its own
	@bash infra/bench/websocket.sh

bench-load: ## requests/s and p50/p95/p99 at 1, 10, 50 clients (oha): REST and MCP through the gateway vs the FastMCP peer, on a stack of its own
	@bash infra/bench/load.sh

bench-mcp: ## mcp function vs a Python FastMCP peer: cold start, warm p50/p99, peak RSS, on a stack of its own
	@bash infra/bench/mcp.sh

fmt:
	cargo fmt --all

lint:
	cargo clippy --workspace --all-targets -- -D warnings
