"""A plan request whose customers try to break the page: markup in names, Chinese text."""

from __future__ import annotations

from typing import Any

from tests.app.factories import plan_body

IMG_XSS = "<img src=x onerror=alert(1)>"
SCRIPT_XSS = "</script><script>alert(1)</script>"
CHINESE_NAME = "上海张江科技有限公司"
CHINESE_ADDRESS = "上海市浦东新区张江路88号"


def hostile_body(**options: Any) -> dict[str, Any]:
    """``plan_body`` with hostile and Chinese customer names and one address."""
    body = plan_body(**options)
    customers = body["customers"]
    customers[0]["name"] = IMG_XSS
    customers[1]["name"] = SCRIPT_XSS
    customers[2]["name"] = CHINESE_NAME
    customers[2]["address"] = CHINESE_ADDRESS
    return body


def token_of(share_url: str) -> str:
    """The token at the end of a share URL."""
    return share_url.rsplit("/s/", 1)[1]
