"""Policy files shipped with evoforge (``default.py``); data, loaded by path."""
