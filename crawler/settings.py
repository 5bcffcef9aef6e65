"""Scrapy settings for Akhbar.

Polite by default: robots.txt obeyed, AutoThrottle on, one request at a time per
domain, an honest User-Agent with a contact URL, retries on 5xx and 429 (with
Retry-After honoured by `crawler.middlewares.RetryAfterMiddleware`).
Component settings are prefixed by their component (``AKHBAR_ARCHIVE_URL``,
``DATES_...``); every ``AKHBAR_*`` setting can also come from the environment.
"""

from __future__ import annotations

import os

BOT_NAME = "akhbar"
SPIDER_MODULES = ["spiders"]
NEWSPIDER_MODULE = "spiders"

USER_AGENT = "Mozilla/5.0 (compatible; AkhbarBot/0.1; +https://github.com/akhbar-news/akhbar)"
ROBOTSTXT_OBEY = True
CONCURRENT_REQUESTS = 8
CONCURRENT_REQUESTS_PER_DOMAIN = 1
DOWNLOAD_DELAY = 0
DOWNLOAD_TIMEOUT = 30
AUTOTHROTTLE_ENABLED = True
AUTOTHROTTLE_START_DELAY = 1.0
AUTOTHROTTLE_MAX_DELAY = 60.0
AUTOTHROTTLE_TARGET_CONCURRENCY = 1.0

RETRY_ENABLED = True
RETRY_TIMES = 3
RETRY_HTTP_CODES = [500, 502, 503, 504, 522, 524, 408, 429]

COOKIES_ENABLED = False
TELNETCONSOLE_ENABLED = False
REQUEST_FINGERPRINTER_IMPLEMENTATION = "2.7"
FEED_EXPORT_ENCODING = "utf-8"
FEED_EXPORTERS = {"jsonlines": "crawler.exporters.IsoJsonLinesExporter"}
LOG_LEVEL = os.environ.get("AKHBAR_LOG_LEVEL", "INFO")

# Where every command keeps its state (archive, WARC files, feeds); `akhbar --data DIR`
# and AKHBAR_DATA set it.
AKHBAR_DATA = os.environ.get("AKHBAR_DATA", "data")
# Sources file (None: the bundled crawler/sources.toml, or AKHBAR_SOURCES).
AKHBAR_SOURCES = os.environ.get("AKHBAR_SOURCES")

DOWNLOADER_MIDDLEWARES: dict[str, int | None] = {
    # Every request and redirect hop checked against the source's egress policy, first of all
    # (crawler/egress.py, docs/security.md).
    "crawler.egress.EgressMiddleware": 50,
    # Scrapy's, except that requests waiting for robots.txt all get its rules (see the class).
    "scrapy.downloadermiddlewares.robotstxt.RobotsTxtMiddleware": None,
    "crawler.middlewares.RobotsTxtMiddleware": 100,
    # Retry-After aware replacement of Scrapy's RetryMiddleware (same RETRY_* settings).
    "scrapy.downloadermiddlewares.retry.RetryMiddleware": None,
    "crawler.middlewares.RetryAfterMiddleware": 550,
    # Below HttpCompression (590) so the WARC gets the decompressed body; see crawler/warc.py.
    "crawler.warc.WarcMiddleware": 580,
    # After decompression, before anything reads response.text (docs/faults.md).
    "crawler.middlewares.CharsetMiddleware": 570,
    # An article page cut before </html> is retried, then recorded (not archived in part).
    "crawler.middlewares.TruncatedHtmlMiddleware": 565,
    # Sees a 3xx before RedirectMiddleware (600): a loop becomes a recorded failure.
    "crawler.middlewares.RedirectLoopMiddleware": 610,
}
RETRY_AFTER_MAX = 120.0
# Hostile or broken servers (docs/faults.md): no article page is anywhere near 16 MiB,
# and the limit holds while the body streams in and while it is decompressed (a gzip
# bomb stops there); sitemaps get 50 MiB, the protocol's cap. A redirect loop ends
# after 5 hops. Undecodable pages are decoded by their bytes, windows-1256 for Arabic.
DOWNLOAD_MAXSIZE = 16 * 1024 * 1024
DOWNLOAD_WARNSIZE = 4 * 1024 * 1024
REDIRECT_MAX_TIMES = 5
# Hostnames resolving to loopback/private addresses are refused where Twisted connects too
# (DNS rebinding past EgressMiddleware's check).
TWISTED_DNS_RESOLVER = "crawler.egress.GuardedResolver"
CHARSET_FALLBACK = "windows-1256"
TRUNCATED_HTML_CHECK = True
# URLs that failed for good are kept in the archive (crawler/ops/failed_urls.py) and
# re-queued by the next runs of their source, FAILED_URLS_MAX_ATTEMPTS times at most.
AKHBAR_FAILED_STORE = "crawler.ops.failed_urls.FailedUrlsStore"
FAILED_URLS_MAX_ATTEMPTS = 5
SPIDER_MIDDLEWARES: dict[str, int] = {}
ITEM_PIPELINES: dict[str, int] = {
    "pipelines.validate.ValidatePipeline": 50,
    "pipelines.dates.DatesPipeline": 200,
    # After dates: a date far in the future or a giant title never reaches the archive.
    "pipelines.bounds.BoundsPipeline": 250,
    "pipelines.topics.TopicsPipeline": 300,
    "pipelines.archive.ArchivePipeline": 500,
    "pipelines.dedup.DedupPipeline": 600,  # needs the archived row: story ids live in the archive
}
EXTENSIONS: dict[str, int] = {
    # Judges every run at its end (coverage, error rate, articles), records its health on
    # the run's row and alerts (crawler/ops/monitors.py, docs/monitoring.md).
    "crawler.ops.monitors.MonitorsExtension": 500,
    # Pages, articles and errors per source: redrawn live on a terminal, a plain log line
    # every PROGRESS_INTERVAL seconds otherwise (crawler/ops/progress.py, docs/scheduler.md).
    "crawler.ops.progress.ProgressExtension": 510,
}
MONITORS_ENABLED = True
PROGRESS_ENABLED = True
PROGRESS_INTERVAL = 30.0

