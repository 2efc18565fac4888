"""Error pages in Chinese, and {error: {code, message}} JSON under /api."""

from __future__ import annotations

import math

from flask import Flask, Response, current_app, jsonify, make_response, render_template, request
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import BadHost, HTTPException, InternalServerError, SecurityError

from registry.extensions import db, limiter
from registry.kernel import clock
from registry.web.unit_of_work import record_denial

MESSAGES = {
    400: ("请求无效", "请求的内容不完整或格式不正确,请返回后重试。"),
    401: ("需要登录", "请先登录后再访问。"),
    403: ("无权访问", "您没有访问此页面或执行此操作的权限。"),
    404: ("页面不存在", "您访问的页面不存在,可能已被移除或地址有误。"),
    405: ("请求方式不支持", "此地址不支持该请求方式。"),
    410: ("已撤销", "该内容已被撤销,不再公示。"),
    413: ("内容过大", "提交的内容超过了允许的大小。"),
    429: ("请求过于频繁", "您的操作过于频繁,请稍后再试。"),
    500: ("系统繁忙", "服务器暂时无法处理您的请求,请稍后再试。我们已记录此问题。"),
}
CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    410: "gone",
    413: "too_large",
    429: "too_many_requests",
    500: "internal_error",
}


def wants_json() -> bool:
    """Whether this request is the API's (answered in JSON)."""
    return request.path.startswith("/api/")


def render_error(status: int, message: str | None = None):
    """One error response for pages and the API alike."""
    title, default = MESSAGES.get(status, MESSAGES[500])
    message = message or default
    if wants_json():
        body = {"error": {"code": CODES.get(status, "error"), "message": message}}
        return jsonify(body), status
    return render_template("errors/error.html", status=status, title=title, message=message), status


def _when_to_retry() -> str | None:
    """The 429 message with the wait until the breached limit's window ends, in minutes."""
    current = limiter.current_limit
    if current is None:
        return None
    # reset_at is the window's end rounded up a second (Flask-Limiter's Retry-After convention).
    minutes = max(1, math.ceil((current.reset_at - 1 - clock.timestamp()) / 60))
    return f"您的操作过于频繁,请约 {minutes} 分钟后再试。"


def install(app: Flask) -> None:
    """Register the handlers."""

    @app.errorhandler(CSRFError)
    def csrf_error(error):
        record_denial(f"CSRF: {error.description}", action="csrf.denied")
        return render_error(
            400, "页面已过期或请求来源无法验证(CSRF 校验失败),请刷新页面后重新提交。"
        )

    @app.errorhandler(BadHost)
    @app.errorhandler(SecurityError)
    def untrusted_host(error):
        # A Host header outside TRUSTED_HOSTS (or malformed): Flask built no URL adapter, so the
        # answer is plain text (the error page's links cannot be built), JSON under /api.
        message = "请求无效:访问的主机名不受信任,请通过本站的正式地址访问。"
        if wants_json():
            return render_error(400, message)
        return Response(message, 400, mimetype="text/plain")

    @app.errorhandler(413)
    def too_large(error):
        # The limit in the message (a tester, stop 30: the page did not say how much is allowed).
        limit = int(current_app.config["MAX_CONTENT_LENGTH"]) // (1024 * 1024)
        return render_error(
            413,
            f"提交的内容超过了允许的大小(每次提交连同附件不超过 {limit} MB),本次提交未被保存。"
            "请返回,压缩附件或改为较小的文件后重新提交。",
        )

    @app.errorhandler(429)
    def rate_limited(error):
        record_denial("rate limit exceeded", action="ratelimit.denied")
        return render_error(429, _when_to_retry())

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException):
        status = error.code or 500
        body, code = render_error(status if status in MESSAGES else 500, None)
        response = make_response(body, code)
        # The exception's own headers: a 405 names the methods the address takes (RFC 9110).
        for name, value in error.get_headers():
            if name.lower() != "content-type":
                response.headers[name] = value
        return response

    @app.errorhandler(InternalServerError)
    def internal_error(error):
        db.session.rollback()
        return render_error(500)

    @app.errorhandler(Exception)
    def unexpected(error):
        db.session.rollback()
        app.logger.exception("unhandled error")
        return render_error(500)
