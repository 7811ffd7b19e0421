"""Fakes of evoforge's external boundaries, shipped for evoforge's tests and users' own."""

from evoforge.testing.replay_server import RecordedRequest, ReplayServer, Reply

__all__ = ["RecordedRequest", "ReplayServer", "Reply"]
