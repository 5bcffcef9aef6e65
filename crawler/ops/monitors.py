"""Monitors: after every crawl, judge the run and record its health.

A Scrapy extension (`MonitorsExtension`, enabled in `crawler.settings.EXTENSIONS`) runs
at ``spider_closed`` whatever started the crawl (``akhbar crawl``, ``akhbar run``,
Scrapyd, a cluster worker). While the crawl runs it counts field coverage as items pass
(stats ``coverage/items`` and ``coverage/<field>``); at the end it runs a Spidermon
`MonitorSuite` over the crawl stats:

- ``no_articles``: the run found articles (new ones, or known ones it skipped as fresh);
- ``site_answered``: the site answered at least one request without an error;
- ``min_articles``: at least ``min_articles`` articles found;
- ``coverage/<field>``: share of the run's articles with a title, a body, a parsed date,
  a section, at or above its threshold (a layout change shows as a coverage drop);
- ``error_rate``: failed requests / requests at or below ``max_error_rate``;
- ``finish_reason``: the crawl finished (or was shut down to be resumed) rather than
  being cut short by a limit or an error;
- ``selectors_stale/<field>``: the site's own layers (its selectors, JSON-LD, meta, the
  discovery hints) still give most titles, bodies and dates; over the source's recent
  runs (``crawl_runs.layers``), a streak of runs in which more than ``max_generic_share``
  of a field came from the generic layer is a redesign: "selectors stale: 85 % of bodies
  from the generic layer since run X", X being the first run of the streak.

A run shut down before its end (``shutdown``: SIGTERM, Ctrl-C; the next run resumes it)
is not judged on article counts, nor on answers when it sent no request.

Each monitor gives ``{"name", "ok", "value", "threshold", "message"}``. Health: ``ok``
when all pass, ``failing`` when ``no_articles`` or ``site_answered`` fails (the site
gave nothing), else ``degraded``. Spidermon actions then record the health and results
on the run's ``crawl_runs`` row (migration 301) and, on failures, alert
(`crawler.ops.alerts`). Thresholds: the ``[monitors]`` table of the sources file, with
``[monitors.sources.<id>]`` overrides; see docs/monitoring.md.

Settings: ``MONITORS_ENABLED`` (default True).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from itemadapter import ItemAdapter
from scrapy import signals
from scrapy.exceptions import NotConfigured
from spidermon import Monitor, MonitorSuite, monitors
from spidermon.contrib.scrapy.runners import SpiderMonitorResult, SpiderMonitorRunner
from spidermon.core.actions import Action

from crawler.config import Config, ConfigError

logger = logging.getLogger(__name__)

COVERAGE_FIELDS: tuple[str, ...] = ("title", "body_text", "date_published", "section_raw")
DEFAULT_MIN_ARTICLES = 1
DEFAULT_MAX_ERROR_RATE = 0.25
DEFAULT_COVERAGE: dict[str, float] = {"title": 0.95, "body_text": 0.95, "date_published": 0.8, "section_raw": 0.5}
DEFAULT_SELECTORS_STALE: dict[str, float] = {"max_generic_share": 0.5, "runs": 1, "min_articles": 5}
"""A field is stale when more than ``max_generic_share`` of it came from the generic layer
in each of at least ``runs`` consecutive runs (the newest included) holding together at
least ``min_articles`` articles with that field."""
STALE_NOUNS: dict[str, str] = {"title": "titles", "body_text": "bodies", "date_published_raw": "dates"}
FAILING_MONITORS = frozenset({"no_articles", "site_answered"})
"""A failure of one of these means the site gave nothing: the run is failing, not degraded."""
HEALTH_VALUES = ("ok", "degraded", "failing")
_NOT_ERRORS = frozenset({404, 410})
"""A missing robots.txt or a removed page is the site answering, not the site failing."""


# --- thresholds ----------------------------------------------------------------------


@dataclass(frozen=True)
class Thresholds:
    min_articles: int = DEFAULT_MIN_ARTICLES
    max_error_rate: float = DEFAULT_MAX_ERROR_RATE
    coverage: dict[str, float] = field(default_factory=lambda: dict(DEFAULT_COVERAGE))
    selectors_stale: dict[str, float] = field(default_factory=lambda: dict(DEFAULT_SELECTORS_STALE))


def _check_table(where: str, table: Mapping[str, Any]) -> None:
    for key, value in table.items():
        if key == "min_articles":
            if not isinstance(value, int) or isinstance(value, bool) or value < 0:
                raise ConfigError(f"{where} min_articles: must be a whole number >= 0, not {value!r}")
        elif key == "max_error_rate":
            if not isinstance(value, (int, float)) or isinstance(value, bool) or not 0 <= value <= 1:
                raise ConfigError(f"{where} max_error_rate: must be a number between 0 and 1, not {value!r}")
        elif key == "coverage":
            if not isinstance(value, dict):
                raise ConfigError(f"{where} coverage: must be a table of field = share")
            for name, share in value.items():
                if name not in COVERAGE_FIELDS:
                    raise ConfigError(f"{where} coverage.{name}: unknown field; known: {', '.join(COVERAGE_FIELDS)}")
                if not isinstance(share, (int, float)) or isinstance(share, bool) or not 0 <= share <= 1:
                    raise ConfigError(f"{where} coverage.{name}: must be a share between 0 and 1, not {share!r}")
        elif key == "selectors_stale":
            _check_stale_table(where, value)
        else:
            raise ConfigError(f"{where} {key}: unknown key; known: min_articles, max_error_rate, coverage, selectors_stale")


def _check_stale_table(where: str, value: Any) -> None:
    if not isinstance(value, dict):
        raise ConfigError(f"{where} selectors_stale: must be a table (max_generic_share, runs, min_articles)")
    for name, v in value.items():
        if name == "max_generic_share":
            if not isinstance(v, (int, float)) or isinstance(v, bool) or not 0 <= v <= 1:
                raise ConfigError(f"{where} selectors_stale.max_generic_share: must be a share between 0 and 1, not {v!r}")
        elif name in ("runs", "min_articles"):
            if not isinstance(v, int) or isinstance(v, bool) or v < (1 if name == "runs" else 0):
                raise ConfigError(f"{where} selectors_stale.{name}: must be a whole number >= {1 if name == 'runs' else 0}, not {v!r}")
        else:
            raise ConfigError(f"{where} selectors_stale.{name}: unknown key; known: {', '.join(DEFAULT_SELECTORS_STALE)}")


def validate(cfg: Config) -> None:
    """`crawler.config.TABLE_VALIDATORS` hook for ``[monitors]``."""
    table = dict(cfg.table("monitors"))
    per_source = table.pop("sources", {})
    _check_table(f"{cfg.path}: [monitors]", table)
    if not isinstance(per_source, dict):
        raise ConfigError(f"{cfg.path}: [monitors] sources: must be a table of [monitors.sources.<id>]")
    for sid, entry in per_source.items():
        if sid not in cfg.sources:
            raise ConfigError(f"{cfg.path}: [monitors.sources.{sid}]: no such source; known: {', '.join(cfg.sources)}")
        if not isinstance(entry, dict):
            raise ConfigError(f"{cfg.path}: [monitors.sources.{sid}] must be a table")
        _check_table(f"{cfg.path}: [monitors.sources.{sid}]", entry)


def thresholds_for(table: Mapping[str, Any], source: str | None) -> Thresholds:
    """Defaults, overridden by ``[monitors]``, overridden by ``[monitors.sources.<id>]``."""
    merged: dict[str, Any] = {"coverage": dict(DEFAULT_COVERAGE), "selectors_stale": dict(DEFAULT_SELECTORS_STALE)}
    layers = [table, (table.get("sources") or {}).get(source or "", {})]
    for layer in layers:
        for key, value in layer.items():
            if key in ("coverage", "selectors_stale"):
                merged[key].update(value)
            elif key != "sources":
                merged[key] = value
    return Thresholds(
        min_articles=int(merged.get("min_articles", DEFAULT_MIN_ARTICLES)),
        max_error_rate=float(merged.get("max_error_rate", DEFAULT_MAX_ERROR_RATE)),
        coverage={k: float(v) for k, v in merged["coverage"].items()},
        selectors_stale={k: float(v) for k, v in merged["selectors_stale"].items()},
    )


# --- what a run did, from its stats -------------------------------------------------


@dataclass(frozen=True)
class RunFacts:
    scraped: int
    """Articles that went through the pipelines this run (new or re-checked)."""
    known: int
    """Article URLs found but skipped: archived and still fresh."""
    responses: int
    requests: int
    errors: int
    """Failed requests: download exceptions plus answers >= 400 (404/410 aside)."""
    coverage_items: int
    coverage: dict[str, int]

    @property
    def found(self) -> int:
        return self.scraped + self.known

    @property
    def error_rate(self) -> float:
        return self.errors / self.requests if self.requests else 0.0

    @classmethod
    def from_stats(cls, stats: Mapping[str, Any]) -> RunFacts:
        errors = int(stats.get("downloader/exception_count", 0))
        prefix = "downloader/response_status_count/"
        for key, n in stats.items():
            if key.startswith(prefix):
                try:
                    code = int(key[len(prefix):])
                except ValueError:
                    continue
                if code >= 400 and code not in _NOT_ERRORS:
                    errors += int(n)
        return cls(
            scraped=int(stats.get("item_scraped_count", 0)),
            known=int(stats.get("akhbar/skipped_fresh", 0)),
            responses=int(stats.get("response_received_count", 0)),
            requests=int(stats.get("downloader/request_count", 0)),
            errors=errors,
            coverage_items=int(stats.get("coverage/items", 0)),
            coverage={f: int(stats.get(f"coverage/{f}", 0)) for f in COVERAGE_FIELDS},
        )


@dataclass(frozen=True)
class Check:
    """One monitor's verdict, as stored in ``crawl_runs.monitors`` and sent in alerts."""

    name: str
    ok: bool
    value: Any
    threshold: Any
    message: str

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def health_of(checks: list[Check] | list[dict[str, Any]]) -> str:
    failed = {c["name"] if isinstance(c, dict) else c.name for c in checks if not (c["ok"] if isinstance(c, dict) else c.ok)}
    if not failed:
        return "ok"
    return "failing" if failed & FAILING_MONITORS else "degraded"


