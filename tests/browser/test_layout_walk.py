"""Layout walk (issue 13): every page a caseworker, a team lead and a manager reach fits the screen.

For each role the test signs in, follows links from the start page and a family's page (same
origin, GET pages only: no logout, no language switch, no downloads or API; one page per URL shape,
so ``/familier/7/plan`` and ``/familier/9/plan`` count once; at most ``MAX_PAGES``), and checks each
page at 1366, 1024, 768 and 320 px:

* no sideways scroll: ``document.documentElement.scrollWidth <= window.innerWidth`` (WCAG 1.4.10);
  a failure names the elements that stick out (the outermost ones, with their right edge);
* touch targets (WCAG 2.5.8): every visible ``a[href]``, ``button``, ``select``, ``summary`` and
  checkbox/radio/submit input is at least 24×24 px, or keeps the spacing exception (a 24 px circle
  on its centre meets no other target and no other small target's circle). Exempt, as WCAG allows:
  a link in running text, i.e. one whose block (its nearest non-inline ancestor) has other words
  of its own besides its links and controls. A link that wraps counts line by line; a target
  scrolled out of its scroll box or under a sticky cell (the queue's action column) is not counted
  at that scroll position;
* chart text: every ``svg text`` is drawn at 11 px or more (its font size times the SVG's scale on
  screen, so a chart squeezed below its natural size fails);
* at 1366 px the header (``header.site-header``) is one row: its items share one horizontal line,
  no text in it wraps, and it is no taller than its tallest item plus its padding;
* axe-core finds nothing serious or critical at 1366 and 768 px.

Every problem is collected (page, width, what, where) and reported together at the end.
"""

from __future__ import annotations

import re
from collections import deque
from urllib.parse import urljoin, urlsplit

import pytest

from tests.browser.conftest import axe_serious, screenshot, sign_in

pytestmark = pytest.mark.browser

WIDTHS = (1366, 1024, 768, 320)
AXE_WIDTHS = (1366, 768)
HEIGHT = 900
MAX_PAGES = 60
MIN_TARGET = 24
MIN_CHART_FONT = 11

SKIP_PATH = re.compile(r"^/(api|static|sprak|logg-inn|healthz)(/|$)|\.(pdf|csv|xlsx|json|zip)$")

# The pages each role must have reached (URL shapes, digits replaced by N), so the walk cannot
# quietly shrink when a link moves.
FAMILY_PAGES = {"/familier/N", "/familier/N/plan", "/familier/N/moter", "/familier/N/moter/N",
                "/familier/N/moter/ny", "/familier/N/vurderinger", "/familier/N/team", "/familier/N/samtykke",
                "/familier/N/deltakelse", "/familier/N/tema", "/familier/N/budsjett",
                "/familier/N/budsjett/ny"}
EXPECTED = {
    "caseworker": {"/", "/familier"} | FAMILY_PAGES,
    "team_lead": {"/", "/familier", "/budsjett/godkjenning"} | FAMILY_PAGES,
    "manager": {"/", "/rapporter/resultater", "/budsjett/ledelse"},
}

DESCRIBE_JS = r"""
window.__layoutDescribe = (el) => {
  let s = el.tagName.toLowerCase();
  if (el.id) s += '#' + el.id;
  const cls = (typeof el.className === 'string' ? el.className : '').trim();
  if (cls) s += '.' + cls.split(/\s+/).join('.');
  const text = (el.innerText || el.textContent || el.getAttribute('aria-label') || el.getAttribute('name') || '')
    .trim().replace(/\s+/g, ' ').slice(0, 40);
  return text ? `${s} "${text}"` : s;
};
true;
"""

OVERFLOW_JS = r"""
() => {
  const vw = window.innerWidth;
  const doc = document.documentElement;
  if (doc.scrollWidth <= vw) return null;
  const clipped = (el) => {
    for (let p = el.parentElement; p && p !== document.body && p !== doc; p = p.parentElement) {
      if (getComputedStyle(p).overflowX !== 'visible') return true;
    }
    return false;
  };
  let culprits = [];
  const scan = (skipClipped) => {
  for (const el of document.body.querySelectorAll('*')) {
    const r = el.getBoundingClientRect();
    if (r.width === 0 || r.right <= vw + 0.5 || (skipClipped && clipped(el))) continue;
    const parent = el.parentElement.getBoundingClientRect();
    if (parent.right > vw + 0.5 && r.right <= parent.right + 0.5) continue;  // its parent sticks out as far
    const escaped = ` (position: ${getComputedStyle(el).position}, escapes its scroll container)`;
    culprits.push({what: window.__layoutDescribe(el) + (skipClipped ? '' : escaped),
                   right: Math.round(r.right), width: Math.round(r.width)});
  }
  };
  scan(true);
  // e.g. an absolutely positioned element whose containing block is outside its scroll box
  if (!culprits.length) scan(false);
  culprits.sort((a, b) => b.right - a.right);
  return {scrollWidth: doc.scrollWidth, innerWidth: vw, culprits: culprits.slice(0, 4)};
}
"""

