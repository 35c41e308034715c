"""Each check of ``claims`` catches a wrong claim, and lets the right one pass: fed a page
that contradicts the code, it reports that page and line."""

from __future__ import annotations

from . import claims
from .pages import Page, page, pages

FENCE = "```"


def one(findings: list[str], *expected: str) -> None:
    """Exactly one finding, which names each of ``expected``."""
    assert len(findings) == 1, findings
    for text in expected:
        assert text in findings[0], (text, findings[0])


def test_a_key_that_is_no_option_is_caught() -> None:
    wrong = page("docs/x.md", "# X\n\nSet `FLOWGLAD_FAIL_CLOSED = True`.\n")
    one(claims.unknown_config_keys(wrong), "docs/x.md:3", "FLOWGLAD_FAIL_CLOSED")
    right = page("docs/x.md", "# X\n\nSet `FLOWGLAD_FAIL_OPEN = True`, not `FLOWGLAD_*`.\n")
    assert claims.unknown_config_keys(right) == []


def test_an_option_no_page_describes_is_caught() -> None:
    thin = [page(p.name, p.text.replace("FLOWGLAD_CONNECT_TIMEOUT", "")) for p in pages()]
    findings = claims.undocumented_options(thin)
    one(findings, "FLOWGLAD_CONNECT_TIMEOUT")
    generated_only = page(
        "docs/x.md",
        "<!-- generated: config -->\n`FLOWGLAD_CONNECT_TIMEOUT`\n<!-- end generated -->\n",
    )
    findings = claims.undocumented_options([generated_only])
    assert any("FLOWGLAD_CONNECT_TIMEOUT" in finding for finding in findings)


def test_a_wrong_default_in_a_key_table_is_caught() -> None:
    table = "| Key | Default | |\n|---|---|---|\n| `FLOWGLAD_BILLING_CACHE_TTL` | {} | ttl |\n"
    one(claims.config_defaults(page("docs/x.md", table.format("`300`"))), "300")
    one(claims.config_defaults(page("docs/x.md", table.format("off"))), "off")
    for right in ("`60`", "`60.0`", "60", "60 seconds, or the Redis TTL"):
        assert claims.config_defaults(page("docs/x.md", table.format(right))) == [], right
    unset = "| Key | Default |\n|---|---|\n| `FLOWGLAD_WEBHOOK_SECRET` | {} |\n"
    one(claims.config_defaults(page("docs/x.md", unset.format("`whsec_x`"))), "whsec_x")
    assert claims.config_defaults(page("docs/x.md", unset.format("none: no endpoint"))) == []


def test_an_import_that_fails_is_caught() -> None:
    block = f"# X\n\n{FENCE}python\nfrom flask_flowglad import {{}}\n{FENCE}\n"
    one(claims.broken_imports(page("docs/x.md", block.format("Flowglad, Billing"))), "Billing")
    assert claims.broken_imports(page("docs/x.md", block.format("Flowglad"))) == []
    module = f"{FENCE}python\nimport flask_flowglad.nothing_here\n{FENCE}\n"
    one(claims.broken_imports(page("docs/x.md", module)), "nothing_here")
    fragment = (
        f"{FENCE}python\nfrom flask_flowglad.signals import no_such_webhook\nif x:\n{FENCE}\n"
    )
    one(claims.broken_imports(page("docs/x.md", fragment)), "no_such_webhook")


def test_a_dotted_name_that_does_not_exist_is_caught() -> None:
    text = "See `flask_flowglad.config.OPTIONS` and `flask_flowglad.config.CHOICES`.\n"
    one(claims.unresolved_names(page("docs/x.md", text)), "flask_flowglad.config.CHOICES")
    method = "`flask_flowglad.Flowglad.for_customer` `flask_flowglad.Flowglad.for_client`\n"
    one(claims.unresolved_names(page("docs/x.md", method)), "for_client")
    member = "`CustomerBilling.create_usage_event()` and `CustomerBilling.create_checkout()`\n"
    one(claims.unresolved_names(page("docs/x.md", member)), "create_checkout")
    assert claims.unresolved_names(page("docs/x.md", "`Sandbox.reset()`, `Cache.get`\n")) == []


def test_a_block_that_does_not_parse_is_caught() -> None:
    python = f"# X\n\n{FENCE}python\ndef view(:\n    pass\n{FENCE}\n"
    one(claims.invalid_blocks(page("docs/x.md", python)), "docs/x.md:3", "SyntaxError")
    json_block = f'{FENCE}json\n{{"data": null,}}\n{FENCE}\n'
    one(claims.invalid_blocks(page("docs/x.md", json_block)), "json")
    jinja = f"{FENCE}jinja\n{{% if has_feature('x') %}}yes\n{FENCE}\n"
    one(claims.invalid_blocks(page("docs/x.md", jinja)), "jinja")
    fine = f"{FENCE}python\napp.config['X'] = 1\n...  # and so on\n{FENCE}\n"
    assert claims.invalid_blocks(page("docs/x.md", fine)) == []
    generated = f"<!-- generated: api -->\n{FENCE}python\nclass X(a: int = 1)\n{FENCE}\n"
    assert claims.invalid_blocks(page("docs/x.md", generated + "<!-- end generated -->\n")) == []