@dataclass(frozen=True)
class StaleStreak:
    """The newest run of a source and the runs before it in which more than the allowed
    share of one field came from the generic layer."""

    runs: list[str]
    """Run ids, newest first; the last one is the run the streak began with."""
    generic: int
    total: int

    @property
    def share(self) -> float:
        return self.generic / self.total if self.total else 0.0

    @property
    def since(self) -> str | None:
        return self.runs[-1] if self.runs else None


def stale_streak(history: list[tuple[str, Mapping[str, Mapping[str, int]]]], name: str,
                 max_generic_share: float) -> StaleStreak:
    """The streak of runs, from the newest back, whose `name` came from the generic layer
    for more than `max_generic_share` of the articles that had it. `history` is
    ``[(run_id, {field: {layer: articles}}), ...]`` newest first; a run that extracted no
    article with the field (an incremental run with nothing new) neither extends nor
    ends the streak."""
    from crawler.archive.runs import GENERIC_LAYER

    runs: list[str] = []
    generic = total = 0
    for run_id, counts in history:
        by_layer = {k: int(v) for k, v in (counts.get(name) or {}).items() if k != "none"}
        n = sum(by_layer.values())
        if not n:
            continue
        g = by_layer.get(GENERIC_LAYER, 0)
        if g / n <= max_generic_share:
            break
        runs.append(run_id)
        generic += g
        total += n
    return StaleStreak(runs, generic, total)


