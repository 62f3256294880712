"""A mail template cannot tie up a worker: size, steps and time are bounded, on preview and on save."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from survey import db
from survey.invitations import sandbox
from survey.invitations.models import MailTemplate
from tests.invitations.test_pages import _post

OVER_BOUNDS = {
    "một giá trị khổng lồ": ("{{ 'x' * 300000000 }}", "nội dung vượt quá 100.000 ký tự"),
    "thư quá dài": ("{% for i in range(5000) %}{{ 'x' * 50 }}{% endfor %}", "nội dung vượt quá 100.000 ký tự"),
    "nối chuỗi nhân đôi": ("{% set a = 'x' * 60000 %}{% set b = a ~ a %}{{ b|length }}",
                           "nội dung vượt quá 100.000 ký tự"),
    "vòng lặp lồng nhau": ("{% for a in range(1000) %}{% for b in range(1000) %}{% endfor %}{% endfor %}",
                           "vượt quá 10.000 bước lặp hoặc lời gọi"),
    "dãy số quá dài": ("{{ range(100000)|sum }}", "vượt quá 10.000 bước lặp hoặc lời gọi"),
    "đệm chuỗi": ("{{ 'x'.ljust(300000000) }}", "thao tác không được phép"),
    "định dạng %": ("{{ '%300000000s' % 'x' }}", "không dùng phép % với chuỗi"),
    "khối gom nội dung": ("{% set x %}{% for i in range(9000) %}{{ 'x' * 90000 }}{% endfor %}{% endset %}",
                          "mẫu thư không dùng macro"),
}


@pytest.mark.parametrize("action", ["preview", "save"])
@pytest.mark.parametrize("case", OVER_BOUNDS)
def test_a_template_over_a_bound_is_refused_with_the_reason(app, client, campaign, login, action, case):
    round_id = campaign(per_group=1)
    login("province_admin")
    url = f"/admin/rounds/{round_id}/mail/template?kind=invitation"
    body, reason = OVER_BOUNDS[case]
    reply = _post(client, url, url, action=action, subject="Kính mời", body_text=body + "{{ link }}",
                  body_html="<p>{{ link }}</p>")
    assert reply.status_code == 422 and reason in reply.text
    with app.app_context():
        assert db.session().scalars(select(MailTemplate)).all() == []


@pytest.mark.parametrize("action", ["preview", "save"])
def test_a_template_over_the_time_bound_is_refused(app, client, campaign, login, monkeypatch, action):
    round_id = campaign(per_group=1)
    login("province_admin")
    url = f"/admin/rounds/{round_id}/mail/template?kind=invitation"
    monkeypatch.setattr(sandbox, "LIMITS", sandbox.Limits(seconds=0))  # every render is already late
    reply = _post(client, url, url, action=action, subject="Kính mời",
                  body_text="{% for i in range(3) %}{{ i }}{% endfor %}{{ link }}", body_html="<p>{{ link }}</p>")
    assert reply.status_code == 422 and "điền mẫu mất quá 0 giây" in reply.text
    with app.app_context():
        assert db.session().scalars(select(MailTemplate)).all() == []


def test_a_template_within_the_bounds_still_loops_and_filters(app, client, campaign, login):
    round_id = campaign(per_group=1)
    login("province_admin")
    url = f"/admin/rounds/{round_id}/mail/template?kind=invitation"
    reply = _post(client, url, url, action="preview", subject="Kính mời {{ full_name|upper }}",
                  body_text="{% for i in range(3) %}{{ loop.index }}{% endfor %} {{ '-' * 5 }} {{ link }}",
                  body_html="<p>{{ full_name|title }} {{ link }}</p>")
    assert reply.status_code == 200 and "Kính mời NGUYỄN VĂN AN" in reply.text and "123 ----- " in reply.text
