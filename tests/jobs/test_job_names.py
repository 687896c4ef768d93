"""Every job the service rings for is one the queue knows how to run."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from dispatcher.jobs import tasks

ROOT = Path(__file__).resolve().parents[2]


def rung_jobs(tree: ast.AST) -> set[str]:
    """Return the job names a syntax tree rings, enqueues or sweeps for, as literals."""
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            callee = ast.unparse(node.func)
            args = node.args
            if callee.split(".")[-1] == "ring" and len(args) > 1:
                job = args[1]
            elif callee.split(".")[-1] == "enqueue" and args:
                job = args[0]
            elif callee.endswith("jobs.append") and args and isinstance(args[0], ast.Tuple):
                job = args[0].elts[0]
            else:
                continue
            if isinstance(job, ast.Constant) and isinstance(job.value, str):
                names.add(job.value)
    return names


def service_trees() -> list[ast.Module]:
    """Parse every module of the service."""
    return [ast.parse(p.read_text(encoding="utf-8")) for p in (ROOT / "dispatcher").rglob("*.py")]


def test_every_job_rung_for_is_in_the_job_table():
    rung = set().union(*(rung_jobs(tree) for tree in service_trees()))

    assert rung - set(tasks.JOBS) == set()
    # The doorbells of the outbox, the wave timer, events, follow-ups and the sweeper.
    assert {"deliver", "wave", "push", "follow_up"} <= rung


@pytest.mark.parametrize("code, name", [
    ("ring(session, 'deliverr', 1)", "deliverr"),
    ("queue.ring(session, 'wave', 1, 2, at=when)", "wave"),
    ("rt.queue.enqueue('push', 7)", "push"),
    ("jobs.append(('follow_up', (1,)))", "follow_up"),
])
def test_the_job_name_check_reads_each_way_a_job_is_rung(code, name):
    assert rung_jobs(ast.parse(code)) == {name}


def test_every_job_in_the_table_is_a_function_of_the_runtime():
    assert all(callable(job) for job in tasks.JOBS.values())
    assert sorted(tasks.JOBS) == sorted({"deliver", "wave", "push", "follow_up", "purge", "sweep",
                                           "reply", "report"})