def layer_history(archive: Any, source: str | None, run_id: str, stats: Mapping[str, Any],
                  limit: int = 50) -> list[tuple[str, dict[str, dict[str, int]]]]:
    """This run's layer counts (from its stats), then the source's earlier runs' (from
    ``crawl_runs.layers``), newest first."""
    from crawler.archive.runs import layer_counts

    history: list[tuple[str, dict[str, dict[str, int]]]] = [(run_id, layer_counts(stats))]
    if archive is None or not source:
        return history
    rows = archive.fetch(
        "SELECT id, layers FROM crawl_runs WHERE source = ? AND id <> ? AND layers IS NOT NULL "
        "ORDER BY started_at DESC, id DESC LIMIT ?", (source, run_id, int(limit)))
    for row in rows:
        value = row.get("layers")
        if isinstance(value, str):
            value = json.loads(value)
        if isinstance(value, dict):
            history.append((row["id"], value))
    return history


# --- Spidermon monitors ---------------------------------------------------------------
# Each test method works out one `Check`, keeps it in the run's meta (Spidermon's own
# results carry only a pass/fail and an assertion text) and asserts it.


class AkhbarMonitor(Monitor):
    @property
    def facts(self) -> RunFacts:
        return RunFacts.from_stats(self.data.stats)

    @property
    def reason(self) -> str | None:
        return self.data.meta.get("reason") or self.data.stats.get("finish_reason")

    @property
    def interrupted(self) -> bool:
        """Shut down (SIGTERM, Ctrl-C) before its end: the next run resumes it, so what
        it had not reached yet is not held against the site."""
        return self.reason == "shutdown"

    @property
    def thresholds(self) -> Thresholds:
        return self.data.meta["thresholds"]

    def check(self, name: str, ok: bool, value: Any, threshold: Any, message: str) -> None:
        result = Check(name, bool(ok), value, threshold, message)
        self.data.meta["checks"].append(result)
        self.assertTrue(result.ok, message)


