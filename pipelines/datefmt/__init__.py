"""Building blocks of `pipelines.dates`: month-name families and the Hijri calendar.

`pipelines.dates` holds the grammar (regexes tried in turn) and the pipeline; these
modules hold the data it is built from, so that a new spelling or family is one line
in one table, and tests can name the families they cover.
"""
