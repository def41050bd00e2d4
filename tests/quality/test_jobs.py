"""Evaluations of large datasets through the job queue (评价任务): queued by the API and the page,
run by the worker outside the request with the same numbers as an inline run, failures a person
can read, stale jobs requeued then failed, claims that never collide, tenancy, and the CLI."""

from __future__ import annotations

import datetime as dt
import json
import threading
import time
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import update
from typer.testing import CliRunner

from shujiao.catalog.models import Dataset
from shujiao.cli import app as cli_app
from shujiao.commands import SYSTEM
from shujiao.config import QualitySettings, Settings
from shujiao.db import unit_of_work, utcnow
from shujiao.errors import Conflict, NotFound
from shujiao.quality import jobs, service
from shujiao.quality.models import Evaluation, Report
from tests.api import assert_error, headers_of
from tests.conftest import TEST_SECRET
from tests.quality.test_service import open_commission, save, world  # noqa: F401 - world is a fixture
from tests.test_cli import cli_env  # noqa: F401 - the fixture
from tests.web.conftest import Pages


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    """Every dataset of more than 2 rows is queued (the test CSV has 4), and no server loop runs
    the queue behind the test's back: the tests run the worker themselves."""
    return Settings(environment="test", database_url=database_url, data_dir=tmp_path / "data", secret_key=TEST_SECRET,
                    quality=QualitySettings(inline_max_rows=2, worker_interval_seconds=0))


def request(factory, who, dataset_id) -> int:  # type: ignore[no-untyped-def]
    with unit_of_work(factory) as session:
        return service.request_evaluation(session, who.actor, dataset_id=dataset_id).id


def job_of(factory, evaluation_id) -> Evaluation:  # type: ignore[no-untyped-def]
    with unit_of_work(factory) as session:
        job = session.get(Evaluation, evaluation_id)
        session.expunge(job)
        return job


def claim(factory, now=None) -> tuple[int, int]:  # type: ignore[no-untyped-def]
    with unit_of_work(factory) as session:
        job = service.claim_next_evaluation(session, SYSTEM, now=now or utcnow())
        return job.id, job.attempts


def age(factory, evaluation_id, minutes) -> None:  # type: ignore[no-untyped-def]
    """The job's worker started it ``minutes`` ago."""
    with unit_of_work(factory) as session:
        session.execute(update(Evaluation).where(Evaluation.id == evaluation_id)
                        .values(started_at=utcnow() - dt.timedelta(minutes=minutes)))