_JOINED = "joined a cluster run other workers were crawling: its articles are shared between them"
_STOPPED = "interrupted before its end: the next run resumes it"


@monitors.name("articles")
class ArticlesMonitor(AkhbarMonitor):
    @property
    def joined(self) -> bool:
        """A cluster worker that joined a run already under way (crawler/ops/cluster.py)
        gets whatever share of the frontier the others leave it, possibly none: article
        counts judge the worker that started the run, not the ones that joined it."""
        return int(self.data.stats.get("cluster/joined_workers", 0) or 0) > 0

    @monitors.name("no_articles")
    @monitors.order(1)
    def test_found_articles(self) -> None:
        """The run found articles (new, re-checked or known and fresh)."""
        f = self.facts
        if self.joined or self.interrupted:
            self.check("no_articles", True, f.found, "> 0", f"{f.found} articles found; {_JOINED if self.joined else _STOPPED}")
            return
        self.check("no_articles", f.found > 0, f.found, "> 0",
                   f"{f.found} articles found ({f.scraped} scraped, {f.known} already archived)"
                   if f.found else "the run found no articles")

    @monitors.name("min_articles")
    @monitors.order(3)
    def test_minimum_articles(self) -> None:
        """At least min_articles articles found."""
        f, t = self.facts, self.thresholds.min_articles
        if self.joined or self.interrupted:
            self.check("min_articles", True, f.found, t, f"{f.found} articles found; {_JOINED if self.joined else _STOPPED}")
            return
        self.check("min_articles", f.found >= t, f.found, t, f"{f.found} articles found, at least {t} expected")


@monitors.name("site")
class SiteMonitor(AkhbarMonitor):
    @monitors.name("site_answered")
    @monitors.order(2)
    def test_site_answered(self) -> None:
        """The site answered at least one request without an error."""
        f = self.facts
        good = max(f.requests - f.errors, 0) if f.responses else 0
        if self.interrupted and not f.requests:
            self.check("site_answered", True, 0, "> 0", f"{_STOPPED}, before any request")
            return
        if not f.responses:
            message = f"the site answered none of {f.requests} requests"
        elif not good:
            message = f"all {f.requests} requests failed"
        else:
            message = f"{good} of {f.requests} requests answered"
        self.check("site_answered", good > 0, good, "> 0", message)

    @monitors.name("error_rate")
    @monitors.order(5)
    def test_error_rate(self) -> None:
        """Failed requests / requests at or below max_error_rate."""
        f, t = self.facts, self.thresholds.max_error_rate
        rate = round(f.error_rate, 4)
        self.check("error_rate", rate <= t, rate, t, f"{f.errors} of {f.requests} requests failed ({rate:.0%}, at most {t:.0%})")

    @monitors.name("finish_reason")
    @monitors.order(6)
    def test_finish_reason(self) -> None:
        """The crawl ran to its end, or was shut down to be resumed; not cut short by a
        limit (closespider_*, memusage_exceeded) or an error."""
        reason = self.reason
        message = f"the crawl closed: {reason}" + (f" ({_STOPPED})" if self.interrupted else "")
        self.check("finish_reason", reason in ("finished", "shutdown"), reason, "finished", message)


