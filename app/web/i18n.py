"""The share page's two languages: English and Simplified Chinese.

One flat table per language keeps translations reviewable side by side; the page picks a
language from ``?lang=`` first, then ``Accept-Language`` (quality values honoured).
"""

from __future__ import annotations

from datetime import date
from typing import Literal

Lang = Literal["en", "zh"]

_WEEKDAYS = {
    "en": ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"),
    "zh": ("周一", "周二", "周三", "周四", "周五", "周六", "周日"),
}
_MONTHS_EN = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")

STRINGS: dict[Lang, dict[str, str]] = {
    "en": {
        "title": "Visit itinerary",
        "rep": "Rep",
        "area": "Area",
        "today": "Today",
        "depart": "Depart",
        "return": "Back",
        "arrival": "Arrive",
        "visit": "Visit",
        "drive": "Drive from previous stop",
        "wait": "wait",
        "min": "min",
        "km": "km",
        "navigate": "Navigate",
        "lunch": "Lunch",
        "day_totals": "Day totals",
        "visits": "Visits",
        "drive_time": "Drive time",
        "drive_distance": "Drive distance",
        "visit_time": "Time with customers",
        "summary": "Plan summary",
        "drive_cost": "Value of driving time",
        "saved_value": "Saved against the unoptimised order",
        "saved_time": "Driving saved",
        "calendar": "Add to calendar",
        "calendar_day": "This day",
        "calendar_all": "All days",
        "map": "Map",
        "no_map": "The map needs a connection; the list below has everything.",
        "print": "Print",
        "segment_prospect": "Prospect",
        "segment_maintaining": "Maintaining",
        "segment_ordered": "Ordered",
        "unassigned": "Not planned",
        "gone_title": "This link no longer works",
        "gone_body": (
            "The itinerary link has expired or was withdrawn. Ask the sender for a new one."
        ),
        "missing_title": "Itinerary not found",
        "missing_body": "No itinerary matches this link. Check that it was copied completely.",
        "lang_other": "中文",
        "version": "Version",
        "outcome": "Outcome",
        "outcome_report": "Report the visit",
        "outcome_done": "Done",
        "outcome_no_show": "No show",
        "outcome_cancelled": "Cancelled",
        "outcome_rescheduled": "Rescheduled",
        "outcome_skipped": "Skipped",
        "outcome_confirm": "Confirm",
        "outcome_back": "Back",
        "outcome_failed": "Could not save; check the connection and try again.",
    },
    "zh": {
        "title": "拜访行程",
        "rep": "销售代表",
        "area": "区域",
        "today": "今天",
        "depart": "出发",
        "return": "返回",
        "arrival": "到达",
        "visit": "拜访",
        "drive": "距上一站车程",
        "wait": "等待",
        "min": "分钟",
        "km": "公里",
        "navigate": "导航",
        "lunch": "午餐",
        "day_totals": "当日合计",
        "visits": "拜访数",
        "drive_time": "驾驶时间",
        "drive_distance": "驾驶里程",
        "visit_time": "拜访时间",
        "summary": "计划汇总",
        "drive_cost": "驾驶时间价值",
        "saved_value": "相比未优化顺序节省",
        "saved_time": "节省驾驶时间",
        "calendar": "添加到日历",
        "calendar_day": "当天",
        "calendar_all": "全部日期",
        "map": "地图",
        "no_map": "地图需要网络连接；下方列表包含全部信息。",
        "print": "打印",
        "segment_prospect": "潜在客户",
        "segment_maintaining": "维护客户",
        "segment_ordered": "已下单客户",
        "unassigned": "未安排",
        "gone_title": "此链接已失效",
        "gone_body": "行程链接已过期或已被撤销，请向发送人索取新链接。",
        "missing_title": "未找到行程",
        "missing_body": "没有与此链接匹配的行程，请检查链接是否完整。",
        "lang_other": "English",
        "version": "版本",
        "outcome": "拜访结果",
        "outcome_report": "记录拜访结果",
        "outcome_done": "已完成",
        "outcome_no_show": "客户未到",
        "outcome_cancelled": "已取消",
        "outcome_rescheduled": "已改期",
        "outcome_skipped": "已跳过",
        "outcome_confirm": "确认",
        "outcome_back": "返回",
        "outcome_failed": "保存失败，请检查网络后重试。",
    },
}


def negotiate(query_lang: str | None, accept_language: str | None) -> Lang:
    """``?lang=`` wins; else the best-quality ``Accept-Language`` entry we speak; else English."""
    if query_lang:
        lowered = query_lang.strip().lower()
        if lowered.startswith("zh"):
            return "zh"
        if lowered.startswith("en"):
            return "en"
    best: tuple[float, Lang] | None = None
    for position, part in enumerate((accept_language or "").split(",")):
        tag, _, params = part.strip().partition(";")
        quality = 1.0
        for param in params.split(";"):
            key, _, value = param.strip().partition("=")
            if key == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        tag = tag.strip().lower()
        lang: Lang | None = "zh" if tag.startswith("zh") else "en" if tag.startswith("en") else None
        # Earlier entries win ties, as the header lists preferences in order.
        if lang is not None and quality > 0 and (best is None or quality > best[0]):
            best = (quality - position * 1e-6, lang)
    return best[1] if best else "en"


def day_label(day: date, lang: Lang) -> str:
    """A short, unambiguous date for a tab: 'Mon 7 Dec' or '12月7日 周一'."""
    weekday = _WEEKDAYS[lang][day.weekday()]
    if lang == "zh":
        return f"{day.month}月{day.day}日 {weekday}"
    return f"{weekday} {day.day} {_MONTHS_EN[day.month - 1]}"