# Archive (crawler/archive, docs/archive.md): SQLite under AKHBAR_DATA unless a URL is given
# (postgresql://... for many crawler machines). Spiders skip URLs it already holds.
AKHBAR_ARCHIVE_URL = os.environ.get("AKHBAR_ARCHIVE_URL")
AKHBAR_SEEN_STORE = "crawler.archive.seen.ArchiveSeenStore"
# Articles and their stories are stored in one transaction per batch (pipelines/archive.py):
# up to this many, or this long after the batch's first. A kill -9 loses nothing: a URL
# is marked seen in the transaction that stores it, so an uncommitted batch is re-fetched.
ARCHIVE_BATCH_ITEMS = 32
ARCHIVE_BATCH_SECONDS = 1.0
# Discovery (spiders/base.py, docs/spiders.md): listing links whose URL is not of the site's
# known article shape are fetched and kept when their content is an article, this many per run.
AKHBAR_DISCOVERY_PROBE_BUDGET = os.environ.get("AKHBAR_DISCOVERY_PROBE_BUDGET", "200")

# Topics (pipelines/topics.py, docs/topics.md): classifier probability needed to keep its
# topic for an article whose section the sources config does not map; below it: `other`.
TOPICS_MIN_CONFIDENCE = 0.4

# Dates (pipelines/dates.py, docs/dates.md): let dateparser try forms the fast parser does
# not know (English/French month names); how many unparseable strings to keep in the stats.
DATES_ENABLED = True
DATES_DATEPARSER_FALLBACK = True
DATES_UNPARSED_SAMPLES = 20

# Scale-out (crawler/ops/cluster.py, docs/scale-out.md): with a Redis URL (-s REDIS_URL=...,
# AKHBAR_REDIS_URL, or [cluster] redis_url in the sources file) the add-on moves the crawl
# frontier and request dedup to Redis, shared by every process crawling the same source;
# [cluster] archive_url is the archive every worker writes to. CLUSTER_KEY_PREFIX (default
# "akhbar") namespaces the Redis keys; CLUSTER_WORKER_TIMEOUT (30 s) is how long a worker
# that died still counts as alive; CLUSTER_ENABLED = False keeps a crawl in-process.
ADDONS: dict[str, int] = {"crawler.ops.cluster.ClusterAddon": 0}
AKHBAR_REDIS_URL = os.environ.get("AKHBAR_REDIS_URL")
