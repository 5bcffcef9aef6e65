"""Per-site HTML renderers of the snapshot server."""

from __future__ import annotations

from crawler.snapshot.catalog import SiteCatalog
from crawler.snapshot.renderers.base import Renderer
from crawler.snapshot.renderers.belpresse import BelpresseRenderer
from crawler.snapshot.renderers.hespress import HespressRenderer
from crawler.snapshot.renderers.hibapress import HibapressRenderer
from crawler.snapshot.renderers.le12 import Le12Renderer
from crawler.snapshot.renderers.rue20 import Rue20Renderer
from crawler.snapshot.renderers.wpdemo import WpdemoRenderer

RENDERERS: dict[str, type[Renderer]] = {
    "hespress": HespressRenderer,
    "hibapress": HibapressRenderer,
    "le12": Le12Renderer,
    "rue20": Rue20Renderer,
    "belpresse": BelpresseRenderer,
    "wpdemo": WpdemoRenderer,
}


def renderer_for(cat: SiteCatalog) -> Renderer:
    return RENDERERS[cat.spec.id](cat)
