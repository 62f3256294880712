"""Every admin endpoint checks the role: walk the URL map as each role and as nobody."""

from __future__ import annotations

import pytest

from survey.accounts.models import ROLES
from tests.access_matrix import LAST_ENDPOINTS, is_public, parameter_values
from tests.conftest import csrf_token_in


def admin_rules(app):
    rules = [r for r in app.url_map.iter_rules() if not is_public(r.endpoint)]
    # GETs first, then actions, then the ones that end the session.
    return sorted(rules, key=lambda r: (r.endpoint in LAST_ENDPOINTS, "GET" not in r.methods, r.endpoint))


def build_url(rule, values):
    missing = [a for a in rule.arguments if a not in values]
    assert not missing, f"{rule.endpoint}: add a value for {missing} in tests/access_matrix.py"
    return rule.build({a: values[a] for a in rule.arguments})[1]


def test_every_admin_endpoint_declares_its_roles(app):
    unguarded = [r.endpoint for r in admin_rules(app) if not hasattr(app.view_functions[r.endpoint], "required_roles")]
    assert unguarded == []
    assert len(admin_rules(app)) >= 4


def test_nobody_signed_in_reaches_no_admin_endpoint(app, client, survey_round, staff):
    round_id, _ = survey_round()
    staff("focal_point")  # creates the STP agency the parameters refer to
    values = parameter_values(app, round_id)
    csrf = csrf_token_in(client.get("/admin/login").text)
    for rule in admin_rules(app):
        url = build_url(rule, values)
        if "GET" in rule.methods:
            reply = client.get(url)
            assert reply.status_code == 302 and "/admin/login" in reply.headers["Location"], rule.endpoint
        else:
            reply = client.post(url, data={"csrf_token": csrf})
            assert reply.status_code == 401, rule.endpoint


@pytest.mark.parametrize("role", ROLES)
def test_each_role_reaches_exactly_its_endpoints(app, client, survey_round, login, role):
    round_id, _ = survey_round()
    login(role)
    values = parameter_values(app, round_id)
    csrf = csrf_token_in(client.get("/admin/login").text)
    checked = 0
    for rule in admin_rules(app):
        allowed = role in app.view_functions[rule.endpoint].required_roles
        url = build_url(rule, values)
        reply = client.get(url) if "GET" in rule.methods else client.post(url, data={"csrf_token": csrf})
        if allowed:
            assert reply.status_code not in (401, 403), f"{role} refused at {rule.endpoint}"
            if rule.endpoint not in LAST_ENDPOINTS:
                assert "/admin/login" not in reply.headers.get("Location", ""), f"{role} signed out at {rule.endpoint}"
        else:
            assert reply.status_code == 403, f"{role} reached {rule.endpoint} ({reply.status_code})"
        checked += 1
    assert checked == len(admin_rules(app))
