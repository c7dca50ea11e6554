"""PostgreSQL's LISTEN/NOTIFY: one connection per process, shared by every channel it hears.

Triggers send a notification at the commit of each change to the jobs (`experiments_jobs`, the
row as JSON) and to the catalog (`experiments_catalog`, the table's name). One connection of
its own, outside the pool, listens to all of them and hands each payload to the subscribers
of its channel: a thousand open pages and the catalog snapshot cost one connection and no
queries.

A subscriber that keeps a copy of what the notifications describe must not trust it while
notifications may be missed. `is_current()` says when they cannot be: the connection is up
and listening, and not in the middle of a heartbeat. The heartbeat (a LISTEN it already
holds, every few seconds) proves that a connection that sends nothing is still there; while
it is under way, notifications that arrive wait in psycopg's backlog, and they are handed
out before `is_current()` says yes again. Subscribers also hear of every connection lost
and made (`on_state`), since what was sent in between is lost.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import psycopg
from psycopg import AsyncConnection, Notify, sql

log = logging.getLogger(__name__)

HEARTBEAT = 5.0
"""Seconds between heartbeats: at most this long may a connection cut without a word (no
reset, no error) go unnoticed."""


@dataclass(frozen=True, slots=True)
class _Subscriber:
    on_notify: Callable[[str], None]
    on_state: Callable[[bool], None] | None


class PostgresNotifications:
    def __init__(
        self,
        url: str,
        channels: Sequence[str],
        *,
        connect_timeout: float = 5.0,
        heartbeat: float = HEARTBEAT,
    ) -> None:
        self._url = url
        self._channels = tuple(channels)
        self._connect_timeout = connect_timeout
        self._heartbeat = heartbeat
        self._subscribers: dict[str, list[_Subscriber]] = {name: [] for name in self._channels}
        self._listening = asyncio.Event()
        self._current = False
        self._task: asyncio.Task[None] | None = None

    def subscribe(
        self,
        channel: str,
        *,
        on_notify: Callable[[str], None],
        on_state: Callable[[bool], None] | None = None,
    ) -> None:
        """Hands each payload of `channel` to `on_notify`; tells `on_state` True when the
        connection is made (again) and False when it is lost. Callbacks must not block."""
        if channel not in self._subscribers:
            raise ValueError(f"not listening to {channel!r}; channels: {self._channels}")
        self._subscribers[channel].append(_Subscriber(on_notify, on_state))

    def start(self) -> None:
        """Starts listening, in the background, unless it already does (call it in a loop)."""
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self._run())

    async def wait_listening(self, within: float) -> bool:
        """Whether the connection listens, waiting up to `within` seconds for it."""
        self.start()
        try:
            await asyncio.wait_for(self._listening.wait(), within)
        except TimeoutError:
            return False
        return True

    def announce(self, channel: str, payload: str) -> None:
        """Hands `payload` to the subscribers of `channel` now, as if it had been heard: for a
        change this process made itself, whose notification is still on its way."""
        self._dispatch(Notify(channel, payload, 0))

    def is_current(self) -> bool:
        """True while every notification sent until a moment ago has been handed out."""
        return self._current

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _run(self) -> None:
        backoff = 0.5
        while True:
            try:
                async with await self._connect() as conn:
                    for channel in self._channels:
                        await conn.execute(sql.SQL("LISTEN {}").format(sql.Identifier(channel)))
                    self._set_listening(True)
                    backoff = 0.5
                    await self._hear(conn)
            except (psycopg.Error, TimeoutError) as error:
                if self._listening.is_set():
                    log.warning("Lost the LISTEN connection (%s); reconnecting", error)
                else:
                    log.debug("Cannot LISTEN yet: %s", error)
            finally:
                self._set_listening(False)
            await asyncio.sleep(backoff)
            backoff = min(backoff * 2, 30.0)

    async def _connect(self) -> AsyncConnection:
        return await AsyncConnection.connect(
            self._url,
            autocommit=True,
            connect_timeout=max(1, round(self._connect_timeout)),
            application_name="experiments-listener",
        )

    async def _hear(self, conn: AsyncConnection) -> None:
        # A LISTEN that is already in force changes nothing, and needs the server to answer.
        heartbeat = sql.SQL("LISTEN {}").format(sql.Identifier(self._channels[0]))
        while True:
            async for notify in conn.notifies(timeout=self._heartbeat):
                self._dispatch(notify)
            self._current = False
            await asyncio.wait_for(conn.execute(heartbeat), self._heartbeat)
            async for notify in conn.notifies(timeout=0):
                self._dispatch(notify)
            self._current = True

    def _set_listening(self, listening: bool) -> None:
        if listening == self._listening.is_set():
            return
        self._current = listening
        for subscribers in self._subscribers.values():
            for subscriber in subscribers:
                if subscriber.on_state is not None:
                    subscriber.on_state(listening)
        if listening:
            self._listening.set()
        else:
            self._listening.clear()

    def _dispatch(self, notify: Notify) -> None:
        for subscriber in self._subscribers.get(notify.channel, ()):
            try:
                subscriber.on_notify(notify.payload)
            except Exception:
                log.exception("A subscriber of %s failed on %r", notify.channel, notify.payload)