def test_a_large_dataset_is_queued_and_the_worker_stores_the_same_report(  # type: ignore[no-untyped-def]
        client, session_factory, settings, storage, world):
    provider, dataset_id = world["provider"], world["dataset_id"]
    headers = headers_of(client, provider)
    base = f"/api/v1/quality/datasets/{dataset_id}"
    # The checks of an inline run come first: no rules, no job.
    assert_error(client.post(f"{base}/reports", headers=headers), 409, "rules_required")
    save(session_factory, provider, dataset_id)

    queued = client.post(f"{base}/reports", headers=headers)
    assert queued.status_code == 202, queued.text
    job = queued.json()
    assert (job["status"], job["dataset_id"], job["report_id"], job["error"], job["attempts"]) == (
        "queued", dataset_id, None, None, 0)
    assert client.get(f"/api/v1/quality/evaluations/{job['id']}", headers=headers).json()["status"] == "queued"
    again = assert_error(client.post(f"{base}/reports", headers=headers), 409, "evaluation_pending")
    assert str(job["id"]) in again["message"]
    assert client.get(f"{base}/reports", headers=headers).json() == []  # nothing ran inside the request

    assert jobs.run_pending(session_factory, settings, storage, limit=10) == [job["id"]]
    done = client.get(f"/api/v1/quality/evaluations/{job['id']}", headers=headers).json()
    assert (done["status"], done["attempts"], done["error"]) == ("done", 1, None)
    assert done["started_at"] and done["finished_at"] and done["report_id"]
    report = client.get(f"/api/v1/quality/reports/{done['report_id']}", headers=headers).json()
    assert report["run_by"] == provider.username and report["profile"]["rows"] == 4

    # The same data under the same rules, profiled inside a request, gives the same numbers.
    with unit_of_work(session_factory) as session:
        inline = service.run_evaluation(session, provider.actor, storage=storage, dataset_id=dataset_id,
                                        settings=settings.model_copy(update={"quality": QualitySettings()}))
        assert isinstance(inline, Report)
        queued_report = session.get(Report, done["report_id"])
        assert json.loads(queued_report.score_json) == json.loads(inline.score_json)
        assert queued_report.overall_score == inline.overall_score and queued_report.grade == inline.grade
        assert (queued_report.run_by_user_id, queued_report.run_by_member_id) == (
            inline.run_by_user_id, inline.run_by_member_id)
        inline_profile, queued_profile = json.loads(inline.profile_json), json.loads(queued_report.profile_json)
        for profile in (inline_profile, queued_profile):
            profile.pop("seconds"), profile.pop("profiled_at")  # how long it took, and when
        assert queued_profile == inline_profile
    # Done, so the member may queue another.
    assert client.post(f"{base}/reports", headers=headers).status_code == 202
    listed = client.get(f"{base}/evaluations", headers=headers).json()
    assert [e["status"] for e in listed] == ["queued", "done"]
    assert jobs.run_pending(session_factory, settings, storage, limit=10) == [listed[0]["id"]]
    assert jobs.run_pending(session_factory, settings, storage, limit=10) == []


FOREIGN_JOB_REQUESTS = [
    ("GET", "/api/v1/quality/evaluations/{evaluation_id}", None),
    ("GET", "/api/v1/quality/datasets/{dataset_id}/evaluations", None),
    ("POST", "/api/v1/quality/datasets/{dataset_id}/reports", None),
]


def test_jobs_are_walled_off_from_other_members(client, session_factory, settings, storage, world):  # type: ignore[no-untyped-def]
    provider, assessor, dataset_id = world["provider"], world["assessor"], world["dataset_id"]
    save(session_factory, provider, dataset_id)
    own = request(session_factory, provider, dataset_id)
    open_commission(session_factory, provider, assessor, dataset_id)
    assessors = client.post(f"/api/v1/quality/datasets/{dataset_id}/reports", headers=headers_of(client, assessor))
    assert assessors.status_code == 202, assessors.text
    assessors_job = assessors.json()["id"]
    assert assessors.json()["commission_id"] is not None

    for outsider in (world["intruder"], world["other_assessor"]):
        headers = headers_of(client, outsider)
        for evaluation_id in (own, assessors_job):
            for method, path, body in FOREIGN_JOB_REQUESTS:
                url = path.format(evaluation_id=evaluation_id, dataset_id=dataset_id)
                assert_error(client.request(method, url, json=body, headers=headers), 404, "not_found")
    assert_error(client.get(f"/api/v1/quality/evaluations/{own}"), 401)
    # The assessor sees its own job only; the owner and the operator see both.
    assessor_headers = headers_of(client, assessor)
    assert [e["id"] for e in client.get(f"/api/v1/quality/datasets/{dataset_id}/evaluations",
                                        headers=assessor_headers).json()] == [assessors_job]
    assert_error(client.get(f"/api/v1/quality/evaluations/{own}", headers=assessor_headers), 404, "not_found")
    for reader in (provider, world["operator"]):
        headers = headers_of(client, reader)
        assert client.get(f"/api/v1/quality/evaluations/{assessors_job}", headers=headers).status_code == 200
        assert {e["id"] for e in client.get(f"/api/v1/quality/datasets/{dataset_id}/evaluations",
                                            headers=headers).json()} == {own, assessors_job}

    # The assessor's job is run under its commission, so the report is one it can sign.
    jobs.run_pending(session_factory, settings, storage, limit=10)
    finished = client.get(f"/api/v1/quality/evaluations/{assessors_job}", headers=assessor_headers).json()
    report = client.get(f"/api/v1/quality/reports/{finished['report_id']}", headers=assessor_headers).json()
    assert report["commission_id"] == assessors.json()["commission_id"] and report["run_by"] == assessor.username


