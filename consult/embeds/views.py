"""Embeds (web layer): the framed views other sites show, their oEmbed answers, and the
discovery link on the pages that have one. Taking part always happens on Consult itself, in a
new window: an embed holds no form, so it needs no cookie of ours inside another site's page."""

from __future__ import annotations

from flask import Blueprint, abort, jsonify, render_template, request, url_for
from flask_babel import gettext as _

from consult.core import links
from consult.core.framing import frameable
from consult.core.routing import public
from consult.embeds import services

bp = Blueprint("embeds", __name__)

#: The frame's size oEmbed suggests for each embed (a consumer may ask for less).
SIZES = {
    "embeds.consultation": (560, 320),
    "embeds.section": (560, 300),
    "embeds.amendment": (560, 340),
    "embeds.statement": (560, 260),
}


@bp.route("/c/<slug>/embed")
@public
@frameable
def consultation(slug: str):
    embed = services.consultation_embed(slug) or abort(404)
    return render_template("embeds/consultation.html", embed=embed)


@bp.route("/c/<slug>/s/<key>/embed")
@public
@frameable
def section(slug: str, key: str):
    embed = services.section_embed(slug, key) or abort(404)
    return render_template("embeds/section.html", embed=embed)


@bp.route("/c/<slug>/amendments/A<int:number>/embed")
@public
@frameable
def amendment(slug: str, number: int):
    embed = services.amendment_embed(slug, number) or abort(404)
    return render_template("embeds/amendment.html", embed=embed)


@bp.route("/c/<slug>/statements/<int:statement_id>/embed")
@public
@frameable
def statement(slug: str, statement_id: int):
    embed = services.statement_embed(slug, statement_id) or abort(404)
    return render_template("embeds/statement.html", embed=embed)


def _title(endpoint: str, values: dict) -> str:
    found = services.FINDERS[endpoint](**values)
    c = found.consultation
    if endpoint == "embeds.section":
        return f"{found.section.heading} · {c.title}"
    if endpoint == "embeds.amendment":
        return _("Amendment %(label)s · %(title)s", label=found.amendment.label, title=c.title)
    if endpoint == "embeds.statement":
        return _("A statement to vote on · %(title)s", title=c.title)
    return c.title


def _size(value: str | None, default: int) -> int:
    try:
        asked = int(value) if value else default
    except ValueError:
        abort(400, description=_("maxwidth and maxheight must be whole numbers of pixels."))
    return max(120, min(default, asked))


@bp.route("/oembed")
@public
def oembed():
    """oEmbed 1.0 (https://oembed.com): a "rich" answer whose HTML is the page's embed in a frame."""
    url = (request.args.get("url") or "").strip()
    if not url:
        abort(400, description=_("Give the address of a Consult page as url."))
    if (request.args.get("format") or "json") != "json":
        abort(501, description=_("Only the JSON format is available."))
    found = services.embed_for_url(url)
    if found is None:
        abort(404, description=_("That address has no embed: a consultation, a section or an amendment the public may see has one."))
    endpoint, values = found
    default_width, default_height = SIZES[endpoint]
    width = _size(request.args.get("maxwidth"), default_width)
    height = _size(request.args.get("maxheight"), default_height)
    src = links.site_url(endpoint, **values)
    title = _title(endpoint, values)
    frame = render_template("embeds/_iframe.html", src=src, width=width, height=height, title=title)
    return jsonify(
        version="1.0",
        type="rich",
        provider_name="Consult",
        provider_url=links.site_url("proposals.index"),
        title=title,
        html=frame.strip(),
        width=width,
        height=height,
    )


@bp.app_context_processor
def embed_helpers():
    def oembed_discovery() -> str | None:
        """The oEmbed address of the page being rendered, when it has a public embed."""
        if "consult.oembed" not in request.environ:
            found = services.embed_for(request.endpoint, dict(request.view_args or {})) if request.method == "GET" else None
            request.environ["consult.oembed"] = (
                url_for("embeds.oembed", url=links.site_url(request.endpoint, **(request.view_args or {})), format="json")
                if found
                else None
            )
        return request.environ["consult.oembed"]

    return {"oembed_discovery": oembed_discovery}
