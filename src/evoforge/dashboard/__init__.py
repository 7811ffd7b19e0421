"""The web dashboard: watch a run live and steer it (approve, reject, roll back, stop).

``serve`` runs the server in the foreground (``evoforge dashboard``);
``background_dashboard`` serves from a thread while a run drives
(``evoforge run --dashboard``). Everything the pages need is in ``static/``.
"""

from evoforge.dashboard.server import Site, background_dashboard, make_server, serve, url_of

__all__ = ["Site", "background_dashboard", "make_server", "serve", "url_of"]
