"""The dashboard app: pages under `/`, the same data as JSON under `/api`.

Mounted by the Airflow api-server at URL_PREFIX (see plugins/gaggle_dashboard.py);
every route requires Airflow's authentication (gaggle_ui.auth).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Depends, FastAPI, HTTPException, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse
from gaggle.ledger import Ledger
from starlette.exceptions import HTTPException as StarletteHTTPException

from gaggle_ui import data, pages
from gaggle_ui.asgi import URL_PREFIX
from gaggle_ui.auth import get_user, login_url, may_read_migration, require_migration
from gaggle_ui.chart import burndown_svg

INVALID_TOKEN = "Invalid JWT token"  # Airflow's 403 for a token that does not validate

User = Annotated[object, Depends(get_user)]
api = APIRouter(prefix="/api", tags=["api"])
html = APIRouter(include_in_schema=False, default_response_class=HTMLResponse)


def create_app(ledger: Callable[[], Ledger] | None = None, url_prefix: str = URL_PREFIX) -> FastAPI:
    """`ledger`: where to read (default: the gaggle_ledger connection, else AIRFLOW_HOME)."""
    if ledger is None:
        from gaggle_ui.source import ledger
    app = FastAPI(
        title="gaggle migrations",
        summary="Progress of every gaggle migration, repo by repo (read-only).",
        version="1",
        # FastAPI's own docs are served to anyone and load Swagger UI from a CDN: off. The
        # schema and a self-contained docs page are routes below, behind Airflow's auth.
        docs_url=None,
        openapi_url=None,
        redoc_url=None,
    )
    app.state.ledger = ledger
    app.state.url_prefix = url_prefix
    app.add_exception_handler(StarletteHTTPException, _refused)
    app.include_router(api)
    app.include_router(html)
    return app


def _ledger(request: Request) -> Ledger:
    return request.app.state.ledger()


def _roots(request: Request) -> tuple[str, str]:
    """This app's root path as mounted, and the Airflow UI's (what precedes the prefix)."""
    root = request.scope.get("root_path", "").rstrip("/")
    prefix = request.app.state.url_prefix
    return root, root[: -len(prefix)] if root.endswith(prefix) else ""


async def _refused(request: Request, exc: StarletteHTTPException):
    root, airflow_root = _roots(request)
    if request.url.path.startswith(f"{root}/api") and request.url.path != f"{root}/api/docs":
        return JSONResponse({"detail": exc.detail}, exc.status_code, headers=exc.headers)
    if exc.status_code == 401 or exc.detail == INVALID_TOKEN:  # no, expired or bad token
        return RedirectResponse(login_url(request, airflow_root), status_code=303)
    page = pages.render("error.html", root=root, status=exc.status_code, detail=exc.detail)
    return HTMLResponse(page, exc.status_code)


def _found(call, *args):
    try:
        return call(*args)
    except data.NotFound as err:
        raise HTTPException(404, str(err)) from err


# ---------------------------------------------------------------------- JSON API


@api.get("/migrations")
def api_migrations(request: Request, user: User) -> dict:
    """Every migration the caller may read, with its counts per progress bucket."""
    return {"migrations": data.overview(_ledger(request), lambda m: may_read_migration(user, m))}


@api.get("/migrations/{migration_id}")
def api_migration(migration_id: str, request: Request, user: User) -> dict:
    """One migration: counts per bucket, totals and the daily snapshots (burndown)."""
    require_migration(user, migration_id)
    return _found(data.migration_summary, _ledger(request), migration_id)


@api.get("/migrations/{migration_id}/repos")
def api_repos(migration_id: str, request: Request, user: User) -> dict:
    """The repo table: bucket (repeatable or comma-separated), q, framework, ci, review,
    decisions=1, sort (a column; '-' first for descending), page, per_page (at most 500)."""
    require_migration(user, migration_id)
    query = data.RepoQuery.parse(request.query_params)
    if query.problems:
        raise HTTPException(422, "; ".join(query.problems))
    return _found(data.repo_page, _ledger(request), migration_id, query)


@api.get("/migrations/{migration_id}/repos/{repo:path}")
def api_repo(migration_id: str, repo: str, request: Request, user: User) -> dict:
    """One repo (owner/name, slash included): its state, diff, manual decisions,
    validation evidence, links to its task logs and its latest events."""
    require_migration(user, migration_id)
    return _found(data.repo_detail, _ledger(request), migration_id, repo, _roots(request)[1])


@api.get("/openapi.json", include_in_schema=False)
def api_schema(request: Request, user: User) -> dict:
    """The API's OpenAPI schema, for callers Airflow authenticated."""
    return request.app.openapi()


@api.get("/docs", include_in_schema=False, response_class=HTMLResponse)
def api_docs(request: Request, user: User):
    """The API's reference as a plain page from the schema: no script, nothing from outside."""
    root, _ = _roots(request)
    return pages.render(
        "apidocs.html", root=root, operations=pages.operations(request.app.openapi())
    )


# ---------------------------------------------------------------------- pages


@html.get("/")
def overview_page(request: Request, user: User):
    root, airflow_root = _roots(request)
    found = data.overview(_ledger(request), lambda m: may_read_migration(user, m))
    for m in found:
        m["chart"] = burndown_svg(m["snapshots"], title=f"Burndown of {m['id']}")
    return pages.render("overview.html", root=root, airflow_root=airflow_root, migrations=found)


@html.get("/migrations/{migration_id}")
def migration_page(migration_id: str, request: Request, user: User):
    require_migration(user, migration_id)
    root, airflow_root = _roots(request)
    ledger = _ledger(request)
    query = data.RepoQuery.parse(request.query_params)
    states = data.table_states(ledger, migration_id)
    summary = _found(data.migration_summary, ledger, migration_id, states)
    summary["chart"] = burndown_svg(summary["snapshots"], title=f"Burndown of {migration_id}")
    page = data.repo_page(ledger, migration_id, query, states)
    params = {k: request.query_params.getlist(k) for k in request.query_params}
    base = f"{root}/migrations/{quote(migration_id, safe='')}"

    def link(**changes) -> str:
        return f"{base}?{pages.query_string({**params, **changes})}"

    return pages.render(
        "migration.html",
        root=root,
        airflow_root=airflow_root,
        m=summary,
        page=page,
        query=query,
        columns=pages.COLUMNS,
        sort_link=lambda key: link(sort=f"-{key}" if page["sort"] == key else key, page=1),
        page_link=lambda n: link(page=n),
        api_link=f"{root}/api/migrations/{quote(migration_id, safe='')}/repos?"
        + pages.query_string(params),
    )


@html.get("/migrations/{migration_id}/repos/{repo:path}")
def repo_page(migration_id: str, repo: str, request: Request, user: User):
    require_migration(user, migration_id)
    root, airflow_root = _roots(request)
    detail = _found(data.repo_detail, _ledger(request), migration_id, repo, airflow_root)
    api_link = f"{root}/api/migrations/{quote(migration_id, safe='')}/repos/{quote(repo)}"
    return pages.render(
        "repo.html", root=root, airflow_root=airflow_root, r=detail, api_link=api_link
    )