def test_an_unreadable_file_fails_the_job_with_a_readable_error(session_factory, settings, storage, world):  # type: ignore[no-untyped-def]
    provider, dataset_id = world["provider"], world["dataset_id"]
    save(session_factory, provider, dataset_id)
    evaluation_id = request(session_factory, provider, dataset_id)
    with unit_of_work(session_factory) as session:
        storage.local_path(session.get(Dataset, dataset_id).storage_key).unlink()

    assert jobs.run_pending(session_factory, settings, storage, limit=10) == [evaluation_id]
    job = job_of(session_factory, evaluation_id)
    assert (job.status, job.report_id, job.error_code) == ("failed", None, "file_unavailable")
    assert job.error_zh == "数据文件暂不可用，请联系交易中心" and job.error_en == "the data file is unavailable; contact the exchange"
    with unit_of_work(session_factory) as session:
        assert service.reports_of_dataset(session, provider.actor, dataset_id=dataset_id) == []


def test_a_stale_job_is_requeued_then_failed_after_three_attempts(session_factory, settings, storage, world):  # type: ignore[no-untyped-def]
    provider, dataset_id = world["provider"], world["dataset_id"]
    save(session_factory, provider, dataset_id)
    evaluation_id = request(session_factory, provider, dataset_id)
    for attempt in (1, 2, 3):
        assert claim(session_factory) == (evaluation_id, attempt)
        age(session_factory, evaluation_id, minutes=settings.quality.stale_after_minutes - 1)
        assert jobs.requeue_stale(session_factory, settings) == 0  # still within its time
        age(session_factory, evaluation_id, minutes=settings.quality.stale_after_minutes + 1)
        assert jobs.requeue_stale(session_factory, settings) == 1
        if attempt == 1:
            # The first worker was only slow, not dead: its late result does not overwrite the newer run.
            with pytest.raises(Conflict) as superseded, unit_of_work(session_factory) as session:
                service.finish_evaluation(session, SYSTEM, evaluation_id=evaluation_id, attempt=1,
                                          outcome=Conflict("x", "x"), now=utcnow())
            assert superseded.value.code == "evaluation_superseded"
    job = job_of(session_factory, evaluation_id)
    assert (job.status, job.attempts, job.error_code) == ("failed", 3, "evaluation_interrupted")
    assert "3" in job.error_zh and "interrupted 3 times" in job.error_en
    assert jobs.run_pending(session_factory, settings, storage, limit=10) == []
    # A failed job no longer blocks a new request.
    assert request(session_factory, provider, dataset_id) != evaluation_id


