"""A gallery of deliberately broken implementations: the contract kit's teeth.

Every check of every contract suite must fail on at least one exhibit here; a check that no
broken implementation fails proves nothing. An exhibit is one broken implementation, the
suite configuration that builds it, and exactly the checks it must fail (ideally one):
``tests/testing/test_gallery.py`` runs the whole suite against each exhibit and compares.
The correct implementations of ``examples/contract_example.py`` (and the small correct
ones here that support references and dependencies) are exhibits that fail nothing, so a
failure is always the break's doing. The seed design document's own sketches are shown
under both profiles: they break execproto's rules, and where they break the seed's own
promises, that is said too.

Each module holds one suite configuration (``ProviderSuite``, ...; the names do not start
with ``Test``, so pytest does not collect them here) and its exhibits.
"""

from __future__ import annotations

from tests.testing.gallery import caches, executors, interfaces, operations, providers
from tests.testing.gallery._exhibit import Exhibit

__all__ = ["EXHIBITS", "MODULES", "Exhibit"]

MODULES = (providers, executors, caches, operations, interfaces)
EXHIBITS: list[Exhibit] = [exhibit for module in MODULES for exhibit in module.EXHIBITS]
