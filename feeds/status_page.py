"""The web app's ``/status`` page: each source's health, last and next run, and a chart
of its articles per day over the last 30 days.

Arabic, right to left, in the front page's style; rendered server-side from
`crawler.ops.health.source_status` with every value escaped. The chart is inline SVG
(one ``<rect>`` per day, its count in a ``<title>`` tooltip): no script, no charting
library, nothing fetched, and it fits the page's CSP (``default-src 'none'``).
"""

from __future__ import annotations

from datetime import date, datetime
from html import escape
from typing import Any, Mapping

from feeds.page import BASE_CSS, MONTHS_MA, arabic_date, document_start

HEALTH_LABELS: dict[str, str] = {
    "ok": "سليم",
    "degraded": "متدهور",
    "failing": "متعطل",
    "unknown": "لم يُفحص بعد",
}
HEALTH_COLOURS: dict[str, str] = {"ok": "#0b6e4f", "degraded": "#b26a00", "failing": "#b3261e", "unknown": "#5b6570"}
RUN_STATUS_LABELS: dict[str, str] = {
    "finished": "اكتمل",
    "running": "جارٍ",
    "failed": "فشل",
    "interrupted": "توقف",
    "crashed": "انهار",
    "shutdown": "أوقف",
}
MONITOR_LABELS: dict[str, str] = {
    "no_articles": "وجود مقالات",
    "site_answered": "استجابة الموقع",
    "min_articles": "الحد الأدنى من المقالات",
    "coverage/title": "تغطية العناوين",
    "coverage/body_text": "تغطية النصوص",
    "coverage/date_published": "تغطية تواريخ النشر",
    "coverage/section_raw": "تغطية الأقسام",
    "error_rate": "نسبة الأخطاء",
    "finish_reason": "اكتمال الجولة",
    "crawl_process": "عملية الزحف",
    "selectors_stale/title": "محددات العناوين",
    "selectors_stale/body_text": "محددات النصوص",
    "selectors_stale/date_published_raw": "محددات التواريخ",
}
CHART_W, CHART_H, CHART_PAD = 300, 80, 14

_CSS = BASE_CSS + """main{max-width:60rem;margin:0 auto;padding:1rem 1.2rem}
section.source{background:#fff;border:1px solid var(--line);border-radius:6px;padding:.8rem 1rem;margin:0 0 .9rem}
section.source h3{margin:0 0 .3rem;font-size:1.2rem;display:flex;gap:.6rem;align-items:center}
.health{color:#fff;border-radius:3px;padding:0 .5rem;font-size:.9rem}
dl.run{display:grid;grid-template-columns:max-content 1fr;gap:.1rem .8rem;margin:.3rem 0;font-size:.95rem}
dl.run dt{color:var(--muted)}dl.run dd{margin:0}
.failed{color:#b3261e;font-size:.9rem;margin:.3rem 0}.failed ul{margin:0;padding-inline-start:1.2rem}
figure.chart{margin:.5rem 0 0}figure.chart figcaption{color:var(--muted);font-size:.9rem}
svg.chart{width:100%;max-width:36rem;height:auto;display:block}
svg.chart rect.bar{fill:var(--accent)}svg.chart text{font-size:7px;fill:var(--muted)}
footer{max-width:60rem;margin:0 auto;padding:1rem 1.2rem;color:var(--muted);font-size:.9rem}
"""


def _short_day(d: date) -> str:
    return f"{d.day} {MONTHS_MA[d.month - 1]}"


def _time(iso: str | None) -> str:
    if not iso:
        return "—"
    dt = datetime.fromisoformat(iso)
    return f'<time datetime="{escape(dt.isoformat())}">{escape(arabic_date(dt))}</time>'


def chart_svg(counts: list[int], days: list[date], label: str) -> str:
    """A bar per day (oldest on the left: the time axis of a chart reads left to right
    even on a right-to-left page), the highest day's count and the first/last dates."""
    n = len(counts)
    top = max(counts) if counts and max(counts) > 0 else 1
    inner_h = CHART_H - 2 * CHART_PAD
    slot = CHART_W / max(n, 1)
    bars = []
    for i, (count, day) in enumerate(zip(counts, days)):
        h = round(inner_h * count / top, 2)
        x = round(i * slot + slot * 0.1, 2)
        y = round(CHART_PAD + inner_h - h, 2)
        bars.append(
            f'<rect class="bar" x="{x}" y="{y}" width="{round(slot * 0.8, 2)}" height="{h}" data-day="{day.isoformat()}" '
            f'data-count="{count}"><title>{escape(_short_day(day))}: {count}</title></rect>'
        )
    axis_y = CHART_PAD + inner_h
    first = escape(_short_day(days[0])) if days else ""
    last = escape(_short_day(days[-1])) if days else ""
    return (
        f'<svg class="chart" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {CHART_W} {CHART_H}" role="img" '
        f'aria-label="{escape(label)}" direction="ltr">'
        f'<line x1="0" y1="{axis_y}" x2="{CHART_W}" y2="{axis_y}" stroke="#c9ced4" stroke-width="0.5"/>'
        + "".join(bars)
        + f'<text x="0" y="{CHART_H - 2}" text-anchor="start">{first}</text>'
        f'<text x="{CHART_W}" y="{CHART_H - 2}" text-anchor="end">{last}</text>'
        f'<text x="0" y="{CHART_PAD - 4}" text-anchor="start">{max(counts) if counts else 0}</text>'
        "</svg>"
    )