@monitors.name("coverage")
class CoverageMonitor(AkhbarMonitor):
    def _coverage(self, name: str) -> None:
        f = self.facts
        threshold = self.thresholds.coverage.get(name, 0.0)
        if not f.coverage_items:
            self.check(f"coverage/{name}", True, None, threshold, "no articles went through the pipelines this run")
            return
        share = round(f.coverage[name] / f.coverage_items, 4)
        self.check(f"coverage/{name}", share >= threshold, share, threshold,
                   f"{name}: {f.coverage[name]} of {f.coverage_items} articles ({share:.0%}, at least {threshold:.0%})")

    @monitors.name("title")
    @monitors.order(4)
    def test_title(self) -> None:
        """Share of articles with a title."""
        self._coverage("title")

    @monitors.name("body_text")
    @monitors.order(4)
    def test_body_text(self) -> None:
        """Share of articles with a body."""
        self._coverage("body_text")

    @monitors.name("date_published")
    @monitors.order(4)
    def test_date_published(self) -> None:
        """Share of articles with a parsed publication date."""
        self._coverage("date_published")

    @monitors.name("section_raw")
    @monitors.order(4)
    def test_section_raw(self) -> None:
        """Share of articles with a section."""
        self._coverage("section_raw")


@monitors.name("selectors_stale")
class SelectorsStaleMonitor(AkhbarMonitor):
    """The site's own layers still give most titles, bodies and dates (see `stale_streak`)."""

    def _stale(self, name: str) -> None:
        t = self.thresholds.selectors_stale
        max_share, min_runs, min_articles = t["max_generic_share"], int(t["runs"]), int(t["min_articles"])
        history = self.data.meta.get("layer_history") or [(self.data.meta["run"].get("run_id"), {})]
        streak = stale_streak(history, name, max_share)
        noun = STALE_NOUNS[name]
        check = f"selectors_stale/{name}"
        if streak.runs and len(streak.runs) >= min_runs and streak.total >= min_articles:
            pct = round(streak.share * 100)
            runs = f"{len(streak.runs)} run{'s' if len(streak.runs) > 1 else ''}"
            self.check(check, False, round(streak.share, 4), max_share,
                       f"selectors stale: {pct} % of {noun} from the generic layer since run {streak.since} "
                       f"({streak.generic} of {streak.total} in {runs}; at most {max_share:.0%} expected)")
            return
        from crawler.archive.runs import GENERIC_LAYER

        now = {k: int(v) for k, v in (history[0][1].get(name) or {}).items() if k != "none"}
        n = sum(now.values())
        if not n:
            self.check(check, True, None, max_share, f"no {noun} extracted this run")
            return
        share = round(now.get(GENERIC_LAYER, 0) / n, 4)
        self.check(check, True, share, max_share,
                   f"{now.get(GENERIC_LAYER, 0)} of {n} {noun} from the generic layer this run "
                   f"({share:.0%}; stale above {max_share:.0%})")

    @monitors.name("title")
    @monitors.order(7)
    def test_title(self) -> None:
        """Titles mostly from the site's own layers."""
        self._stale("title")

    @monitors.name("body_text")
    @monitors.order(7)
    def test_body_text(self) -> None:
        """Bodies mostly from the site's own layers."""
        self._stale("body_text")

    @monitors.name("date_published_raw")
    @monitors.order(7)
    def test_date(self) -> None:
        """Publication dates mostly from the site's own layers."""
        self._stale("date_published_raw")


class RecordRunAction(Action):
    """Write the run's health and monitor results on its ``crawl_runs`` row."""

    def run_action(self) -> None:
        meta = self.data.meta
        if meta.get("record") is not None:
            meta["record"](meta["report"])


class AlertAction(Action):
    """Send the failures to the configured alert channels (log line, webhook)."""

    def run_action(self) -> None:
        from crawler.ops.alerts import send

        send(self.data.meta["report"], self.data.meta.get("alerts") or {})


class _ReportAction(Action):
    """First of the finished actions: the checks become the run's report."""

    def run_action(self) -> None:
        meta = self.data.meta
        checks = sorted(meta["checks"], key=_check_order)
        meta["report"] = {
            **meta["run"],
            "health": health_of(checks),
            "monitors": [c.to_dict() for c in checks],
        }


