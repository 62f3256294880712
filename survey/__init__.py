"""Flask application for the PAR Index sociological survey and SIPAS."""

from __future__ import annotations

from flask import Flask, current_app, g, has_request_context, render_template, request, url_for
from flask.sessions import SecureCookieSessionInterface
from flask_wtf.csrf import CSRFError, CSRFProtect
from werkzeug.middleware.proxy_fix import ProxyFix
from werkzeug.routing import Rule

from survey import boundary, db, health, round_year
from survey.config import PROJECT_ROOT, from_environment

csrf = CSRFProtect()

# Whole-request ceiling (spreadsheet uploads); areas set lower ones below.
MAX_CONTENT_LENGTH = 60 * 1024 * 1024
# A full questionnaire section posts a few kilobytes; anything far larger is not a form.
BODY_LIMITS = {"respond": 256 * 1024, "point": 256 * 1024}
# Public pages where no staff session is opened or consulted (survey.respond, survey.collection),
# nor by the health check: no user lookup, no idle-clock refresh rewriting the cookie.
PUBLIC_BLUEPRINTS = ("respond", "point", "health")


SECURITY_HEADERS = (
    ("X-Content-Type-Options", "nosniff"),
    ("X-Frame-Options", "DENY"),
    ("Referrer-Policy", "no-referrer"),
    ("Content-Security-Policy", "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
                                "form-action 'self'; frame-ancestors 'none'"),
)
# Production behind TLS (secure cookies): browsers then refuse plain HTTP to this host for a year.
HSTS = ("Strict-Transport-Security", "max-age=31536000")


class _SharedBuilderRule(Rule):
    """Werkzeug's URL rule, whose URL-building functions are compiled once per process and shape of rule.

    Registering a rule compiles two Python functions (``ast`` and ``compile``)
    that build its URLs: 0.17 s of the 0.2 s ``create_app`` took, paid by
    every application the test suite (one per test) or a CLI command creates.
    A builder depends only on the rule's text, parsed trace, defaults and
    converter types; it reaches the converters through the rule it is bound
    to (``.self``), so one compiled for an identical rule serves every copy.
    (``_compile_builder`` is Werkzeug's own; were it renamed, this would
    quietly compile as before.)
    """

    _builders: dict = {}

    def _compile_builder(self, append_unknown: bool = True):
        try:
            key = (self.rule, tuple(self._trace), tuple(sorted((self.defaults or {}).items())),
                   tuple(sorted((name, type(converter)) for name, converter in self._converters.items())),
                   append_unknown)
            builder = self._builders.get(key)
        except TypeError:  # an unhashable default: compile as Werkzeug does
            return super()._compile_builder(append_unknown)
        if builder is None:
            builder = self._builders[key] = super()._compile_builder(append_unknown)
        return builder


class SurveyFlask(Flask):
    """Flask, asking once per function whether it is a coroutine function.

    Flask asks it of every hook and view on every request (``ensure_sync``,
    through ``inspect``): about a dozen times per respondent page, 3 % of its
    time. The answer never changes for a given function.
    """

    url_rule_class = _SharedBuilderRule

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._ensured: dict = {}

    def ensure_sync(self, func):
        try:
            return self._ensured[func]
        except KeyError:
            ensured = self._ensured[func] = super().ensure_sync(func)
            return ensured


def create_app(test_config: dict | None = None) -> Flask:
    app = SurveyFlask(
        __name__,
        template_folder=str(PROJECT_ROOT / "templates"),
        static_folder="static",
    )
    app.config.update(
        MAX_CONTENT_LENGTH=MAX_CONTENT_LENGTH,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        WTF_CSRF_TIME_LIMIT=None,  # a respondent may keep a page open for hours
    )
    app.config.update(test_config if test_config is not None else from_environment())

    hops = app.config.get("PROXY_HOPS", 0)
    if hops:
        # The client's address and scheme as the trusted proxies saw them; never from a header
        # the client wrote itself (the sign-in throttle and the audit log key on the address).
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops)

    db.init_app(app)
    app.extensions["survey.static_urls"] = {}
    app.add_template_global(static_url)
    app.add_template_filter(round_year.with_round_year)

    from survey import questionnaire_registry

    questionnaire_registry.init_app(app)

    # The edge hooks (body-size limits, write intent) must run before CSRF
    # protection, which parses the form in its own before_request hook.
    _register_edge(app)
    boundary.init_app(app)
    csrf.init_app(app)

    from survey.accounts.views import bp as accounts_bp
    from survey.assessment.views import bp as assessment_bp
    from survey.invitations.views import bp as invitations_bp
    from survey.reports.views import bp as reports_bp
    from survey.respond.views import bp as respond_bp
    from survey.roster.views import bp as roster_bp
    from survey.rounds.views import bp as rounds_bp

    for blueprint in (respond_bp, accounts_bp, rounds_bp, roster_bp, invitations_bp, reports_bp,
                      assessment_bp):
        app.register_blueprint(blueprint)
    app.register_blueprint(health.bp)
    # The personal-link pages carry their own link-bound token (survey.respond.form_tokens)
    # and keep no session: nothing is stored on a respondent's device.
    csrf.exempt(respond_bp)
    from survey import collection

    collection.init_app(app)
    from survey import samples

    samples.init_app(app)
    point_bp = app.blueprints["point"]
    csrf.exempt(point_bp)  # its form carries a token bound to the point (survey.respond.form_tokens)
    app.session_interface = _StaffOnlySessions(respond_bp.url_prefix + "/", point_bp.url_prefix + "/")
    _register_errors(app)

    from survey.cli import register_commands

    register_commands(app)
    return app


