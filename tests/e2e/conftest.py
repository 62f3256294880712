"""The browser every e2e test drives: Debian's Chromium through Playwright.

One Chromium is launched for the whole session (starting it costs about a second on a loaded
machine); each test gets fresh contexts, so cookies, storage and viewport never leak from one
test to the next. A test asks for ``new_page`` when it needs several people or screen sizes,
or for ``desktop`` / ``phone`` when one page is enough.
"""

from __future__ import annotations

import pytest
from playwright.sync_api import sync_playwright

CHROMIUM = "/usr/bin/chromium"
# Without these, Chromium tries the network at start-up and this machine refuses it.
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]

DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 390, "height": 844}


@pytest.fixture(scope="session")
def browser():
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield launched
        launched.close()


@pytest.fixture
def new_page(browser):
    """Opens a page in a context of its own (``viewport`` and Playwright's context options);
    every context it opened is closed when the test ends, whatever the test closed itself."""
    contexts = []

    def open_page(viewport: dict = DESKTOP, **options):
        context = browser.new_context(viewport=viewport, locale="vi-VN", **options)
        contexts.append(context)
        return context.new_page()

    yield open_page
    for context in contexts:
        context.close()


@pytest.fixture
def desktop(new_page):
    return new_page()


@pytest.fixture
def phone(new_page):
    return new_page(PHONE, is_mobile=True, has_touch=True, device_scale_factor=2)


def answer_every_question(page, questions, text: str) -> None:
    """As a respondent would: ``text`` in every open question, the first option that is an answer
    (not "Không biết" or another missing code) in every other."""
    for question in questions:
        if question.kind == "text":
            page.locator(f"textarea[name='q_{question.code}']").fill(text)
            continue
        option = next(o for o in question.scale.options if not o.is_missing)
        page.locator(f"fieldset[id='q_{question.code}'] label.option", has_text=option.label).first.click()
