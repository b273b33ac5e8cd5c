"""The layout's brand, header links and footer, made once for everyone not signed in
(``site.views.public_chrome``): a change to the settings they show is seen at once, each
language gets its own, and someone signed in never gets the signed-out links."""

from __future__ import annotations

from tests.conftest import login
from tests.factories import make_user
from tests.site.test_settings import save_site


def header_and_footer(page: str) -> str:
    return (
        page[page.index('<header class="site-header">') : page.index('<main id="main"')]
        + page[page.index('<footer class="site-footer">') :]
    )


def test_a_new_site_name_and_footer_links_show_to_visitors_at_once(app, client):
    visitor = app.test_client()
    before = header_and_footer(visitor.get("/").get_data(as_text=True))
    assert ">Sign in</a>" in before and "Council consultations" not in before
    login(client, make_user(name="Sam Site-Admin", site_admin=True))
    assert save_site(client, footer_links="Contact us | https://council.example/contact").status_code == 302
    after = header_and_footer(visitor.get("/").get_data(as_text=True))
    assert after.count("Council consultations") == 2  # the brand and the footer's "More from"
    assert '<a href="https://council.example/contact">Contact us</a>' in after


def test_each_language_has_its_own_header_and_footer(client):
    assert "Terms of use" in header_and_footer(client.get("/", headers={"Accept-Language": "en"}).get_data(as_text=True))
    page = header_and_footer(client.get("/", headers={"Accept-Language": "fr"}).get_data(as_text=True))
    assert "Conditions d'utilisation" in page and ">Se connecter</a>" in page and "Terms of use" not in page


def test_someone_signed_in_never_gets_the_signed_out_links(app, client):
    app.test_client().get("/")  # a visitor's page first
    login(client, make_user(name="Nadia Signed-In"))
    page = header_and_footer(client.get("/").get_data(as_text=True))
    assert "Nadia Signed-In" in page and "Sign out" in page
    assert ">Sign in</a>" not in page and ">Sign up</a>" not in page
