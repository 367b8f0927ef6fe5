"""axe-core (the npm package, `make axe`) in headless Chromium on the patients' three pages, at a
phone's width and a laptop's: no serious or critical violation, and no horizontal scrolling."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

from browser import DevTools, find_chromium
from conftest import ROOT
from datasette.utils import tilde_encode

AXE = Path(os.environ.get("CLINICVET_AXE", ROOT / ".cache" / "axe" / "node_modules" / "axe-core" / "axe.min.js"))
WIDTHS = (390, 1280)
FAILING_IMPACTS = {"serious", "critical"}


@pytest.fixture(scope="module")
def axe_source() -> str:
    if not AXE.is_file():
        if os.environ.get("CI"):
            pytest.fail(f"{AXE} is missing; CI must run `make axe` (make test does)")
        pytest.skip(f"{AXE} is missing: run `make axe` (npm install of axe-core)")
    return AXE.read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def devtools(tmp_path_factory):
    binary = find_chromium()
    if binary is None:
        if os.environ.get("CI"):
            pytest.fail("chromium is not installed; CI must run `make system-deps` first")
        pytest.skip("chromium is not installed (apt-get install chromium, or `make system-deps`)")
    browser = DevTools(binary, tmp_path_factory.mktemp("axe"))
    yield browser
    browser.close()


def pages(db: str) -> dict[str, str]:
    return {
        "home": "/",
        "results": f"/{db}/-/find?zip=84101&miles=500",
        "scorecard": f"/{db}/clinics/{tilde_encode('www.lanternway-ketamine.test')}",
    }


@pytest.mark.parametrize("width", WIDTHS)
@pytest.mark.parametrize("page", ["home", "results", "scorecard"])
def test_no_serious_accessibility_violation_and_no_sideways_scrolling(demo_datasette, devtools, axe_source,
                                                                      page, width):
    db = next(d["name"] for d in demo_datasette.json("/-/databases.json") if not d["name"].startswith("_"))
    devtools.open(demo_datasette.url + pages(db)[page], width)
    violations = devtools.axe(axe_source)
    failing = [v for v in violations if v["impact"] in FAILING_IMPACTS]
    assert not failing, "\n".join(f"{v['impact']} {v['id']}: {v['help']} at {v['nodes']}" for v in failing)
    assert devtools.overflow_px() == 0, f"{page} scrolls sideways at {width} px"


def test_the_axe_check_fails_on_a_serious_violation(demo_datasette, devtools, axe_source):
    """Control: a page with an unlabelled input and an image without alt text does fail."""
    devtools.open(demo_datasette.url + "/", 1280)
    devtools.evaluate("document.body.insertAdjacentHTML('beforeend', '<input type=text><img src=/favicon.ico>');"
                      "document.documentElement.removeAttribute('lang'); true")
    impacts = {v["id"]: v["impact"] for v in devtools.axe(axe_source)}
    assert impacts.get("label") in FAILING_IMPACTS and impacts.get("image-alt") in FAILING_IMPACTS
    assert impacts.get("html-has-lang") in FAILING_IMPACTS
