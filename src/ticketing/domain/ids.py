"""Typed identifiers shared by every layer."""

from typing import NewType

EventId = NewType("EventId", int)
ScheduleId = NewType("ScheduleId", int)
UserId = NewType("UserId", str)
SeatNo = NewType("SeatNo", str)