TARGETS_JS = r"""
(min) => {
  const sel = 'a[href], button, input[type=checkbox], input[type=radio], input[type=submit], select, summary';
  const controls = 'a[href], button, input, select, textarea, summary, label';
  const visible = (el) => {
    const r = el.getBoundingClientRect();
    if (r.width === 0 || r.height === 0 || r.right <= 0 || r.bottom <= 0) return false;
    return el.checkVisibility({visibilityProperty: true, opacityProperty: true});
  };
  const inRunningText = (el) => {
    if (el.tagName !== 'A') return false;
    let block = el.parentElement;
    while (block && getComputedStyle(block).display.startsWith('inline')) block = block.parentElement;
    if (!block) return false;
    const copy = block.cloneNode(true);
    copy.querySelectorAll(controls).forEach((c) => c.remove());
    copy.querySelectorAll('.visually-hidden').forEach((c) => c.remove());
    return /[\p{L}\p{N}]{2,}/u.test(copy.textContent);
  };
  // What a user can tap right now: not scrolled out of its scroll box, not under a sticky cell.
  const sticky = [...document.querySelectorAll('body *')].filter((e) => getComputedStyle(e).position === 'sticky');
  const inside = (x, y, r) => x >= r.left && x <= r.right && y >= r.top && y <= r.bottom;
  const shown = (el, x, y) => {
    for (let p = el.parentElement; p && p !== document.body; p = p.parentElement) {
      if (getComputedStyle(p).overflowX !== 'visible' && !inside(x, y, p.getBoundingClientRect())) return false;
    }
    return !sticky.some((s) => !s.contains(el) && inside(x, y, s.getBoundingClientRect()));
  };
  // A link that wraps onto two lines is two boxes: each line's box counts on its own.
  const all = [];
  for (const el of [...document.querySelectorAll(sel)].filter(visible)) {
    const boxes = [...el.getClientRects()].filter((r) => r.width > 0 && r.height > 0);
    for (const r of (boxes.length > 1 ? boxes : [el.getBoundingClientRect()])) {
      if (!shown(el, r.left + r.width / 2, r.top + r.height / 2)) continue;
      all.push({el, r, cx: r.left + r.width / 2, cy: r.top + r.height / 2,
                small: r.width < min - 0.5 || r.height < min - 0.5});
    }
  }
  const distToRect = (x, y, r) => Math.hypot(Math.max(r.left - x, 0, x - r.right),
                                             Math.max(r.top - y, 0, y - r.bottom));
  const problems = [];
  const reported = new Set();
  for (const t of all) {
    if (!t.small || reported.has(t.el) || inRunningText(t.el)) continue;
    const crowded = all.find((o) => o.el !== t.el && !o.el.contains(t.el) && !t.el.contains(o.el) && (o.small
      ? Math.hypot(o.cx - t.cx, o.cy - t.cy) < min - 0.5
      : distToRect(t.cx, t.cy, o.r) < min / 2 - 0.5));
    if (crowded) {
      reported.add(t.el);
      problems.push(`${window.__layoutDescribe(t.el)} is ${Math.round(t.r.width)}x${Math.round(t.r.height)} px ` +
                    `and within ${min} px of ${window.__layoutDescribe(crowded.el)}`);
    }
  }
  return problems;
}
"""

CHART_TEXT_JS = r"""
(min) => {
  const problems = [];
  for (const t of document.querySelectorAll('svg text')) {
    const r = t.getBoundingClientRect();
    if (r.width === 0 || !t.checkVisibility()) continue;
    const m = t.getScreenCTM();
    const px = parseFloat(getComputedStyle(t).fontSize) * Math.hypot(m.a, m.b);
    if (px < min - 0.05) {
      const svg = t.closest('svg');
      const title = svg.querySelector('title');
      const name = title ? title.textContent : svg.id;
      problems.push(`"${t.textContent.trim()}" in chart "${name}" is ${px.toFixed(1)} px`);
    }
  }
  return problems;
}
"""

HEADER_JS = r"""
() => {
  const header = document.querySelector('header.site-header');
  if (!header) return ['no header.site-header on the page'];
  const visible = (el) => { const r = el.getBoundingClientRect(); return r.width > 0 && r.height > 0; };
  const items = [...header.children, ...header.querySelectorAll('nav li')].filter(visible);
  const problems = [];
  const rects = items.map((el) => ({el, r: el.getBoundingClientRect()}));
  const lowestTop = Math.max(...rects.map((x) => x.r.top));
  const highestBottom = Math.min(...rects.map((x) => x.r.bottom));
  if (lowestTop >= highestBottom) {
    const low = rects.find((x) => x.r.top === lowestTop);
    problems.push(`items are on more than one row (${window.__layoutDescribe(low.el)} starts at y=` +
                  `${Math.round(lowestTop)}, another item ends at y=${Math.round(highestBottom)})`);
  }
  for (const el of header.querySelectorAll('a, button, span, input, label')) {
    if (visible(el) && getComputedStyle(el).display.startsWith('inline') && el.getClientRects().length > 1) {
      problems.push(`${window.__layoutDescribe(el)} wraps onto ${el.getClientRects().length} lines`);
    }
  }
  const style = getComputedStyle(header);
  const padding = parseFloat(style.paddingTop) + parseFloat(style.paddingBottom);
  const tallest = Math.max(...rects.map((x) => x.r.height));
  const height = header.getBoundingClientRect().height;
  if (height > tallest + padding + 1) {
    problems.push(`it is ${Math.round(height)} px high, one row is ${Math.round(tallest + padding)} px`);
  }
  return problems;
}
"""


