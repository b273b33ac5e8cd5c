"""The demo a newcomer sees after `make run`."""

from consult.demo import DEMO_PASSWORD, DEMO_USERS, POLICY_DIR, demo_consultations, demo_policy_files


def test_demo_loads_once_and_prints_the_accounts(app, client):
    runner = app.test_cli_runner()
    first = runner.invoke(args=["demo"])
    assert first.exit_code == 0, first.output
    assert "Demo loaded." in first.output
    for user in DEMO_USERS:
        assert user.email in first.output
    assert DEMO_PASSWORD in first.output
    again = runner.invoke(args=["demo"])
    assert again.exit_code == 0 and "Demo already loaded." in again.output

    consultations = {c.slug: c for c in demo_consultations()}
    open_round = consultations["federal-source-code-policy"]
    assert open_round.state == "open" and open_round.current_version.number == 1
    keys = [s.key for s in open_round.current_version.sections]
    assert len(keys) == 12 and "instructions-for-public-comment" not in keys  # notes blocks are footnotes of their sections
    past_round = consultations["federal-source-code-policy-2016"]
    assert past_round.state == "concluded" and [v.number for v in past_round.published_versions] == [1, 2]

    page = client.get("/c/federal-source-code-policy").get_data(as_text=True)
    assert "Federal Source Code Policy" in page and "Introduction for Public Comment" in page
    assert client.get("/c/federal-source-code-policy-2016/diff?from=1&to=2").status_code == 200


def test_demo_users_can_sign_in(app, client):
    app.test_cli_runner().invoke(args=["demo", "--quiet"])
    response = client.post("/signin", data={"email": "author@demo.consult.example", "password": DEMO_PASSWORD})
    assert response.status_code == 302
    assert "Alex Author" in client.get("/").get_data(as_text=True)


def test_the_demo_publishes_the_policy_verbatim_but_for_the_comment_instructions():
    for version in ("v1-draft-2016-04", "v2-final-2016-08"):
        for name, text in demo_policy_files(version):
            original = (POLICY_DIR / version / name).read_text(encoding="utf-8")
            if (version, name) != ("v1-draft-2016-04", "01-index.md"):
                assert text == original, name
                continue
            # Only the 2016 instructions (comment on GitHub or by email to OMB) are left out.
            left_out = original[original.index("## Instructions for Public Comment") : original.index("### Footnotes")]
            assert text == original.replace(left_out, "")
            assert "sourcecode@omb.eop.gov" in left_out and "@" not in text
            assert "### Footnotes" in text and "We welcome your input" in text
