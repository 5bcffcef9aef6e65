"""Everything Akhbar serves over HTTP: one ASGI app (FastAPI on Starlette) under uvicorn.

Feed files, the JSON API, admin, WebSub hub and the HTML pages live here, beside the feed
builder they serve, and reach the rest of the project only through the archive interface
(`crawler.archive`) and plain data (config, taxonomy): nothing in `crawler/`, `spiders/` or
`pipelines/` imports this package except the CLI that starts it.
"""