def test_markup_only_sphinx_reads_is_caught() -> None:
    role = "# X\n\nUse {func}`~flask_flowglad.feature_required` here.\n"
    one(claims.sphinx_only_markup(page("docs/x.md", role)), "docs/x.md:3", "{func}")
    directive = f"{FENCE}{{literalinclude}} examples/gating.py\n{FENCE}\n"
    one(claims.sphinx_only_markup(page("docs/x.md", directive)), "{literalinclude}")
    shown = f"{FENCE}{{toctree}}\ninstallation\n{FENCE}\n"
    one(claims.sphinx_only_markup(page("docs/x.md", shown)), "{toctree}")
    hidden = f"{FENCE}{{toctree}}\n:hidden:\n\ninstallation\n{FENCE}\n"
    literal = "The body `{subscription}` is JSON.\n"
    assert claims.sphinx_only_markup(page("docs/x.md", hidden + literal)) == []


def test_a_command_or_option_that_does_not_exist_is_caught() -> None:
    command = "Run `flask flowglad sync` daily.\n"
    one(claims.unknown_commands(page("docs/x.md", command)), "flask flowglad sync")
    option = f"{FENCE}console\n$ flask flowglad backfill --rate 5 --parallel 4 > log\n{FENCE}\n"
    one(claims.unknown_commands(page("docs/x.md", option)), "--parallel", "docs/x.md:2")
    module = "`python -m flask_flowglad.sandbox --port 1 --tls`\n"
    one(claims.unknown_commands(page("docs/x.md", module)), "--tls")
    continued = (
        f"{FENCE}sh\nflask flowglad sandbox --port 1 \\\n    --webhook-url u --web x\n{FENCE}\n"
    )
    one(claims.unknown_commands(page("docs/x.md", continued)), "--web")
    right = "`flask flowglad check > /dev/null` and `flask flowglad customer u1 --json`\n"
    assert claims.unknown_commands(page("docs/x.md", right)) == []


def test_a_command_or_option_the_cli_page_leaves_out_is_caught() -> None:
    cli = next(p for p in pages() if p.name == "docs/cli.md")
    without_command = page("docs/cli.md", cli.text.replace("flask flowglad pricing", "pricing"))
    assert any(
        "flask flowglad pricing" in f for f in claims.undocumented_commands(without_command)
    )
    without_option = page("docs/cli.md", cli.text.replace("`--max-attempts", "`--attempts"))
    one(claims.undocumented_commands(without_option), "--max-attempts", "backfill")


def test_a_wrong_option_default_is_caught() -> None:
    table = (
        "## `backfill`\n\n| Option | Default | |\n|---|---|---|\n| `--concurrency N` | {} | x |\n"
    )
    one(claims.option_defaults(page("docs/cli.md", table.format("8"))), "--concurrency", "8")
    assert claims.option_defaults(page("docs/cli.md", table.format("4"))) == []
    flag = "## `sandbox`\n\n| Option | Default |\n|---|---|\n| `--port PORT` | `8787` |\n"
    one(claims.option_defaults(page("docs/cli.md", flag)), "5555")


def test_an_action_that_is_not_served_is_caught() -> None:
    text = "The SDK posts `subscriptions/cancel` and `subscriptions/pause`.\n"
    one(claims.unknown_actions(page("docs/x.md", text)), "subscriptions/pause")


def test_an_error_code_or_status_the_code_does_not_send_is_caught() -> None:
    table = "| Condition | Status | `error.code` |\n|---|---|---|\n| {} |\n"
    row = "Not the customer's | 403 | `not_yours`"
    one(claims.wrong_error_codes(page("docs/x.md", table.format(row))), "not_yours")
    status = "Not the customer's | 404 | `forbidden`"
    one(claims.wrong_error_codes(page("docs/x.md", table.format(status))), "[403]", "[404]")
    right = "Not the customer's | 403 | `forbidden`"
    assert claims.wrong_error_codes(page("docs/x.md", table.format(right))) == []
    upstream = "Flowglad: 429 | 429 | the action's code"
    assert claims.wrong_error_codes(page("docs/x.md", table.format(upstream))) == []
    prose = "Logged out is `401 UNAUTHORIZED`; a wrong method `404 method_not_allowed`.\n"
    findings = claims.wrong_error_codes(page("docs/x.md", prose))
    assert len(findings) == 2 and "'UNAUTHORIZED'" in findings[0] and "[405]" in findings[1]
    assert claims.wrong_error_codes(page("docs/x.md", "`401 unauthorized`, `200 OK`\n")) == []


def test_a_broken_link_or_anchor_is_caught() -> None:
    docs = pages()
    one(claims.broken_links(page("docs/x.md", "[a](nowhere.md)\n"), docs), "no such file")
    one(claims.broken_links(page("docs/x.md", "[a](api.md#flowglad-app)\n"), docs), "anchor")
    one(claims.broken_links(page("docs/x.md", "# Top\n\n[a](#bottom)\n"), docs), "#bottom")
    right = "# Top\n\n[a](api.md#flowglad) [b](#top) [c](installation.md#flowglad-fail-open)"
    right += " [d](../examples/minimal/app.py) [e](https://flowglad.com)\n"
    assert claims.broken_links(page("docs/x.md", right), docs) == []


def test_a_file_that_is_not_in_the_repository_is_caught() -> None:
    text = "See `examples/saas/gunicorn.conf.py` and `examples/saas/uwsgi.ini`.\n"
    one(claims.missing_paths(page("docs/x.md", text)), "examples/saas/uwsgi.ini")


def test_a_page_title_that_no_page_has_is_caught() -> None:
    text = 'The documentation\'s "Webhooks" page, and the documentation\'s\n"Billing" page.\n'
    one(claims.unknown_page_titles(page("README.md", text), pages()), "'Billing'")


def test_an_index_whose_list_and_navigation_differ_is_caught() -> None:
    index: Page = next(p for p in pages() if p.name == "docs/index.md")
    dropped = page("docs/index.md", index.text.replace("- [Security](security.md)\n", ""))
    one(claims.contents_out_of_step(dropped), "security", "toctree only")