_STATIC_URLS_KEPT = 64


def static_url(filename: str) -> str:
    """``url_for('static', filename=...)``, built once per file and mount point.

    Every page links its style sheet; building that address through the
    routing map on each page cost the respondent's section page about a sixth
    of its rendering.
    """
    if not has_request_context():
        return url_for("static", filename=filename)
    built = current_app.extensions["survey.static_urls"]
    key = (request.script_root, filename)
    url = built.get(key)
    if url is None:
        if len(built) >= _STATIC_URLS_KEPT:
            built.clear()  # the mount point comes with the request: never let it grow the cache without end
        url = built[key] = url_for("static", filename=filename)
    return url


class _StaffOnlySessions(SecureCookieSessionInterface):
    """Cookie sessions for staff pages; none under the respondents' prefix.

    The session is opened before the URL is matched, hence the prefix. A
    respondent's page that tried to store something would fail loudly (the
    null session refuses writes) instead of setting a cookie.
    """

    def __init__(self, *sessionless_prefixes: str):
        self.sessionless_prefixes = sessionless_prefixes

    def open_session(self, app, request):
        if request.path.startswith(self.sessionless_prefixes):
            return self.make_null_session(app)
        return super().open_session(app, request)


def _register_edge(app: Flask) -> None:
    from survey.accounts import access

    # One hook for the three, not three: Flask's cost per hook is a tenth of a
    # respondent's page's own work.
    @app.before_request
    def enter():
        g.write_intent_token = db.write_intent.set(request.method not in ("GET", "HEAD", "OPTIONS"))
        blueprint = request.blueprint
        limit = BODY_LIMITS.get(blueprint)
        if limit is not None:
            request.max_content_length = limit
        # Respondents are identified by their link only; staff sessions are not consulted there.
        if blueprint not in PUBLIC_BLUEPRINTS and request.endpoint != "static":
            access.load_user()

    @app.teardown_request
    def forget_write_intent(_exc):
        # Back to the default, for whatever runs next in this thread (a test, a CLI command).
        token = g.pop("write_intent_token", None)
        if token is not None:
            db.write_intent.reset(token)

    secure = app.config.get("ENV_MODE") == "production" and app.config["SESSION_COOKIE_SECURE"]
    headers = SECURITY_HEADERS + ((HSTS,) if secure else ())

    @app.after_request
    def commit_at_the_edge(response):
        # One commit per request: services only flush. An error response
        # (or an exception, which skips this hook) leaves the session to be
        # rolled back at teardown.
        for unit in (db.session_if_open(), db.connection_if_open()):
            if unit is not None:
                if response.status_code < 400:
                    unit.commit()
                else:
                    unit.rollback()
        connection = db.connection_if_open()
        if connection is not None:
            db.end_writes(connection)
        # Every page gets the same policy (no view sets its own); assigned, not
        # setdefault, which costs werkzeug an exception per absent header.
        for name, value in headers:
            response.headers[name] = value
        return response


def _register_errors(app: Flask) -> None:
    def page(status: int, title: str, message: str):
        return render_template("errors/error.html", title=title, message=message), status

    @app.errorhandler(CSRFError)
    def csrf_error(_e):
        if request.blueprint == "respond":
            # No session there: the form belongs to another (often an earlier, replaced) link.
            return page(
                400,
                "Biểu mẫu không còn hợp lệ",
                "Biểu mẫu này không khớp với đường dẫn đang dùng (thiếu mã bảo mật của biểu mẫu, hoặc mã không đúng), "
                "có thể vì đường dẫn đã được cấp lại. Vui lòng mở đường dẫn trong thư mời mới nhất; "
                "dữ liệu chưa được ghi.",
            )
        return page(
            400,
            "Phiên làm việc đã hết hạn",
            "Biểu mẫu không còn hợp lệ (mã bảo mật CSRF thiếu hoặc sai). "
            "Vui lòng tải lại trang và thử lại; dữ liệu chưa được ghi.",
        )

    @app.errorhandler(404)
    def not_found(_e):
        return page(404, "Không tìm thấy trang", "Địa chỉ này không tồn tại.")

    @app.errorhandler(413)
    def too_large(_e):
        return page(413, "Dữ liệu gửi lên quá lớn", "Nội dung gửi lên vượt quá giới hạn cho phép; dữ liệu chưa được ghi.")

    @app.errorhandler(500)
    def server_error(_e):
        return page(500, "Lỗi hệ thống", "Đã có lỗi xảy ra; dữ liệu của yêu cầu này chưa được ghi. Vui lòng thử lại sau.")
