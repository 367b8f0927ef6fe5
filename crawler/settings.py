"""Scrapy settings for the clinicvet crawler. CLI options override the knobs marked as such."""

import importlib.util

from scrapy.settings import default_settings

BOT_NAME = "clinicvet"
SPIDER_MODULES = ["crawler.spiders"]
NEWSPIDER_MODULE = "crawler.spiders"

# Identify ourselves: a clear name and a page that says what the crawler is and how to reach us.
USER_AGENT = "clinicvet/0.1 (+https://github.com/clinicvet/clinicvet; ketamine clinic directory crawler)"

# Obey robots.txt rules; a host's robots.txt fetched less than this many seconds ago is reused.
ROBOTSTXT_OBEY = True
CLINICVET_ROBOTS_MAX_AGE = 24 * 3600

# Politeness: one request at a time per site, at least DOWNLOAD_DELAY apart (CLI --delay),
# AutoThrottle backs off further when a site answers slowly. Many sites are crawled side by side: with
# at most two requests queued per site, 256 keeps 128 sites going while each waits out its delay.
CONCURRENT_REQUESTS = 256
CONCURRENT_REQUESTS_PER_DOMAIN = 1
DOWNLOAD_DELAY = 1.0
AUTOTHROTTLE_ENABLED = True
AUTOTHROTTLE_START_DELAY = 1.0
AUTOTHROTTLE_MAX_DELAY = 30.0
AUTOTHROTTLE_TARGET_CONCURRENCY = 1.0

# Per-site budget (CLI --max-pages, --depth): pages are fetched best-first, so the cap is spent on
# the pages most likely to hold vetting evidence.
CLINICVET_MAX_PAGES = 25
CLINICVET_DEPTH_LIMIT = 4
# Depth is tracked by the spider itself (pages are fetched best-first, not in link order).
DEPTH_LIMIT = 0

# Bounds for a hostile or broken site.
DOWNLOAD_TIMEOUT = 20
DOWNLOAD_MAXSIZE = 5 * 1024 * 1024
DOWNLOAD_WARNSIZE = 2 * 1024 * 1024
REDIRECT_MAX_TIMES = 5
# The spider de-duplicates the links it follows itself. Scrapy's filter would also drop, without
# calling any errback, a redirect to a URL already fetched (a loop, /about -> /about/), leaving the
# site's request count open so the site is never finished.
DUPEFILTER_CLASS = "scrapy.dupefilters.BaseDupeFilter"
RETRY_TIMES = 1
COOKIES_ENABLED = False
TELNETCONSOLE_ENABLED = False
# Scrapy's remote control extension serves a code-execution endpoint (for its MCP server) during
# every crawl; a crawler of untrusted sites needs none. It is left out of the base list rather than
# set to None because Scrapy imports every listed extension, and this one loads aiohttp (0.2 s a run).
EXTENSIONS_BASE = {path: order for path, order in default_settings.EXTENSIONS_BASE.items()
                   if not path.endswith(".RemoteControl")}
# Scrapy re-reads and parses the callback's source to lint it (a return value in a generator) for
# many responses, since bound methods are new objects each time; our callbacks are tested instead.
WARN_ON_GENERATOR_RETURN_VALUE = False

# With cookies off, the cookies middleware would only decline; it is left out of the base list, as the
# remote control is (set to None it would still be imported, with tldextract and requests: 0.05 s a run).
DOWNLOADER_MIDDLEWARES_BASE = {path: order for path, order in default_settings.DOWNLOADER_MIDDLEWARES_BASE.items()
                               if not path.endswith(".CookiesMiddleware")}