def test_two_workers_never_claim_the_same_job(backend, session_factory, world):  # type: ignore[no-untyped-def]
    provider, dataset_id = world["provider"], world["dataset_id"]
    save(session_factory, provider, dataset_id)
    queued = {request(session_factory, provider, dataset_id), request(session_factory, world["operator"], dataset_id)}
    assert len(queued) == 2
    claimed: list[int] = []
    if backend == "postgresql":
        # Both workers hold their claim's transaction open until the other has claimed too: with a
        # plain row lock the second would wait for the first and the barrier would time out.
        both_claimed = threading.Barrier(2, timeout=20)
        failures: list[BaseException] = []

        def worker() -> None:
            try:
                with unit_of_work(session_factory) as session:
                    claimed.append(service.claim_next_evaluation(session, SYSTEM, now=utcnow()).id)
                    both_claimed.wait()
            except BaseException as exc:  # noqa: BLE001 - reported below
                failures.append(exc)

        threads = [threading.Thread(target=worker) for _ in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(30)
        assert not failures, failures
    else:  # SQLite serves one process: claims follow one another
        claimed = [claim(session_factory)[0], claim(session_factory)[0]]
    assert sorted(claimed) == sorted(queued)
    with pytest.raises(Conflict) as empty:
        claim(session_factory)
    assert empty.value.code == "queue_empty"


def test_the_page_says_a_large_evaluation_is_queued(app, session_factory, settings, storage, world):  # type: ignore[no-untyped-def]
    provider, dataset_id = world["provider"], world["dataset_id"]
    save(session_factory, provider, dataset_id)
    url = f"/dashboard/quality/datasets/{dataset_id}"
    with TestClient(app, headers={"accept": "text/html,application/xhtml+xml"}) as client:
        pages = Pages(client)
        pages.login(provider.username, provider.password)
        ran = pages.submit(url, f"{url}/run")
        assert ran.status_code == 303 and ran.headers["location"] == f"{url}#evaluations"
        page = pages.get(url).text
        assert 'id="evaluation-queued"' in page and "评价已排队" in page and "排队中" in page
        assert "尚未评价" in page  # no report is shown for a queued run
        pages.get(f"/lang/en?next={url}")
        assert "runs in the background" in pages.get(url).text

        with unit_of_work(session_factory) as session:
            storage.local_path(session.get(Dataset, dataset_id).storage_key).unlink()
        jobs.run_pending(session_factory, settings, storage, limit=10)
        page = pages.get(url).text
        assert 'id="evaluation-queued"' not in page
        assert "the data file is unavailable; contact the exchange" in page and "file_unavailable" in page


def test_quality_work_once_runs_the_queue(cli_env, session_factory, world):  # type: ignore[no-untyped-def]  # noqa: F811
    provider, dataset_id = world["provider"], world["dataset_id"]
    save(session_factory, provider, dataset_id)
    evaluation_id = request(session_factory, provider, dataset_id)
    result = CliRunner().invoke(cli_app, ["quality", "work", "--once"])
    assert result.exit_code == 0, result.output
    job = job_of(session_factory, evaluation_id)
    assert job.status == "done"
    assert f"evaluation #{evaluation_id} of dataset #{dataset_id}: done" in result.output
    assert f"report #{job.report_id}" in result.output and "ran 1 evaluation(s)" in result.output
    idle = CliRunner().invoke(cli_app, ["quality", "work", "--once"])
    assert idle.exit_code == 0 and "ran 0 evaluation(s)" in idle.output


def test_not_found_for_a_missing_job(session_factory, world):  # type: ignore[no-untyped-def]
    with unit_of_work(session_factory) as session, pytest.raises(NotFound):
        service.get_evaluation(session, world["operator"].actor, evaluation_id=999)


def test_the_server_loop_runs_the_queue(database_url, tmp_path, session_factory, storage, world):  # type: ignore[no-untyped-def]
    """With the worker on (as in production), the server process itself takes the job."""
    from shujiao.app import create_app

    provider, dataset_id = world["provider"], world["dataset_id"]
    save(session_factory, provider, dataset_id)
    serving = Settings(environment="test", database_url=database_url, data_dir=tmp_path / "data",
                       secret_key=TEST_SECRET, quality=QualitySettings(inline_max_rows=2, worker_interval_seconds=1))
    application = create_app(serving)
    try:
        with TestClient(application) as client:
            headers = headers_of(client, provider)
            queued = client.post(f"/api/v1/quality/datasets/{dataset_id}/reports", headers=headers)
            assert queued.status_code == 202, queued.text
            deadline = time.monotonic() + 30
            while (job := client.get(f"/api/v1/quality/evaluations/{queued.json()['id']}", headers=headers).json()
                   )["status"] in ("queued", "running") and time.monotonic() < deadline:
                time.sleep(0.2)
            assert job["status"] == "done" and job["report_id"]
    finally:
        application.state.engine.dispose()
