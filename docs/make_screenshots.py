"""Make the screenshots of the web pages in docs/img/ (re-run after changing a page).

    python docs/make_screenshots.py [--out docs/img]

Writes ``report-plan.png``, ``report-power-profile.png``, ``report-simulate.png`` (the static
reports of ``plan --html``, ``power-profile --html`` and ``simulate --out``) and
``dashboard.png`` (the live dashboard of ``megapod serve`` on the example site, twin backend,
with a few jobs running). Needs the ``playwright`` Python package and a Chromium on the PATH
(or named by ``$MEGAPOD_CHROMIUM``); no browser is downloaded.
"""

from __future__ import annotations

import argparse
import os
import secrets
import shutil
import socket
import sys
import tempfile
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
EXAMPLES = REPO / "examples"
WIDTH = 1280


def chromium() -> str:
    """The browser to drive: ``$MEGAPOD_CHROMIUM`` or the first Chromium on the PATH."""
    for name in (os.environ.get("MEGAPOD_CHROMIUM"), "chromium", "chromium-browser", "google-chrome"):
        if name and (found := shutil.which(name)):
            return found
    sys.exit("no Chromium found: install Debian's chromium package or set MEGAPOD_CHROMIUM")


def static_reports(folder: Path) -> dict[str, Path]:
    """Write the three static reports into ``folder``; name → file."""
    from megapod.planner.plan import plan_training
    from megapod.report.plan_report import html_report
    from megapod.report.power_profile_report import render_html
    from megapod.report.sim_report import render_sim_report
    from megapod.sim.power_profile import run_power_profile
    from megapod.sim.twin import Twin
    from megapod.spec import load_site
    from megapod.spec.goal import TrainingGoal
    from megapod.spec.scenario import load_scenario

    plan = plan_training(load_site(EXAMPLES / "megapod.yaml"), TrainingGoal(model="llama3-70b", tokens=2e12))
    power = load_scenario(EXAMPLES / "scenarios" / "megapod_power.yaml")
    assert power.power_profile is not None
    profile = run_power_profile(power.site, power.power_profile, power.seed, power.name)
    week = Twin(load_scenario(EXAMPLES / "scenarios" / "megapod_week.yaml")).run()
    pages = {
        "report-plan": html_report(plan),
        "report-power-profile": render_html(profile),
        "report-simulate": render_sim_report(week),
    }
    files = {}
    for name, html in pages.items():
        files[name] = folder / f"{name}.html"
        files[name].write_text(html, encoding="utf-8")
    return files


def start_server(db: Path) -> tuple[str, str, object]:
    """A control plane for the example site on a free loopback port: (url, admin token, server)."""
    import httpx
    import uvicorn

    from megapod.serve.app import create_app
    from megapod.serve.settings import Settings

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    token = "adm-" + secrets.token_hex(16)
    settings = Settings(
        site=EXAMPLES / "megapod.yaml",
        db_url=f"sqlite:///{db}",
        initial_admin_token=token,
        speed=120.0,
        port=port,
        log_tokens=False,
        telemetry_every_s=1.0,
        sweep_out_dir=db.parent / "sweeps",
        checkpoint_dir=db.parent / "checkpoints",
    )
    config = uvicorn.Config(
        create_app(settings), host="127.0.0.1", port=port, log_level="warning", timeout_graceful_shutdown=1
    )
    server = uvicorn.Server(config)
    threading.Thread(target=server.run, daemon=True).start()
    url = f"http://127.0.0.1:{port}"
    for _ in range(600):
        try:
            if httpx.get(f"{url}/healthz", timeout=2).json().get("status") == "ok":
                return url, token, server
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    sys.exit("the control plane did not start")


def main() -> None:
    """Parse the arguments and write the screenshots."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=REPO / "docs" / "img", help="folder for the PNG files")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)

    import httpx
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory() as tmp, sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=chromium(), headless=True, args=["--no-sandbox"])
        page = browser.new_page(viewport={"width": WIDTH, "height": 1000})
        for name, path in static_reports(Path(tmp)).items():
            page.goto(path.as_uri())
            page.wait_for_selector(".mp-chart svg.main-svg")
            page.wait_for_timeout(500)
            height = min(3000, page.evaluate("() => document.body.scrollHeight"))
            clip = {"x": 0, "y": 0, "width": WIDTH, "height": height}
            page.screenshot(path=args.out / f"{name}.png", clip=clip, full_page=True)
            sys.stdout.write(f"wrote {args.out / (name + '.png')}\n")

        url, token, server = start_server(Path(tmp) / "serve.db")
        auth = {"Authorization": f"Bearer {token}"}
        for i, gpus in enumerate((144, 72, 216, 576)):
            job = {"idempotency_key": f"shot-{i}", "name": f"train-{i}", "gpus": gpus, "work_s": 6 * 3600.0}
            httpx.post(f"{url}/api/v1/jobs", json=job, headers=auth).raise_for_status()
        context = browser.new_context(viewport={"width": WIDTH, "height": 1000})
        context.request.post(f"{url}/api/v1/session", data={"token": token})
        page = context.new_page()
        page.goto(url + "/")
        page.wait_for_selector("#chart-power .main-svg", timeout=60_000)
        page.wait_for_timeout(8000)  # a few seconds of live updates on the timelines
        page.screenshot(path=args.out / "dashboard.png", full_page=True)
        sys.stdout.write(f"wrote {args.out / 'dashboard.png'}\n")
        context.close()
        browser.close()
        server.should_exit = True  # type: ignore[attr-defined]


if __name__ == "__main__":
    main()