DOWNLOADER_MIDDLEWARES = {
    # Before RobotsTxtMiddleware (100): an off-site redirect must not even fetch that host's robots.txt.
    "crawler.middlewares.SiteScopeMiddleware": 50,
    # Scrapy's robots.txt middleware, plus a cache of each host's robots.txt in the database.
    "scrapy.downloadermiddlewares.robotstxt.RobotsTxtMiddleware": None,
    "crawler.middlewares.CachedRobotsTxtMiddleware": 100,
    # SiteScopeMiddleware keeps each request on its site; no site needs HTTP authentication.
    "scrapy.downloadermiddlewares.offsite.OffsiteMiddleware": None,
    "scrapy.downloadermiddlewares.httpauth.HttpAuthMiddleware": None,
    # Scrapy's proxy middleware, checking no_proxy once per host instead of once per request.
    "scrapy.downloadermiddlewares.httpproxy.HttpProxyMiddleware": None,
    "crawler.middlewares.HostProxyMiddleware": 750,
    # The crawler sends no Referer (see SPIDER_MIDDLEWARES); the redirect middlewares, told so.
    "scrapy.downloadermiddlewares.redirect.MetaRefreshMiddleware": None,
    "crawler.middlewares.NoRefererMetaRefreshMiddleware": 580,
    "scrapy.downloadermiddlewares.redirect.RedirectMiddleware": None,
    "crawler.middlewares.NoRefererRedirectMiddleware": 600,
}
# Scrapy's per-request byte and status counters: nothing reads them (the pipeline counts bytes
# itself), and measuring each request's headers was a twentieth of a recrawl's function calls.
DOWNLOADER_STATS = False
# The spider tracks depth and skips overlong URLs itself (crawler/links.py).
SPIDER_MIDDLEWARES = {
    "scrapy.spidermiddlewares.depth.DepthMiddleware": None,
    "scrapy.spidermiddlewares.urllength.UrlLengthMiddleware": None,
    # A lint for spiders that copy response.meta into new requests; ours builds every meta afresh,
    # and each spider middleware wraps every callback's output in one more async generator.
    "scrapy.spidermiddlewares.metacopy.MetaCopyDetectionMiddleware": None,
    # No Referer header: a site learns nothing it needs from which of its own pages led to the next, and
    # this middleware, like the one marking start requests (is_start_request, read by nothing here),
    # wraps every callback's output in one more async generator: together a fortieth of a recrawl.
    "scrapy.spidermiddlewares.referer.RefererMiddleware": None,
    "scrapy.spidermiddlewares.start.StartSpiderMiddleware": None,
}
DOWNLOAD_HANDLERS = {
    "http": "crawler.handlers.ProxyAwareHTTPHandler",
    "https": "crawler.handlers.ProxyAwareHTTPHandler",
}
ITEM_PIPELINES = {
    "crawler.pipelines.SQLitePipeline": 300,
}

# The spider already spreads requests over sites (at most two queued per site, so CONCURRENT_REQUESTS / 2
# sites at least are fetched in parallel), so the plain priority queue does; Scrapy's downloader-aware
# queue scans every site's slot on each pop, which at 1,000 sites took a quarter of a recrawl's CPU.
SCHEDULER_PRIORITY_QUEUE = "scrapy.pqueues.ScrapyPriorityQueue"

# Items processed in parallel per response: a page yields one or two small items and the pipeline
# writes synchronously, so parallel slots gain nothing; Scrapy spawns a task per slot for every
# response (the default of 100 cost a third of a recrawl's CPU, 8 still a tenth of its calls).
CONCURRENT_ITEMS = 1

# A link that answered 404 or 410 (and was never a stored page) is asked again by a recrawl only this
# many days after that answer, as Nutch does for gone pages; 0 asks every time. Stored pages that
# went missing are always asked: they are how a clinic's evidence comes back.
CLINICVET_DEAD_LINK_DAYS = 7

# Pages written per transaction.
CLINICVET_BATCH_SIZE = 200

# Twisted runs on asyncio (Scrapy's default reactor); uvloop's event loop, written in C, schedules
# the dozen callbacks and tasks of each request for less: a twentieth of a no-delay recrawl's time.
# uvloop has no Windows build; there asyncio's own loop runs.
if importlib.util.find_spec("uvloop"):
    ASYNCIO_EVENT_LOOP = "uvloop.Loop"

LOG_LEVEL = "WARNING"
LOG_FORMAT = "%(levelname)s %(name)s: %(message)s"
REQUEST_FINGERPRINTER_IMPLEMENTATION = "2.7"
FEED_EXPORT_ENCODING = "utf-8"
