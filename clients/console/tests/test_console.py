"""The web console in a real browser: Playwright driving Debian's headless Chromium against the local
stack's gateway (`/console/`). It signs in with a JWT of a fresh tenant, runs the brief's six-stage
pipeline with reference agents and watches each stage turn green live, cancels a second execution,
and saves a screenshot of every view.

Needs: MCPFLOW_URL (the gateway), MCPFLOW_TEST_JWT_SECRET and MCPFLOW_TEST_JWT_ISSUER (the stack's),
MCPFLOW_AGENT_BIN (the reference agent), CONSOLE_SCREENSHOTS (where screenshots go), and
MCPFLOW_TEST_SECRETS_FILE (where the credentials made here are listed for the log check)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import re
import secrets
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright

URL = os.environ.get("MCPFLOW_URL", "http://127.0.0.1:3000")
SHOTS = Path(os.environ.get("CONSOLE_SCREENSHOTS", "console-screenshots"))
STAGES = ["data-ingestion", "data-transformation", "data-analysis", "data-validation", "data-processing", "output-generation"]
TYPES = ["data-ingestion", "transformation", "analysis", "validation", "processing", "output"]
# Chromium as the machine runs it headless: no sandbox as root, no GPU, no calls home.
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]


def remember(secret: str) -> None:
    path = os.environ.get("MCPFLOW_TEST_SECRETS_FILE")
    if path:
        with open(path, "a", encoding="utf-8") as f:
            f.write(secret + "\n")


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def jwt(tenant: str, role: str) -> str:
    """An HS256 JWT the stack accepts (its secret and issuer), for `role` of `tenant`, valid 30 min."""
    claims = {"sub": f"{role}@{tenant}", "iss": os.environ["MCPFLOW_TEST_JWT_ISSUER"], "aud": "mcpflow",
              "exp": int(time.time()) + 1800, "tenant": tenant, "role": role}
    signing = b64(b'{"alg":"HS256","typ":"JWT"}') + "." + b64(json.dumps(claims).encode())
    mac = hmac.new(os.environ["MCPFLOW_TEST_JWT_SECRET"].encode(), signing.encode(), hashlib.sha256).digest()
    token = signing + "." + b64(mac)
    remember(token)
    return token


def post(path: str, token: str, body: dict[str, object]) -> dict[str, object]:
    request = urllib.request.Request(URL + path, data=json.dumps(body).encode(), method="POST",
                                     headers={"authorization": f"Bearer {token}", "content-type": "application/json"})
    with urllib.request.urlopen(request, timeout=30) as answer:
        result: dict[str, object] = json.load(answer)
        return result


@pytest.fixture(scope="module")
def tenant() -> tuple[str, str]:
    name = f"console-{secrets.token_hex(4)}"
    return name, jwt(name, "admin")


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=os.environ.get("CHROMIUM", "/usr/bin/chromium"), args=CHROMIUM_ARGS)
        yield b
        b.close()


@pytest.fixture(scope="module")
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    p = context.new_page()
    p.set_default_timeout(30_000)
    errors: list[str] = []
    p.on("pageerror", lambda e: errors.append(str(e)))
    yield p
    context.close()
    assert not errors, f"the page threw: {errors}"


def shot(page: Page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def start_agents(key: str) -> list[subprocess.Popen[bytes]]:
    agent = os.environ["MCPFLOW_AGENT_BIN"]
    return [subprocess.Popen([agent, "--url", URL, "--name", f"ref-{t}", "--capabilities", t, "--s3-path-style"],
                             env={**os.environ, "MCPFLOW_API_KEY": key}, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            for t in TYPES]


def stop(agents: list[subprocess.Popen[bytes]]) -> None:
    for a in agents:
        a.terminate()
    for a in agents:
        a.wait(timeout=10)


def test_a_bad_credential_is_refused_with_the_envelopes_message(page: Page) -> None:
    page.goto(URL + "/console/")
    page.get_by_test_id("token").fill("mcpf_0000000000000000_not-a-real-key")
    page.get_by_test_id("sign-in").click()
    expect(page.get_by_test_id("sign-in-error")).to_contain_text("INVALID_API_KEY")
    shot(page, "0-sign-in-refused")


def test_the_six_stage_pipeline_runs_live_and_a_second_execution_is_cancelled(page: Page, tenant: tuple[str, str]) -> None:
    name, token = tenant
    key = str(post("/api/v1/keys", token, {"name": "console-agents", "role": "operator"})["key"])
    remember(key)
    agents = start_agents(key)
    try:
        # Sign in with the tenant's JWT: the summary shows, and the WebSocket goes live.
        page.goto(URL + "/console/")
        page.get_by_test_id("token").fill(token)
        page.get_by_test_id("sign-in").click()
        expect(page.get_by_test_id("view-summary")).to_be_visible()
        expect(page.locator("[data-live]")).to_have_attribute("data-live", "live")
        # Agents: the six reference agents, active, pushed live as they register.
        page.locator("[data-nav=agents]").click()
        expect(page.locator("[data-testid=agents] tbody tr")).to_have_count(6, timeout=30_000)
        expect(page.locator("[data-testid=agents] .badge[data-status=active]")).to_have_count(6)
        shot(page, "2-agents")
        # Register the brief's pipeline (the form's default) and see its DAG.
        page.locator("[data-nav=pipelines]").click()
        page.get_by_test_id("register").click()
        expect(page.get_by_test_id("view-pipeline")).to_be_visible()
        expect(page.locator("[data-testid=pipeline-dag] g.stage")).to_have_count(6)
        expect(page.locator("[data-testid=pipeline-dag] path.edge")).to_have_count(5)
        shot(page, "3-pipeline")
        # Start it, and watch every stage go green without reloading.
        page.get_by_test_id("start").click()
        expect(page.get_by_test_id("view-execution")).to_be_visible()
        seen: dict[str, set[str]] = {s: set() for s in STAGES}
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            statuses = page.locator("[data-testid=execution-dag] g.stage").evaluate_all(
                "gs => gs.map(g => [g.dataset.stage, g.dataset.status])")
            for stage, status in statuses:
                seen[stage].add(status)
            if len(statuses) == 6 and all(status == "completed" for _, status in statuses):
                break
            time.sleep(0.1)
        assert all("completed" in s for s in seen.values()), seen
        # Pushed, not read once: stages were seen at work (an agent's), not only waiting and done.
        at_work = {stage for stage, statuses in seen.items() if statuses & {"pending", "assigned", "running"}}
        assert len(at_work) >= 2, seen
        expect(page.get_by_test_id("view-execution")).to_have_attribute("data-status", "succeeded")
        expect(page.locator("[data-testid=stages] .badge[data-status=completed]")).to_have_count(6)
        expect(page.get_by_test_id("stage-logs").locator("details")).to_have_count(6, timeout=15_000)
        shot(page, "4-execution-succeeded")
        # A second execution, with no agent left to run it, cancelled from the console.
        stop(agents)
        agents = []
        page.get_by_role("link", name="techdeck").click()
        page.get_by_test_id("start").click()
        expect(page.get_by_test_id("view-execution")).to_have_attribute("data-status", "running")
        page.get_by_test_id("cancel").click()
        expect(page.get_by_test_id("view-execution")).to_have_attribute("data-status", "cancelled")
        expect(page.locator("[data-testid=execution-dag] g.stage[data-status=cancelled]")).to_have_count(6)
        shot(page, "5-execution-cancelled")
        # The pipeline lists both executions, newest first.
        page.get_by_role("link", name="techdeck").click()
        expect(page.locator("[data-testid=executions] tbody tr")).to_have_count(2)
        expect(page.locator("[data-testid=executions] tbody tr").first.locator(".badge")).to_have_attribute("data-status", "cancelled")
        shot(page, "6-pipeline-executions")
        # Tasks and contexts: the analysis stage asked mcpflow's own task API (a context and a prompt).
        page.locator("[data-nav=tasks]").click()
        expect(page.locator("[data-testid=tasks] tbody tr").first).to_be_visible()
        shot(page, "7-tasks")
        page.locator("[data-nav=contexts]").click()
        expect(page.locator("[data-testid=contexts] tbody tr").first).to_be_visible()
        shot(page, "8-contexts")
        # The summary with its counts and charts (GET /summary and GET /metrics).
        page.locator("[data-nav=summary]").click()
        # Read afresh on opening: at least the six stage tasks and the analysis stage's own.
        expect(page.locator("[data-card=tasks] .big")).to_have_text(re.compile(r"^([7-9]|\d\d+)$"), timeout=20_000)
        expect(page.get_by_test_id("chart-invocations")).to_be_visible(timeout=20_000)
        expect(page.get_by_test_id("chart-tasks")).to_be_visible()
        expect(page.get_by_test_id("summary-cards")).to_contain_text("1 succeeded")
        shot(page, "1-summary")
        # Signing out forgets the tenant: the sign-in form, nothing of the views, nothing kept.
        page.get_by_test_id("sign-out").click()
        expect(page.get_by_test_id("sign-in")).to_be_visible()
        expect(page.get_by_test_id("view-summary")).to_have_count(0)
        assert page.evaluate("sessionStorage.getItem('mcpflow.token')") is None
        page.goto(URL + "/console/#/agents")
        expect(page.get_by_test_id("sign-in")).to_be_visible()
    finally:
        stop(agents)
