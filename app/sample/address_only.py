"""The sample request without customer coordinates: a demo of offline district geocoding.

Each customer keeps only a Chinese postal address ("上海市" + district + the street part of the
sample address), which the default offline geocoder places at the district centre via the
bundled ``cpca`` gazetteer; the plan then warns that those customers are district-precise.
"""

from __future__ import annotations

import copy
import re
from typing import Any

DISTRICTS = {
    "Baoshan": "宝山区",
    "Changning": "长宁区",
    "Jing'an": "静安区",
    "Minhang": "闵行区",
    "Pudong": "浦东新区",
    "Xuhui": "徐汇区",
    "Yangpu": "杨浦区",
}
_CHINESE_PART = re.compile(r"\(([^)]*)\)")


def chinese_address(address: str) -> str:
    """``"Pudong, 1278 Keyuan Rd (科苑路1278号)"`` -> ``"上海市浦东新区科苑路1278号"``."""
    district = DISTRICTS[address.split(",", 1)[0].strip()]
    match = _CHINESE_PART.search(address)
    street = match.group(1) if match else ""
    return f"上海市{district}{street}"


def address_only(request: dict[str, Any]) -> dict[str, Any]:
    """A copy of the sample request whose customers have addresses and no lat/lon."""
    out = copy.deepcopy(request)
    for customer in out["customers"]:
        customer["address"] = chinese_address(customer["address"])
        customer.pop("lat", None)
        customer.pop("lon", None)
    return out
