"""CleverTap HTTP handlers (thin): authenticate, validate, call the model, shape the answer.

Auth and envelope follow `shared/reference/clevertap-api.md` §2: header names are matched
case-insensitively (Starlette's headers are), an unknown account answers 401 "Account ID is not
valid", a wrong or missing passcode 401 "Invalid Credentials", malformed JSON 400 "Malformed
request", and every answer (404 and 405 too) is CleverTap's JSON envelope. What the emulator
chose where the platform is undocumented is in docs/clevertap-behaviour.md.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import parse_qsl

from starlette.requests import Request
from starlette.responses import Response

from emulator.admin.errors import ControlError
from emulator.admin.views import page_view
from emulator.clevertap import campaigns, exports, partners, reports
from emulator.clevertap import query as q
from emulator.clevertap.models import Account, Profile
from emulator.clevertap.records import (
    Limits,
    Rejected,
    check,
    echo,
    simple_event,
    simple_profile,
)
from emulator.core.contracts import LENIENT, ContractError
from emulator.core.jsonresp import JSONResponse, loads
from emulator.core.reaper import dispose
from emulator.core.surface import BadJSON, Call, Operation, Param, Surface
from emulator.runtime import Emulator

ACCOUNT_HEADER = "x-clevertap-account-id"
PASSCODE_HEADER = "x-clevertap-passcode"
API_HOST = "api.clevertap.com"
DEFAULT_BATCH = 10
MAX_BATCH = 5000
MAX_LOOKUPS = 100
SUBSCRIBE_TYPES = {"phone": "MSG-sms", "email": "MSG-email", "whatsapp": "MSG-whatsapp"}
SUBSCRIBE_STATUS = {"Unsubscribe": False, "Resubscribe": True}
SECURITY = ["clevertapAccount", "clevertapPasscode"]
ERR = "clevertap/error"


def fail(status: int, message: str, retry_after: int | None = None) -> JSONResponse:
    response = JSONResponse(
        {"status": "fail", "error": message, "code": status}, status_code=status
    )
    if retry_after is not None:
        response.headers["Retry-After"] = str(retry_after)
    return response


class Refused(Exception):
    """Ends a handler with a ready answer (auth failure, malformed body, bad query)."""

    def __init__(self, response: Response) -> None:
        self.response = response


class CleverTapSurface(Surface):
    name = "clevertap"
    tenant_kind = "clevertap_account"
    tenant_contract = "clevertap/account"
    path_prefixes = ("/1/",)

    def __init__(self, emulator: Emulator) -> None:
        super().__init__(emulator)
        self._accounts: dict[str, dict[str, Any]] = {}
        self._limits: dict[str, Limits] = {}
        self.data: dict[str, Account] = {}
        # Transient: download cursors and pending report answers, per account.
        self._cursors: dict[str, dict[str, dict[str, Any]]] = {}
        self._reports: dict[str, dict[int, dict[str, Any]]] = {}
        # Moving the clock starts the mParticle export runs that have come due.
        emulator.clock.on_change(self._exports_clock_moved)

    def tenants_changed(self) -> None:
        self._accounts = {a["id"]: a for a in self.emulator.tenants.of_kind(self.tenant_kind)}
        self._limits = {
            k: Limits.from_options(a.get("options", {})) for k, a in self._accounts.items()
        }
        for gone in set(self.data) - set(self._accounts):
            dispose(self.data.pop(gone))

    def account(self, account_id: str) -> Account:
        found = self.data.get(account_id)
        if found is None:
            found = self.data[account_id] = Account(
                self.emulator.ids.clevertap_id, self.emulator.clock.now
            )
        return found

    def options(self, account_id: str) -> dict[str, Any]:
        return dict(self._accounts.get(account_id, {}).get("options", {}))

    # -- pipeline hooks --------------------------------------------------------------------
    def resolve_tenant(self, request: Request) -> str | None:
        account_id = request.headers.get(ACCOUNT_HEADER)
        return account_id if account_id in self._accounts else None

    def error_response(self, status: int, message: str, retry_after: int | None = None) -> Response:
        return fail(status, message, retry_after)

    def authenticate(self, call: Call) -> Response | None:
        """None when the account and passcode are right, else CleverTap's 401."""
        headers = call.request.headers
        account = self._accounts.get(headers.get(ACCOUNT_HEADER, ""))
        if account is None or not self._region_matches(headers.get("host", ""), account):
            return fail(401, "Account ID is not valid")
        given = headers.get(PASSCODE_HEADER, "")
        if not secrets.compare_digest(given.encode(), account["passcode"].encode()):
            return fail(401, "Invalid Credentials")
        return None

    @staticmethod
    def _region_matches(host: str, account: dict[str, Any]) -> bool:
        """`<region>.api.clevertap.com` must name the account's region; other hosts reach it."""
        host = host.split(":", 1)[0].lower()
        if host == API_HOST:  # the bare host is Europe's
            return bool(account["region"] == "eu1")
        if not host.endswith("." + API_HOST):
            return True
        return bool(host[: -len(API_HOST) - 1] == account["region"])

    def _enter(self, call: Call) -> Account:
        denied = self.authenticate(call)
        if denied is not None:
            raise Refused(denied)
        return self.account(call.tenant or "")

    def _body(self, call: Call, contract: str, *, optional: bool = False) -> Any:
        """The JSON body, checked against its contract; refusals in CleverTap's envelope."""
        if optional and not call.body.strip():
            return {}
        try:
            body = call.json()
        except BadJSON:
            raise Refused(fail(400, "Malformed request")) from None
        verdict = call.validate(contract, body)
        if not verdict.valid:
            first = verdict.errors[0]
            raise Refused(fail(400, f"{first.path}: {first.message}"))
        return body

    def _wrap(self, handler: Callable[[Call], Any]) -> Callable[[Call], Any]:
        async def run(call: Call) -> Response:
            try:
                result = handler(call)
            except Refused as exc:
                return exc.response
            except (q.QueryError, campaigns.CampaignError) as exc:
                return fail(400, str(exc))
            return result if isinstance(result, Response) else JSONResponse(result)

        return run

    # -- upload ----------------------------------------------------------------------------
    def upload(self, call: Call) -> dict[str, Any]:
        account = self._enter(call)
        body = self._body(call, "clevertap/upload")
        dry_run = call.request.query_params.get("dryRun") == "1"
        # A dry run stores nothing, but new event names still count towards the account's limit.
        dry_names: set[str] | None = set() if dry_run else None
        limits = self._limits[call.tenant or ""]
        now = int(self.emulator.clock.now())
        unprocessed: list[dict[str, Any]] = []
        records = body["d"]
        known_names = account.event_names
        apply_event, apply_profile = account.apply_event, account.apply_profile
        for number, record in enumerate(records, 1):
            # One-pass paths for the commonest records; anything else goes through `check`.
            kind = record.get("type") if type(record) is dict else None
            if kind == "event":
                event = simple_event(record, now, limits)
                if event is not None and event[2] in known_names:
                    if dry_names is None:
                        apply_event(*event, now)
                    continue
            elif kind == "profile":
                profile = simple_profile(record, limits)
                if profile is not None:
                    if dry_names is None:
                        apply_profile(*profile, now)
                    continue
            try:
                accepted = check(record, now, limits)
                if accepted.kind == "event" and accepted.name not in known_names:
                    account.check_event_name(accepted.name, dry_names)
                if dry_names is None:
                    account.apply(accepted, now)
            except Rejected as rejected:
                unprocessed.append(
                    {"index": number - 1, **self._unprocessed(rejected, number, record, now)}
                )
        processed = len(records) - len(unprocessed)
        if not dry_run and processed:
            self.emulator.changes += 1
        if unprocessed and call.verdict is not None:
            # The journal's verdict names every rejected record, so `?valid=false` finds them.
            call.verdict.errors.extend(
                ContractError(f"$.d[{item['index']}]", item["error"], f"clevertap-{item['code']}")
                for item in unprocessed
            )
            for item in unprocessed:
                del item["index"]
        status = "success" if not unprocessed else "partial" if processed else "fail"
        return {"status": status, "processed": processed, "unprocessed": unprocessed}

    @staticmethod
    def _unprocessed(rejected: Rejected, number: int, record: Any, now: int) -> dict[str, Any]:
        defaulted = isinstance(record, dict) and "ts" not in record and rejected.code != 525
        return {
            "status": "fail",
            "code": rejected.code,
            "error": rejected.error(number),
            "record": echo(record, now if defaulted else None),
        }

    # -- profile ---------------------------------------------------------------------------
    def profile(self, call: Call) -> dict[str, Any]:
        account = self._enter(call)
        params = call.request.query_params
        # The npm client sends values unencoded: a `+` means itself there, while a standard
        # query parser turns it into a space. Try the value as parsed, then with `+` kept.
        raw = call.request.scope.get("query_string", b"").decode("latin-1")
        plus_kept = dict(parse_qsl(raw.replace("+", "%2B"), keep_blank_values=True))
        for key in ("email", "identity", "objectId"):
            value = params.get(key)
            if value is None:
                continue
            found = _lookup(account, key, [value, plus_kept.get(key, value)])
            if found is None:
                return {"status": "fail", "error": "Profile not found", "code": 404}
            return {"status": "success", "record": found.record()}
        raise Refused(fail(400, "One of email, identity or objectId is required"))

    # -- downloads -------------------------------------------------------------------------
    def _download(self, call: Call, kind: str) -> dict[str, Any]:
        account = self._enter(call)
        params = call.request.query_params
        cursor = params.get("cursor")
        if cursor is not None:
            return self._page(call.tenant or "", cursor)
        if call.request.method == "GET":
            raw = params.get("query")
            if raw is None:
                raise Refused(fail(400, "query or cursor is required"))
            try:
                body = loads(raw)
            except ValueError:
                raise Refused(fail(400, "Malformed request")) from None
            verdict = call.validate("clevertap/query", body)
            if not verdict.valid:
                first = verdict.errors[0]
                raise Refused(fail(400, f"query {first.path}: {first.message}"))
        else:
            body = self._body(call, "clevertap/query")
        size = _batch_size(params.get("batch_size"))
        query = q.parse(body, need_event=kind == "events")
        if kind == "events":
            records = [_event_record(p, ts, props) for p, _, ts, props in q.events(account, query)]
        else:
            want_events = params.get("events", "true").lower() != "false"
            records = [p.record(events=want_events) for p in q.profiles(account, query)]
        return {"status": "success", "cursor": self._new_page(call.tenant or "", records, 0, size)}

    def _new_page(self, tenant: str, records: list[Any], offset: int, size: int) -> str:
        cursor = self.emulator.ids.cursor()
        polls = int(self.options(tenant).get("cursor_not_ready_polls", 0))
        self._cursors.setdefault(tenant, {})[cursor] = {
            "records": records,
            "offset": offset,
            "size": size,
            "not_ready": polls,
        }
        return cursor

    def _page(self, tenant: str, cursor: str) -> dict[str, Any]:
        page = self._cursors.get(tenant, {}).get(cursor)
        if page is None:
            raise Refused(fail(400, "Invalid cursor"))
        if page["not_ready"] > 0:
            page["not_ready"] -= 1
            return {
                "status": "fail",
                "error": "Request still in progress, please retry later",
                "code": 2,
            }
        records, offset, size = page["records"], page["offset"], page["size"]
        out: dict[str, Any] = {
            "status": "success",
            "previous_cursor": cursor,
            "records": records[offset : offset + size],
        }
        if offset + size < len(records):
            if "next" not in page:
                page["next"] = self._new_page(tenant, records, offset + size, size)
            out["next_cursor"] = page["next"]
        return out

    # -- counts ----------------------------------------------------------------------------
    def _report(self, call: Call, contract: str, compute: Callable[[Account, Any], Any]) -> Any:
        account = self._enter(call)
        tenant = call.tenant or ""
        pending = self._reports.setdefault(tenant, {})
        req_id = call.request.query_params.get("req_id")
        if req_id is not None:
            entry = pending.get(int(req_id)) if req_id.isascii() and req_id.isdigit() else None
            if entry is None or entry["path"] != call.path:
                raise Refused(fail(400, f"Invalid req_id {req_id}"))
            if entry["polls"] > 0:
                entry["polls"] -= 1
                return {"status": "partial", "req_id": int(req_id)}
            del pending[int(req_id)]
            return entry["result"]
        body = self._body(call, contract, optional=contract == "clevertap/now")
        result = compute(account, body)
        polls = int(self.options(tenant).get("report_polls", 0))
        if polls <= 0:
            return result
        new_id = int(self.emulator.ids.hex(12), 16)
        pending[new_id] = {"path": call.path, "polls": polls - 1, "result": result}
        return {"status": "partial", "req_id": new_id}

    def count_events(self, call: Call) -> Any:
        return self._report(call, "clevertap/query", reports.count_events)

    def count_profiles(self, call: Call) -> Any:
        return self._report(call, "clevertap/query", reports.count_profiles)

    def top(self, call: Call) -> Any:
        return self._report(call, "clevertap/top", reports.top)

    def trends(self, call: Call) -> Any:
        return self._report(call, "clevertap/trends", reports.trends)

    def now(self, call: Call) -> Any:
        return self._report(
            call,
            "clevertap/now",
            lambda account, body: reports.now(account, body, self.emulator.clock.now()),
        )

    # -- management ------------------------------------------------------------------------
    def delete(self, call: Call) -> dict[str, Any]:
        account = self._enter(call)
        body = self._body(call, "clevertap/delete")
        key, values = next(iter(body.items()))
        for value in values if isinstance(values, list) else [values]:
            found = _lookup(account, "identity" if key == "identity" else "objectId", [str(value)])
            if found is not None:
                account.delete(found)
        self.emulator.changes += 1
        return {"status": "success"}

    def demerge(self, call: Call) -> dict[str, Any]:
        account = self._enter(call)
        body = self._body(call, "clevertap/demerge")
        for identity in body["identities"]:
            account.demerge(str(identity))
        self.emulator.changes += 1
        return {"status": "success"}

    def subscribe(self, call: Call) -> dict[str, Any]:
        account = self._enter(call)
        body = self._body(call, "clevertap/subscribe")

        def apply(item: dict[str, Any]) -> None:
            flag = SUBSCRIBE_TYPES.get(item.get("type"))  # type: ignore[arg-type]
            if flag is None:
                raise Rejected(400, "type must be phone, email or whatsapp")
            if item.get("status") not in SUBSCRIBE_STATUS:
                raise Rejected(400, "status must be Unsubscribe or Resubscribe")
            value = item.get("value")
            if not isinstance(value, str) or not value:
                raise Rejected(400, "value is mandatory")
            kind = "email" if item["type"] == "email" else "phone"
            for profile in account.with_contact(kind, value):
                profile.data[flag] = SUBSCRIBE_STATUS[item["status"]]

        return self._items(body["d"], apply)

    def disassociate(self, call: Call) -> dict[str, Any]:
        account = self._enter(call)
        body = self._body(call, "clevertap/disassociate")

        def apply(item: dict[str, Any]) -> None:
            if item.get("type") != "phone":
                raise Rejected(400, "type must be phone")
            value = item.get("value")
            if not isinstance(value, str) or not value:
                raise Rejected(400, "value is mandatory")
            if account.disassociate_phone(value) == 0:
                raise Rejected(404, f"No profile has the phone {value}")

        return self._items(body["d"], apply)

    def _items(self, items: list[Any], apply: Callable[[dict[str, Any]], None]) -> dict[str, Any]:
        processed = 0
        unprocessed = []
        for number, item in enumerate(items, 1):
            try:
                if not isinstance(item, dict):
                    raise Rejected(400, "Each entry must be an object")
                apply(item)
            except Rejected as rejected:
                unprocessed.append(
                    {
                        "status": "fail",
                        "code": rejected.code,
                        "error": rejected.error(number),
                        "record": item,
                    }
                )
                continue
            processed += 1
        self.emulator.changes += 1
        status = "success" if not unprocessed else "partial" if processed else "fail"
        return {"status": status, "processed": processed, "unprocessed": unprocessed}

    # -- campaigns -------------------------------------------------------------------------
    def target_create(self, call: Call) -> dict[str, Any]:
        account = self._enter(call)
        body = self._body(call, "clevertap/target-create")
        now = self.emulator.clock.now()
        new_id = max([int(now), *(c["id"] + 1 for c in account.campaigns)])
        answer = campaigns.create(account, body, now, new_id)
        self.emulator.changes += 1
        return answer

    def target_list(self, call: Call) -> dict[str, Any]:
        account = self._enter(call)
        body = self._body(call, "clevertap/target-list")
        return campaigns.listing(account, body, self.emulator.clock.now())

    def target_result(self, call: Call) -> dict[str, Any]:
        account = self._enter(call)
        body = self._body(call, "clevertap/target-id")
        return campaigns.result(account, body, self.emulator.clock.now())

    def target_stop(self, call: Call) -> dict[str, Any]:
        account = self._enter(call)
        body = self._body(call, "clevertap/target-id")
        self.emulator.changes += 1
        return campaigns.stop(account, body, self.emulator.clock.now())

    def message_report(self, call: Call) -> dict[str, Any]:
        account = self._enter(call)
        body = self._body(call, "clevertap/message-report")
        return campaigns.report(account, body, self.emulator.clock.now())

    # -- partners --------------------------------------------------------------------------
    def partner_audiences(self, call: Call) -> dict[str, Any]:
        """mParticle's audience output (Firehose audience messages): see `partners`."""
        account = self._enter(call)
        contract = "clevertap/firehose-audience"
        try:
            message = self._body(call, contract)
        except Refused:
            verdict = call.verdict
            if verdict is None or verdict.valid:
                raise
            # The contract's oneOf says only "neither kind": name the field that is wrong.
            detailed = partners.explain(
                self.emulator.contracts.schema(contract),
                call.json(),
                lenient=self.emulator.config.mode == LENIENT,
            )
            if not detailed:
                raise
            verdict.errors = detailed
            raise Refused(fail(400, f"{detailed[0].path}: {detailed[0].message}")) from None
        answer = partners.apply_firehose(account, message, self.emulator.clock.now())
        call.notes.extend(partners.notes(answer))
        self.emulator.changes += 1
        return answer

    # -- declaration -----------------------------------------------------------------------
    def operations(self) -> list[Operation]:
        def op(
            method: str,
            path: str,
            handler: Callable[[Call], Any],
            summary: str,
            answer: str,
            request: str | None = None,
            params: Iterable[Param] = (),
            required: bool = True,
        ) -> Operation:
            return Operation(
                method,
                path,
                self._wrap(handler),
                summary,
                request=request,
                request_required=required,
                params=list(params),
                responses={200: answer, 400: ERR, 401: ERR},
                security=SECURITY,
                tags=["CleverTap"],
            )

        dry_run = Param("dryRun", "query", {"enum": ["0", "1"]}, description="1: validate only")
        cursor = Param("cursor", "query", {"type": "string"}, description="A page's cursor")
        batch = Param("batch_size", "query", {"type": "string"}, description="1 to 5000")
        query_param = Param("query", "query", {"type": "string"}, description="JSON query")
        req_id = Param("req_id", "query", {"type": "string"}, description="A partial answer's id")
        lookups = [
            Param("email", "query", {"type": "string"}),
            Param("identity", "query", {"type": "string"}),
            Param("objectId", "query", {"type": "string"}),
        ]
        ops = [
            op(
                "POST",
                "/1/upload",
                self.upload,
                "Upload events, profiles and device tokens",
                "clevertap/upload-response",
                "clevertap/upload",
                [dry_run],
            ),
            op(
                "POST",
                "/1/upload_device_tokens",
                self.upload,
                "Upload device tokens",
                "clevertap/upload-response",
                "clevertap/upload",
                [dry_run],
            ),
            op(
                "GET",
                "/1/profile.json",
                self.profile,
                "A profile by email, identity or objectId",
                "clevertap/profile-response",
                params=lookups,
            ),
        ]
        for kind in ("events", "profiles"):
            path = f"/1/{kind}.json"
            handler = (lambda k: lambda call: self._download(call, k))(kind)
            ops.append(
                op(
                    "GET",
                    path,
                    handler,
                    f"Download {kind}: create a cursor "
                    "(?query=&batch_size=) or read a page (?cursor=)",
                    "clevertap/page-response",
                    params=[query_param, batch, cursor],
                )
            )
            ops.append(
                op(
                    "POST",
                    path,
                    handler,
                    f"Download {kind}: create a cursor from a "
                    "JSON query, or read a page (?cursor=)",
                    "clevertap/page-response",
                    "clevertap/query",
                    [batch, cursor],
                    required=False,
                )
            )
        for path, handler, contract, answer, summary in (
            (
                "/1/counts/events.json",
                self.count_events,
                "clevertap/query",
                "clevertap/count-response",
                "Count events",
            ),
            (
                "/1/counts/profiles.json",
                self.count_profiles,
                "clevertap/query",
                "clevertap/count-response",
                "Count profiles",
            ),
            (
                "/1/counts/top.json",
                self.top,
                "clevertap/top",
                "clevertap/report-response",
                "Top property values",
            ),
            (
                "/1/counts/trends.json",
                self.trends,
                "clevertap/trends",
                "clevertap/report-response",
                "Trends by day, week or month",
            ),
            (
                "/1/now.json",
                self.now,
                "clevertap/now",
                "clevertap/now-response",
                "Real-time counts",
            ),
        ):
            ops.append(
                op(
                    "POST",
                    path,
                    handler,
                    summary,
                    answer,
                    contract,
                    [req_id],
                    required=contract != "clevertap/now",
                )
            )
            ops.append(
                op(
                    "GET",
                    path,
                    handler,
                    f"{summary}: poll a partial answer (?req_id=)",
                    answer,
                    params=[req_id],
                )
            )
        ops += [
            op(
                "POST",
                "/1/delete/profiles.json",
                self.delete,
                "Delete profiles",
                "clevertap/status-response",
                "clevertap/delete",
            ),
            op(
                "POST",
                "/1/demerge/profiles.json",
                self.demerge,
                "Demerge profiles",
                "clevertap/status-response",
                "clevertap/demerge",
            ),
            op(
                "POST",
                "/1/subscribe",
                self.subscribe,
                "Unsubscribe or resubscribe",
                "clevertap/upload-response",
                "clevertap/subscribe",
            ),
            op(
                "POST",
                "/1/disassociate",
                self.disassociate,
                "Disassociate a phone",
                "clevertap/upload-response",
                "clevertap/disassociate",
            ),
            op(
                "POST",
                "/1/targets/create.json",
                self.target_create,
                "Create (capture) or estimate a campaign",
                "clevertap/target-create-response",
                "clevertap/target-create",
            ),
            op(
                "POST",
                "/1/targets/list.json",
                self.target_list,
                "List campaigns",
                "clevertap/target-list-response",
                "clevertap/target-list",
            ),
            op(
                "POST",
                "/1/targets/result.json",
                self.target_result,
                "A campaign's result",
                "clevertap/target-result-response",
                "clevertap/target-id",
            ),
            op(
                "POST",
                "/1/targets/stop.json",
                self.target_stop,
                "Stop a scheduled campaign",
                "clevertap/status-response",
                "clevertap/target-id",
            ),
            op(
                "POST",
                "/1/message/report.json",
                self.message_report,
                "Message report",
                "clevertap/message-report-response",
                "clevertap/message-report",
            ),
            op(
                "POST",
                "/1/partners/mparticle/audiences",
                self.partner_audiences,
                "mParticle audience output: Firehose audience subscription and membership "
                "change messages, applied as Partner - mParticle segments",
                "clevertap/firehose-response",
                "clevertap/firehose-audience",
            ),
        ]
        return ops

    # -- control views ---------------------------------------------------------------------
    def control_operations(self) -> list[Operation]:
        text = {"type": "string"}
        account_param = Param("tenant", "path", text, required=True)
        lookups = [Param(n, "query", text) for n in ("identity", "email", "objectId")]
        return [
            self._view(
                "profiles", "Profiles with their identity graph", self._profiles_view, lookups
            ),
            self._view(
                "merges", "Merges and demerges, oldest first", lambda acc, qp: list(acc.merges), []
            ),
            self._view(
                "events",
                "Events, oldest first",
                self._events_view,
                [Param("event_name", "query", text), *lookups],
            ),
            self._view(
                "segments",
                "Segments with their members' CleverTap IDs",
                lambda acc, qp: [
                    {**seg, "count": len(seg["members"])}
                    for seg in acc.segments
                    if qp.get("name") in (None, seg["name"])
                    and qp.get("type") in (None, seg["type"])
                ],
                [Param("name", "query", text), Param("type", "query", text)],
            ),
            Operation(
                "POST",
                "/clevertap/{tenant}/segments",
                self._add_segment,
                "Make a custom list segment from identities and CleverTap IDs",
                request="clevertap/segment",
                params=[account_param],
                responses={201: None, 400: "emulator/error", 404: "emulator/error"},
            ),
            *self._export_operations(account_param),
            self._view(
                "campaigns",
                "Captured campaigns with their audience",
                lambda acc, qp: [
                    view
                    for c in acc.campaigns
                    if (view := campaigns.view(c, self.emulator.clock.now()))
                    and qp.get("name") in (None, c["name"])
                    and qp.get("status") in (None, view["status"])
                ],
                [Param("name", "query", text), Param("status", "query", text)],
            ),
            Operation(
                "GET",
                "/clevertap/{tenant}/profiles/{objectId}",
                self._profile_view,
                "One profile by any of its CleverTap IDs",
                params=[account_param, Param("objectId", "path", text, required=True)],
                responses={200: None, 404: "emulator/error"},
            ),
        ]

    def _view(
        self,
        key: str,
        summary: str,
        produce: Callable[[Account, dict[str, Any]], list[dict[str, Any]]],
        params: list[Param],
    ) -> Operation:
        return page_view(
            f"/clevertap/{{tenant}}/{key}",
            key,
            lambda tenant, qp: produce(self.account(tenant), qp),
            self.owns,
            summary,
            params,
        )

    @staticmethod
    def _matching(account: Account, qp: dict[str, Any]) -> set[int] | None:
        """Pids picked by ?identity/email/objectId (None: no such filter given)."""
        picked: set[int] | None = None
        for key in ("identity", "email", "objectId"):
            if key in qp:
                ids = {p.pid for p in account.find_all(key, qp[key])}
                picked = ids if picked is None else picked & ids
        return picked

    def _profiles_view(self, account: Account, qp: dict[str, Any]) -> list[dict[str, Any]]:
        picked = self._matching(account, qp)
        return [p.view() for p in account.profiles.values() if picked is None or p.pid in picked]

    def _events_view(self, account: Account, qp: dict[str, Any]) -> list[dict[str, Any]]:
        picked = self._matching(account, qp)
        name = qp.get("event_name")
        return [
            {
                "objectId": profile.guid,
                "identity": profile.identities[0] if profile.identities else None,
                "evtName": evt,
                "ts": ts,
                "evtData": data,
            }
            for profile, evt, ts, data in account.iter_events()
            if (name is None or evt == name) and (picked is None or profile.pid in picked)
        ]

    async def _add_segment(self, request: Request, qp: dict[str, Any], body: Any) -> Response:
        tenant = request.path_params["tenant"]
        if not self.owns(tenant):
            raise ControlError(404, "not_found", f"no CleverTap account {tenant!r} here")
        account = self.account(tenant)
        members: list[str] = []
        unknown: list[str] = []
        for key, values in (
            ("identity", body.get("identities", [])),
            ("objectId", body.get("objectIds", [])),
        ):
            for value in values:
                found = account.find(key, value)
                if found is None:
                    unknown.append(value)
                elif found.guid not in members:
                    members.append(found.guid)
        segment = {
            "id": account.next_segment_id(),
            "name": body["name"],
            "type": body.get("type", "Custom List"),
            "created": self.emulator.clock.now(),
            "members": members,
        }
        account.segments.append(segment)
        self.emulator.changes += 1
        return JSONResponse({**segment, "count": len(members), "unknown": unknown}, status_code=201)

    # -- mParticle exports (the CleverTap feed; logic in exports.py) -----------------------
    def _export_operations(self, account_param: Param) -> list[Operation]:
        text = {"type": "string"}
        export_param = Param("export_id", "path", text, required=True)
        base = "/clevertap/{tenant}/exports"
        err = "emulator/error"
        view = "clevertap/export-view"
        return [
            page_view(
                base,
                "exports",
                self._export_rows,
                self.owns,
                "mParticle exports with their runs",
                [Param("status", "query", text), Param("data", "query", text)],
            ),
            Operation(
                "POST",
                base,
                self._create_export,
                "Create an mParticle export; its first run starts at `start` (default now)",
                request="clevertap/export",
                params=[account_param],
                responses={201: view, 400: err, 404: err},
            ),
            Operation(
                "GET",
                base + "/{export_id}",
                self._get_export,
                "One mParticle export with its runs",
                params=[account_param, export_param],
                responses={200: view, 404: err},
            ),
            Operation(
                "POST",
                base + "/{export_id}/run",
                self._run_export,
                "Run an export now (409 when stopped, done, or a one-time export that ran)",
                params=[account_param, export_param],
                responses={200: view, 404: err, 409: err},
            ),
            Operation(
                "POST",
                base + "/{export_id}/stop",
                self._stop_export,
                "Stop an export: it never runs again (409 when it is DONE)",
                params=[account_param, export_param],
                responses={200: view, 404: err, 409: err},
            ),
        ]

    def _export_account(self, tenant: str) -> Account:
        """The account, after starting the runs that came due while the clock ran freely."""
        if not self.owns(tenant):
            raise ControlError(404, "not_found", f"no CleverTap account {tenant!r} here")
        account = self.account(tenant)
        self._run_due_exports(tenant, account, self.emulator.clock.now())
        return account

    def _export_of(self, request: Request) -> tuple[str, Account, dict[str, Any]]:
        tenant = request.path_params["tenant"]
        account = self._export_account(tenant)
        export_id = request.path_params["export_id"]
        export = exports.find(account, export_id)
        if export is None:
            raise ControlError(404, "not_found", f"no export {export_id!r} in {tenant!r}")
        return tenant, account, export

    def _export_rows(self, tenant: str, qp: dict[str, Any]) -> list[dict[str, Any]]:
        return [
            exports.view(e)
            for e in self._export_account(tenant).exports
            if qp.get("status") in (None, e["status"]) and qp.get("data") in (None, e["data"])
        ]

    async def _create_export(self, request: Request, qp: dict[str, Any], body: Any) -> Response:
        tenant = request.path_params["tenant"]
        account = self._export_account(tenant)
        now = self.emulator.clock.now()
        try:
            export = exports.create(body, exports.next_id(account), now)
        except exports.ExportError as exc:
            raise ControlError(exc.status, exc.code, str(exc)) from None
        account.exports.append(export)
        self.emulator.changes += 1
        self._run_due_exports(tenant, account, now)
        return JSONResponse(exports.view(export), status_code=201)

    async def _get_export(self, request: Request, qp: dict[str, Any], body: Any) -> Response:
        return JSONResponse(exports.view(self._export_of(request)[2]))

    async def _run_export(self, request: Request, qp: dict[str, Any], body: Any) -> Response:
        tenant, account, export = self._export_of(request)
        try:
            exports.check_runnable(export)
        except exports.ExportError as exc:
            raise ControlError(exc.status, exc.code, str(exc)) from None
        now = self.emulator.clock.now()
        self._start_export_run(tenant, account, export, now, now, "manual")
        return JSONResponse(exports.view(export))

    async def _stop_export(self, request: Request, qp: dict[str, Any], body: Any) -> Response:
        _, _, export = self._export_of(request)
        try:
            exports.stop(export, self.emulator.clock.now())
        except exports.ExportError as exc:
            raise ControlError(exc.status, exc.code, str(exc)) from None
        self.emulator.changes += 1
        return JSONResponse(exports.view(export))

    def _exports_clock_moved(self, now: float) -> None:
        for tenant, account in list(self.data.items()):
            if not account.exports or not self.owns(tenant):
                continue
            try:
                self._run_due_exports(tenant, account, now)
            except Exception:  # a bug of ours must not break moving the clock
                logging.getLogger("ctmp_emulator").exception("export runs of %s failed", tenant)

    def _run_due_exports(self, tenant: str, account: Account, now: float) -> None:
        for export in account.exports:
            times, missed = exports.due(export, now)
            export["missed_runs"] += missed
            for scheduled in times:
                self._start_export_run(tenant, account, export, scheduled, now, "schedule")

    def _start_export_run(
        self,
        tenant: str,
        account: Account,
        export: dict[str, Any],
        until: float,
        now: float,
        trigger: str,
    ) -> None:
        """Record a run and hand its batches to the bridge (topic `clevertap.export_run`), which
        calls `finished` once every request got its final answer."""
        run, batches = exports.begin_run(account, export, until, now, trigger)
        self.emulator.changes += 1
        if not batches:
            return  # DONE already: nothing to deliver
        clock = self.emulator.clock

        def finished(summary: dict[str, Any]) -> None:
            if exports.finish_run(export, run, summary, clock.now()):
                self.emulator.changes += 1

        try:
            self.emulator.publish(
                "clevertap.export_run",
                account=tenant,
                export=exports.view(export),
                run=exports.run_view(run),
                batches=batches,
                finished=finished,
            )
        except Exception as exc:  # a listener's bug: the run fails, the control API answers
            logging.getLogger("ctmp_emulator").exception("export run %s: listener", run["id"])
            finished({"failed": 0, "error": f"{type(exc).__name__}: {exc}"})

    async def _profile_view(self, request: Request, qp: dict[str, Any], body: Any) -> Response:
        tenant = request.path_params["tenant"]
        if not self.owns(tenant):
            raise ControlError(404, "not_found", f"no CleverTap account {tenant!r} here")
        found = self.account(tenant).find("objectId", request.path_params["objectId"])
        if found is None:
            raise ControlError(404, "not_found", "no profile with that CleverTap ID")
        return JSONResponse(found.view())

    def security_schemes(self) -> dict[str, Any]:
        return {
            "clevertapAccount": {
                "type": "apiKey",
                "in": "header",
                "name": "X-CleverTap-Account-Id",
            },
            "clevertapPasscode": {"type": "apiKey", "in": "header", "name": "X-CleverTap-Passcode"},
        }

    # -- state -----------------------------------------------------------------------------
    def export_state(self, tenants: set[str] | None) -> dict[str, list[dict[str, Any]]]:
        return {
            "accounts": [
                {"tenant": tenant, **account.export()}
                for tenant, account in self.data.items()
                if (tenants is None or tenant in tenants) and not account.empty()
            ]
        }

    def import_state(self, tables: dict[str, list[dict[str, Any]]]) -> None:
        self.reset(None)
        for row in tables.get("accounts", []):
            self.account(row["tenant"]).load(row)

    def reset(self, tenants: Any) -> None:
        if tenants is None:
            old, self.data = self.data, {}
            dispose(old)
            self._cursors.clear()
            self._reports.clear()
            return
        for tenant in tenants:
            dispose(self.data.pop(tenant, None))
            self._cursors.pop(tenant, None)
            self._reports.pop(tenant, None)


def _lookup(account: Account, key: str, values: list[str]) -> Profile | None:
    """A profile by the first of `values` that names one; an email may also be an identity."""
    for value in dict.fromkeys(values):
        found = account.find(key, value)
        if found is None and key == "email":
            found = account.find("identity", value)
        if found is not None:
            return found
    return None


def _batch_size(raw: str | None) -> int:
    if raw is None:
        return DEFAULT_BATCH
    if not (raw.isascii() and raw.isdigit()) or not 1 <= int(raw) <= MAX_BATCH:
        raise Refused(fail(400, f"batch_size must be 1 to {MAX_BATCH}"))
    return int(raw)


def _event_record(profile: Profile, ts: int, props: dict[str, Any]) -> dict[str, Any]:
    person: dict[str, Any] = {
        "objectId": profile.guid,
        "platform": profile.platform_info()[0]["platform"],
    }
    if profile.identities:
        person["identity"] = profile.identities[0]
    if "Email" in profile.data:
        person["email"] = profile.data["Email"]
    person["profileData"] = dict(profile.data)
    return {"profile": person, "ts": q.packed(ts), "event_props": props, "session_props": {}}