_ORDER = {"no_articles": 1, "site_answered": 2, "min_articles": 3, "coverage": 4, "error_rate": 5, "finish_reason": 6,
          "selectors_stale": 7}


def _check_order(c: Check) -> tuple[int, int]:
    group, _, sub = c.name.partition("/")
    fields = COVERAGE_FIELDS if group == "coverage" else tuple(STALE_NOUNS)
    return _ORDER.get(group, 99), fields.index(sub) if sub in fields else 0


class _LoggingResult(SpiderMonitorResult):
    """Spidermon's step-by-step report, at DEBUG on this module's logger: failures get
    their own WARNING lines from the alerts, and the verdict one INFO line."""

    def log(self, msg: Any, level: int = logging.DEBUG) -> None:
        logger.debug("[Spidermon] %s: %s", getattr(self.spider, "name", "?"), msg)


class _Runner(SpiderMonitorRunner):
    def create_result(self) -> SpiderMonitorResult:
        return _LoggingResult(self.spider)


class RunMonitorSuite(MonitorSuite):
    monitors = [ArticlesMonitor, SiteMonitor, CoverageMonitor, SelectorsStaleMonitor]
    monitors_finished_actions = [_ReportAction, RecordRunAction]
    monitors_failed_actions = [AlertAction]


def run_monitors(stats: Mapping[str, Any], *, spider: Any, thresholds: Thresholds, run: dict[str, Any],
                 reason: str | None = None, alerts: Mapping[str, Any] | None = None,
                 record: Any = None, history: Sequence[tuple[str | None, Any]] | None = None) -> dict[str, Any]:
    """Run the suite over a crawl's stats; returns the report ``{source, run_id, ...,
    health, monitors}`` (also recorded and alerted by the suite's actions). `history` is
    the source's layer counts, this run first (`layer_history`); without it only this
    run's stats are judged."""
    from crawler.archive.runs import layer_counts

    meta: dict[str, Any] = {"thresholds": thresholds, "checks": [], "run": run, "reason": reason,
                            "alerts": dict(alerts or {}), "record": record,
                            "layer_history": history or [(run.get("run_id"), layer_counts(stats))]}
    runner = _Runner(spider=spider)
    result = runner.run(RunMonitorSuite(), stats=dict(stats), spider=spider, meta=meta)
    for step_result in (result.monitors_finished_action_results, result.monitors_failed_action_results):
        for action_result in step_result:
            if action_result.error:
                logger.error("monitors: action %s failed: %s", action_result.item.name, action_result.error)
    return meta.get("report") or {**run, "health": health_of(meta["checks"]), "monitors": [c.to_dict() for c in meta["checks"]]}


# --- the extension -------------------------------------------------------------------


