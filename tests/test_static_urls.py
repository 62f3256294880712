"""Pages link their static files through ``static_url``, which builds each address once per mount point."""

from __future__ import annotations


def stylesheet_link(html: str) -> str:
    marker = '<link rel="stylesheet" href="'
    start = html.index(marker) + len(marker)
    return html[start:html.index('"', start)]


def test_static_addresses_follow_the_mount_point(client):
    # Served under a prefix (a reverse proxy's SCRIPT_NAME), then at the root, by the same worker:
    # the address built first must not leak into the other.
    under_prefix = client.get("/admin/login", base_url="http://localhost/khaosat").get_data(as_text=True)
    at_root = client.get("/admin/login").get_data(as_text=True)
    assert stylesheet_link(under_prefix) == "/khaosat/static/survey.css"
    assert stylesheet_link(at_root) == "/static/survey.css"
    with client.get(stylesheet_link(at_root)) as stylesheet:
        assert stylesheet.status_code == 200


def test_the_section_page_links_its_script(client, survey_round):
    _, tokens = survey_round(per_group=1)
    html = client.get(f"/r/{tokens['department'][0]}/section/1").get_data(as_text=True)
    assert '<script src="/static/autosave.js" defer></script>' in html


def test_the_addresses_kept_are_bounded(app, client):
    for n in range(200):
        client.get("/admin/login", base_url=f"http://localhost/mount{n}")
    kept = app.extensions["survey.static_urls"]
    assert 0 < len(kept) <= 64
    assert client.get("/admin/login", base_url="http://localhost/mount7").get_data(as_text=True).count(
        'href="/mount7/static/survey.css"') == 1
