from __future__ import annotations

import psycopg
import psycopg_pool
import pytest
from psycopg import errors

from adapters.postgres.errors import classified, database_errors
from adapters.postgres.loading.failures import unstorable
from domain.shared.errors import (
    BeyondLimits,
    DatabaseBusy,
    DatabaseExhausted,
    DatabaseUnavailable,
    DomainError,
)

CLASSES: list[tuple[Exception, type[DomainError]]] = [
    (
        psycopg.OperationalError("connection failed: server closed the connection"),
        DatabaseUnavailable,
    ),
    (psycopg.InterfaceError("the connection is closed"), DatabaseUnavailable),
    (errors.ConnectionFailure("08006"), DatabaseUnavailable),
    (errors.SqlclientUnableToEstablishSqlconnection("08001"), DatabaseUnavailable),
    (
        errors.AdminShutdown("terminating connection due to administrator command"),
        DatabaseUnavailable,
    ),
    (errors.CrashShutdown("57P02"), DatabaseUnavailable),
    (errors.CannotConnectNow("the database system is starting up"), DatabaseUnavailable),
    (errors.TooManyConnections("sorry, too many clients already"), DatabaseUnavailable),
    (psycopg_pool.PoolTimeout("couldn't get a connection after 10.00 sec"), DatabaseUnavailable),
    (errors.QueryCanceled("canceling statement due to statement timeout"), DatabaseBusy),
    (errors.LockNotAvailable("canceling statement due to lock timeout"), DatabaseBusy),
    (errors.DeadlockDetected("deadlock detected"), DatabaseBusy),
    (errors.SerializationFailure("could not serialize access"), DatabaseBusy),
    (errors.IdleInTransactionSessionTimeout("terminating connection"), DatabaseBusy),
    (errors.DiskFull("could not extend file: No space left on device"), DatabaseExhausted),
    (errors.OutOfMemory("out of memory"), DatabaseExhausted),
    (errors.TooManyColumns("tables can have at most 1600 columns"), BeyondLimits),
    (errors.ProgramLimitExceeded("row is too big"), BeyondLimits),
    (errors.StatementTooComplex("stack depth limit exceeded"), BeyondLimits),
]


@pytest.mark.parametrize(("error", "meaning"), CLASSES, ids=lambda v: type(v).__name__)
def test_each_sqlstate_class_has_its_own_meaning(
    error: psycopg.Error, meaning: type[DomainError]
) -> None:
    translated = classified(error)
    assert type(translated) is meaning


@pytest.mark.parametrize(
    "error",
    [errors.UndefinedTable("relation does not exist"), errors.SyntaxError("syntax error")],
    ids=lambda v: type(v).__name__,
)
def test_a_bug_is_not_disguised_as_an_outage(error: psycopg.Error) -> None:
    assert classified(error) is None


async def test_details_never_carry_the_drivers_message() -> None:
    message = 'connection to server at "10.1.2.3", port 5432 failed: Connection refused'
    with pytest.raises(DatabaseUnavailable) as raised:
        async with database_errors():
            raise psycopg.OperationalError(message)
    assert "10.1.2.3" not in raised.value.detail
    assert "5432" not in raised.value.detail


def test_only_the_files_own_faults_are_recorded_as_failed_loads() -> None:
    assert unstorable(errors.TooManyColumns("tables can have at most 1600 columns"))
    assert unstorable(errors.InvalidTextRepresentation("invalid input syntax"))
    assert not unstorable(errors.DiskFull("No space left on device"))
    assert not unstorable(errors.QueryCanceled("canceling statement due to statement timeout"))
    assert not unstorable(errors.AdminShutdown("terminating connection"))