class MonitorsExtension:
    """Counts coverage as items pass; runs the monitors when the spider closes."""

    def __init__(self, crawler: Any, monitors_table: Mapping[str, Any], alerts_table: Mapping[str, Any]) -> None:
        self.crawler = crawler
        self.stats = crawler.stats
        self.monitors_table = monitors_table
        self.alerts_table = alerts_table
        self.record_enabled = crawler.settings.getbool("ARCHIVE_ENABLED", True)
        self._archive: Any = None
        """The crawler's shared archive, held from spider_opened until the health is recorded."""

    @classmethod
    def from_crawler(cls, crawler: Any) -> MonitorsExtension:
        if not crawler.settings.getbool("MONITORS_ENABLED", True):
            raise NotConfigured("MONITORS_ENABLED is off")
        from crawler.config import load_config

        # A broken [monitors] or [alerts] table stops the crawl at start with its reason.
        cfg = load_config(crawler.settings.get("AKHBAR_SOURCES"), validate=False)
        validate(cfg)
        from crawler.ops.alerts import validate as validate_alerts

        validate_alerts(cfg)
        ext = cls(crawler, cfg.table("monitors"), cfg.table("alerts"))
        crawler.signals.connect(ext.item_passed, signal=signals.item_scraped)
        crawler.signals.connect(ext.item_passed, signal=signals.item_dropped)
        crawler.signals.connect(ext.spider_opened, signal=signals.spider_opened)
        crawler.signals.connect(ext.spider_closed, signal=signals.spider_closed)
        return ext

    def spider_opened(self, spider: Any) -> None:
        # Held so that the archive pipeline, releasing it at the same spider_closed, does
        # not close it under the health record written from a worker thread.
        if self.record_enabled and self._archive is None:
            from crawler.archive.shared import crawler_archive

            self._archive = crawler_archive(self.crawler)

    def item_passed(self, item: Any, **_: Any) -> None:
        try:
            adapter = ItemAdapter(item)
        except TypeError:
            return
        self.stats.inc_value("coverage/items")
        for name in COVERAGE_FIELDS:
            value = adapter.get(name)
            if value is not None and value != "" and not (isinstance(value, str) and not value.strip()):
                self.stats.inc_value(f"coverage/{name}")

    async def spider_closed(self, spider: Any, reason: str) -> None:
        from scrapy.utils.defer import maybe_deferred_to_future
        from twisted.internet.threads import deferToThread

        # Off the reactor thread: the archive write and a webhook POST (with retries) must
        # not stall the other spiders of the same process. Scrapy waits for this handler
        # before the crawl ends.
        stats = dict(self.stats.get_stats())
        try:
            await maybe_deferred_to_future(deferToThread(self._judge, spider, reason, stats))
        except Exception as exc:  # judging a run must never fail the crawl
            logger.error("monitors: could not judge run %s: %s", self.run_id, exc, exc_info=True)
        finally:
            if self._archive is not None:
                from crawler.archive.shared import release_crawler_archive

                archive, self._archive = self._archive, None
                release_crawler_archive(self.crawler, archive)

    @property
    def run_id(self) -> str:
        from crawler.archive.runs import run_id_for

        return run_id_for(self.crawler)

    def _judge(self, spider: Any, reason: str, stats: dict[str, Any]) -> dict[str, Any]:
        from crawler.archive.runs import run_id_for

        source = getattr(spider, "source", None)
        source_id = getattr(source, "id", source)
        if not isinstance(source_id, str):
            source_id = None
        run = {"source": source_id, "spider": spider.name, "run_id": run_id_for(self.crawler)}
        report = run_monitors(
            stats, spider=spider, thresholds=thresholds_for(self.monitors_table, source_id), run=run,
            reason=reason, alerts=self.alerts_table, record=self._record if self.record_enabled else None,
            history=self._history(source_id, run["run_id"], stats),
        )
        logger.info("monitors: run %s of %s is %s", run["run_id"], source_id or spider.name, report["health"])
        return report

    def _history(self, source: str | None, run_id: str, stats: Mapping[str, Any]) -> list[tuple[str, Any]]:
        if not self.record_enabled or self._archive is None:
            return layer_history(None, source, run_id, stats)
        from crawler.archive.shared import using_crawler_archive

        try:
            with using_crawler_archive(self.crawler) as archive:
                return layer_history(archive, source, run_id, stats)
        except Exception:  # without the earlier runs, this run is judged alone
            logger.warning("monitors: earlier runs of %s unreadable; judging layers on this run only", source, exc_info=True)
            return layer_history(None, source, run_id, stats)

    def _record(self, report: dict[str, Any]) -> None:
        from crawler.archive.shared import using_crawler_archive

        # the crawl's own Archive (this worker thread gets its own connection in it)
        with using_crawler_archive(self.crawler) as archive:
            record_health(archive, report)


def record_health(archive: Any, report: Mapping[str, Any]) -> None:
    """Store health and monitor results on the run's row. Independent of the archive
    pipeline's own ``spider_closed`` (which writes other columns): the row is created
    if it is not there yet, then only these two columns are set."""
    with archive.transaction():
        archive.start_run(report["run_id"], spider=report.get("spider"), source=report.get("source"))
        archive.execute(
            "UPDATE crawl_runs SET health = ?, monitors = ? WHERE id = ?",
            (report["health"], archive.enc_json(list(report["monitors"])), report["run_id"]),
        )


def monitors_of(row: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The stored monitor results of a ``crawl_runs`` row (JSON text on SQLite)."""
    value = row.get("monitors")
    if isinstance(value, str):
        value = json.loads(value)
    return list(value or [])
