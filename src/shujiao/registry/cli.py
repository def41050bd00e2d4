from __future__ import annotations

import json
from pathlib import Path

import typer
from rich.progress import track

from shujiao.cli_support import (
    KEYS_OPTION_HELP, check_bundle_file, print_log_and_pinning, session_factory, settings, transaction,
)
from shujiao.commands import SYSTEM
from shujiao.db import utcnow
from shujiao.registry import jobs, service
from shujiao.registry.schemas import ApplicationDecision, ObjectionResolution, Revocation
from shujiao.registry.statement import verify_bundle

cert_app = typer.Typer(help="Registration and certificates (数据登记与登记凭证)", no_args_is_help=True)


@cert_app.command("verify")
def verify(bundle: Path, keys: Path = typer.Option(None, help=KEYS_OPTION_HELP)) -> None:
    """Check a certificate bundle offline: the exchange's signature, the log proof and the checkpoint."""
    check = check_bundle_file(bundle, keys, verify_bundle)
    statement = check.statement
    typer.secho(f"verified 已验证: certificate {statement['number']} ({statement['right']}) held by "
                f"{statement['holder']['name']}", fg="green")
    typer.echo(f"status as of this statement: {statement['status']}; now: {check.effective_status(utcnow())}; "
               f"valid until {statement['valid_until']}")
    print_log_and_pinning(check)


@cert_app.command("show")
def show(number: str) -> None:
    """A certificate's status and its signed history."""
    with transaction() as session:
        view = service.certificate_read(session, service.get_certificate(session, number=number))
    typer.echo(f"{view.number}  {view.status}  {view.right_type}  holder {view.holder_name}  v{view.version}")
    for entry in view.history:
        typer.echo(f"  {entry.seq:>3} {entry.at.isoformat()} {entry.event}")


@cert_app.command("bundle")
def export_bundle(number: str, output: Path = typer.Option(..., "--output", "-o")) -> None:
    """Write a certificate's offline verification bundle (as GET /api/v1/certificates/{number}/bundle)."""
    with transaction() as session:
        document = service.bundle(session, settings=settings(), number=number)
    output.write_text(json.dumps(document, ensure_ascii=False, indent=2), encoding="utf-8")
    typer.echo(f"wrote {output}")


@cert_app.command("applications")
def applications() -> None:
    """Applications in their public comment period, with their flags and objections."""
    with transaction() as session:
        for application in service.review_queue(session, SYSTEM):
            counts = service.objection_counts(session, application_id=application.id)
            typer.echo(f"{application.id:>6}  ends {application.publicity_ends_at:%Y-%m-%d %H:%M}  "
                       f"{'DUPLICATE ' if application.duplicate_flag else ''}objections open {counts['open']}  "
                       f"{application.title}")


@cert_app.command("approve")
def approve(application_ids: list[int], duplicate_reviewed: bool = typer.Option(False, "--duplicate-reviewed"),
            reason: str = typer.Option("")) -> None:
    """Approve applications after their comment period (several: one transaction, all or none):
    one certificate per right claimed."""
    with transaction() as session:
        service.decide_applications(session, SYSTEM, settings=settings(), application_ids=application_ids,
                                    decision=ApplicationDecision(decision="approve", reason=reason,
                                                                 duplicate_reviewed=duplicate_reviewed))
        issued = [n for i in application_ids for n in service.certificates_of_application(session, application_id=i)]
    typer.echo("issued 已发证: " + ", ".join(issued))


@cert_app.command("reject")
def reject(application_id: int, reason: str = typer.Option(..., help="shown to the applicant")) -> None:
    with transaction() as session:
        service.decide_application(session, SYSTEM, settings=settings(), application_id=application_id,
                                   decision=ApplicationDecision(decision="reject", reason=reason))
    typer.echo(f"rejected 已驳回: {application_id}")


@cert_app.command("resolve-objection")
def resolve_objection(objection_id: int, upheld: bool = typer.Option(..., "--upheld/--dismissed"),
                      resolution: str = typer.Option(...)) -> None:
    with transaction() as session:
        service.resolve_objection(session, SYSTEM, objection_id=objection_id, data=ObjectionResolution(
            decision="upheld" if upheld else "dismissed", resolution=resolution))
    typer.echo(f"objection {objection_id}: {'upheld 成立' if upheld else 'dismissed 不成立'}")


@cert_app.command("revoke")
def revoke(number: str, reason: str = typer.Option(...),
           ruling: str = typer.Option("", help="the dispute ruling's reference, if revoked by one")) -> None:
    """Revoke a certificate as the operator (or by a dispute ruling); its products are delisted."""
    with transaction() as session:
        service.revoke(session, SYSTEM, settings=settings(), number=number, data=Revocation(
            reason=reason, basis="dispute_ruling" if ruling else "operator", ruling_ref=ruling))
    typer.echo(f"revoked 已撤销: {number}")


@cert_app.command("expire-due")
def expire_due() -> None:
    """Record the expiry of every certificate past its validity (the server also does it hourly)."""
    now = utcnow()
    expired = jobs.expire_due(session_factory(), settings(), now=now,
                              progress=lambda due: track(due, description="到期失效 expiring", disable=not due))
    typer.echo(f"expired {expired} certificate(s) as of {now:%Y-%m-%d %H:%M} UTC")
