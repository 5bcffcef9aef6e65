"""Operations: scheduling crawls, recording and judging runs, alerting, scaling out.

Each module reads its own table of the sources file (`crawler.config.Config.table`)
and registers its validator in `crawler.config.TABLE_VALIDATORS`.
"""