def _shape(path: str) -> str:
    return re.sub(r"\d+", "N", path.rstrip("/") or "/")


def _family_seed(page) -> str | None:
    """An active family with consent, from *Familier* (None when the role has no such page)."""
    response = page.goto("/familier")
    if response is None or response.status != 200:
        return None
    for row in page.locator("table tbody tr").all():
        text = row.inner_text()
        if "Aktiv" in text and "Ikke samtykke" not in text and row.get_by_role("link").count():
            return urlsplit(urljoin(page.url, row.get_by_role("link").first.get_attribute("href"))).path
    return None


def _links(page, origin: str) -> list[str]:
    hrefs = page.eval_on_selector_all(
        "a[href]:not([download])", "els => els.map(a => a.href)")
    found = []
    for href in hrefs:
        parts = urlsplit(href)
        if f"{parts.scheme}://{parts.netloc}" != origin or SKIP_PATH.search(parts.path):
            continue
        found.append(parts.path + (f"?{parts.query}" if parts.query else ""))
    return found


def _check_page(page, url: str, problems: list[str]) -> None:
    page.evaluate(DESCRIBE_JS)
    for width in WIDTHS:
        page.set_viewport_size({"width": width, "height": HEIGHT})
        page.wait_for_timeout(50)
        where = f"{url} at {width} px"
        overflow = page.evaluate(OVERFLOW_JS)
        if overflow:
            culprits = "; ".join(f"{c['what']} (right edge {c['right']} px, {c['width']} px wide)"
                                 for c in overflow["culprits"]) or "no single element found"
            problems.append(f"{where}: page scrolls sideways (scrollWidth {overflow['scrollWidth']} > "
                            f"{overflow['innerWidth']}); widest: {culprits}")
        problems.extend(f"{where}: touch target {p}" for p in page.evaluate(TARGETS_JS, MIN_TARGET))
        problems.extend(f"{where}: chart text {p} (< {MIN_CHART_FONT} px)"
                        for p in page.evaluate(CHART_TEXT_JS, MIN_CHART_FONT))
        if width == 1366:
            problems.extend(f"{where}: header not one line: {p}" for p in page.evaluate(HEADER_JS))
        if width in AXE_WIDTHS:
            problems.extend(f"{where}: axe {p}" for p in axe_serious(page))


@pytest.mark.parametrize("role", ["caseworker", "team_lead", "manager"])
def test_every_page_fits_every_width(page, live_server, role):
    sign_in(page, role)
    origin = live_server
    seeds = ["/"]
    family = _family_seed(page)
    if family:
        seeds += [family, f"{family}/moter"]  # the family page links the full meeting list only past a few
    queue: deque[str] = deque(seeds)
    seen_shapes = {_shape(urlsplit(u).path) for u in seeds}
    visited: list[str] = []
    skipped: list[str] = []
    problems: list[str] = []
    while queue and len(visited) < MAX_PAGES:
        url = queue.popleft()
        response = page.goto(url)
        if response is None or response.status != 200 or urlsplit(page.url).path != urlsplit(url).path:
            skipped.append(f"{url} ({response.status if response else 'no response'} → {page.url})")
            continue
        visited.append(url)
        for link in _links(page, origin):
            shape = _shape(urlsplit(link).path)
            if shape not in seen_shapes:
                seen_shapes.add(shape)
                queue.append(link)
        _check_page(page, url, problems)
    reached = {_shape(urlsplit(u).path) for u in visited}
    missing = EXPECTED[role] - reached
    assert not missing, f"{role}: the walk did not reach {sorted(missing)}; visited {visited}; skipped {skipped}"
    assert not problems, (f"{role}: {len(problems)} layout problems on {len(visited)} pages:\n"
                          + "\n".join(problems))


def test_the_family_page_at_320_and_the_consent_page_at_768(page):
    """The screenshots docs/cases.md shows (``VELFERDSLAB_SCREENSHOTS=docs/img``), checked as they are taken."""
    sign_in(page, "caseworker")
    family = _family_seed(page)
    assert family, "the demo caseworker has no active family with consent"
    for width, url, name in ((320, family, "layout-320-family"), (768, f"{family}/samtykke", "layout-768-consent")):
        page.set_viewport_size({"width": width, "height": 1100})
        page.goto(url)
        assert page.evaluate("document.documentElement.scrollWidth") <= width, f"{url} scrolls sideways at {width} px"
        table = page.locator("main table").first
        if width == 768:
            region = page.locator("main .table-scroll[role=region]").first
            assert region.get_attribute("tabindex") == "0" and region.get_attribute("aria-label")
            assert table.bounding_box()["width"] > 0
        screenshot(page, name)
