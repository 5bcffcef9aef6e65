"""Akhbar: Scrapy project, item schema, shared machinery and CLI."""