def _source_html(s: Mapping[str, Any], days: list[date]) -> str:
    e = escape
    health = s["health"] if s["health"] in HEALTH_LABELS else "unknown"
    last = s.get("last_run") or {}
    parts = [
        f'<section class="source" id="source-{e(s["id"])}" data-health="{e(health)}">',
        f'<h3><span class="name">{e(s["name"])}</span>'
        f'<span class="health health-{e(health)}" style="background:{HEALTH_COLOURS[health]}">{e(HEALTH_LABELS[health])}</span>'
        + ('<span class="running">يُجمع الآن</span>' if s.get("running") else "")
        + "</h3>",
        '<dl class="run">',
    ]
    if last:
        status = last.get("status") or ""
        parts += [
            f"<dt>آخر جولة</dt><dd>{_time(last.get('started_at'))} · {e(RUN_STATUS_LABELS.get(status, status))}</dd>",
            f"<dt>مقالات جديدة</dt><dd>{e(str(last.get('articles_new') if last.get('articles_new') is not None else '—'))}"
            f" (محدثة: {e(str(last.get('articles_updated') if last.get('articles_updated') is not None else '—'))})</dd>",
            f"<dt>صفحات</dt><dd>{e(str(last.get('pages') if last.get('pages') is not None else '—'))}</dd>",
        ]
    else:
        parts.append("<dt>آخر جولة</dt><dd>لا توجد جولات بعد</dd>")
    parts.append(f"<dt>الجولة القادمة</dt><dd>{_time(s.get('next_run'))}</dd>")
    parts.append("</dl>")
    failed = last.get("failed_monitors") or []
    if failed:
        items = "".join(
            f'<li>{e(MONITOR_LABELS.get(str(m.get("name")), str(m.get("name"))))} (<code>{e(str(m.get("name")))}</code>): '
            f'<span lang="en" dir="ltr">{e(str(m.get("message") or ""))}</span></li>'
            for m in failed
        )
        parts.append(f'<div class="failed">مراقبات لم تنجح:<ul>{items}</ul></div>')
    label = f"مقالات {s['name']} في اليوم خلال آخر {len(days)} يوما"
    parts.append(
        f'<figure class="chart">{chart_svg(list(s["articles_per_day"]), days, label)}'
        f"<figcaption>مقالات في اليوم خلال آخر {len(days)} يوما: {int(s.get('articles_30d') or 0)}</figcaption></figure>"
    )
    parts.append("</section>")
    return "\n".join(parts)


def render_status_page(status: Mapping[str, Any]) -> str:
    """The whole HTML document from a status dict (`Status.to_dict()`)."""
    days = [date.fromisoformat(d) for d in status["days"]]
    sources = status["sources"]
    counts = {h: sum(1 for s in sources if s["health"] == h) for h in HEALTH_LABELS}
    summary = " · ".join(f"{HEALTH_LABELS[h]}: {n}" for h, n in counts.items() if n)
    generated = datetime.fromisoformat(status["generated_at"])
    return "\n".join(
        [
            *document_start("حالة المصادر", _CSS),
            "</header>",
            "<main>",
            "<h2>حالة المصادر</h2>",
            f'<p class="summary">{escape(summary)}</p>',
            # times below are Moroccan local time; `akhbar status` shows UTC and says so
            '<p class="zone">الأوقات بتوقيت المغرب (Africa/Casablanca)</p>',
            *[_source_html(s, days) for s in sources],
            "</main>",
            "<footer>",
            f"<p>حُدّثت في {escape(arabic_date(generated))} · "
            '<a href="/api/status">JSON</a> · <a href="/">الرئيسية</a></p>',
            "</footer>",
            "</body>",
            "</html>",
            "",
        ]
    )


def status_page_html(archive: Any) -> str:
    from crawler.ops.health import source_status

    return render_status_page(source_status(archive).to_dict())
