"""Greeting templates: the shipped book, rendering, and every way a file can be wrong."""

from __future__ import annotations

from pathlib import Path

import pytest

from care.occasions import NAMES, occasions_in_year
from care.templates import NEUTRAL_WORDS, TemplateBook, TemplateError

FOLLOW_UPS = (
    "followup.after_resolution",
    "followup.after_first_contact",
    "followup.after_purchase",
    "followup.win_back",
)


@pytest.fixture(scope="module")
def book() -> TemplateBook:
    return TemplateBook.load()


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "greetings.toml"
    path.write_text(text, encoding="utf-8")
    return path


# --- the shipped book -----------------------------------------------------------------


def test_every_occasion_and_follow_up_has_a_text_in_both_languages(book: TemplateBook) -> None:
    wanted = set(NAMES) | {o.code for o in occasions_in_year(2026)} | set(FOLLOW_UPS)
    assert wanted | {"greeting"} == set(book.keys())
    for key in book.keys():
        assert set(book.texts[key]) == {"zh_CN", "en"}, key


@pytest.mark.parametrize("locale", ["zh_CN", "en"])
def test_every_text_addresses_the_customer_and_is_signed(book: TemplateBook, locale: str) -> None:
    for key in book.keys():
        text = book.render(key, locale, {"name": "NAME", "company": "COMPANY", "occasion": "X"})
        assert "NAME" in text and text.rstrip().endswith("COMPANY"), (key, locale)
        assert "{" not in text and len(text) < 400, (key, locale)


def test_renders_in_the_customers_language(book: TemplateBook) -> None:
    values = {"name": "王丽", "company": "Acme"}
    chinese = book.render("mid_autumn", "zh_CN", values)
    assert chinese.startswith("亲爱的王丽，月圆人团圆。")
    assert chinese.endswith("—— Acme")
    english = book.render("mid_autumn", "en", {"name": "Ada", "company": "Acme"})
    assert english.startswith("Hi Ada, the full moon brings families together.")
    assert "新春快乐，万事如意" in book.render("spring_festival", "zh_CN", values)
    assert "Is everything all right now?" in book.render("followup.after_resolution", "en", values)


def test_the_generic_greeting_names_the_occasion(book: TemplateBook) -> None:
    text = book.render("greeting", "en", {"name": "Ada", "occasion": "German Unity Day"})
    assert "for German Unity Day!" in text


def test_a_locale_without_text_gets_the_default_one(book: TemplateBook) -> None:
    assert book.render("qixi", "fr", {"name": "Zoé"}) == book.render(
        "qixi", "zh_CN", {"name": "Zoé"}
    )


def test_missing_values_read_as_neutral_words(book: TemplateBook) -> None:
    chinese = book.render("birthday", "zh_CN", {})
    assert chinese.startswith("亲爱的朋友，生日快乐！")
    assert chinese.endswith("—— 您的客服团队")
    english = book.render("followup.win_back", "en", {"name": "  ", "company": ""})
    assert english.startswith("Hi there, it has been a while")
    assert english.endswith("— Your care team")
    assert "this special day" in book.render("greeting", "en", {"name": "Ada"})
    assert "这个特别的日子到了" in book.render("greeting", "zh_CN", {})
    assert set(NEUTRAL_WORDS) == {"zh_CN", "en"}


def test_values_are_put_in_as_they_are(book: TemplateBook) -> None:
    text = book.render("christmas", "en", {"name": "{company} {0}", "company": "A{b}C", "x": "y"})
    assert text.startswith("Hi {company} {0}, merry Christmas!")
    assert text.endswith("— A{b}C")


def test_an_unknown_key_is_a_clear_key_error(book: TemplateBook) -> None:
    with pytest.raises(KeyError, match=r"no template 'halloween'.*mid_autumn"):
        book.render("halloween", "en", {})
    assert "halloween" not in book and "mid_autumn" in book


def test_the_shipped_file_is_package_data() -> None:
    pyproject = (Path(__file__).resolve().parents[2] / "pyproject.toml").read_text()
    assert 'care = ["templates/*.toml"]' in pyproject


# --- files of one's own ---------------------------------------------------------------


def test_loads_a_file_of_ones_own(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """
[mid_autumn]
en = "Hi {name}, happy Mid-Autumn! {{braces}} — {company}"
zh_CN = "{name}，中秋快乐！—— {company}"

[followup.win_back]
zh_CN = "{name}，好久不见。"
""",
    )
    book = TemplateBook.load(path)
    assert book.keys() == ("followup.win_back", "mid_autumn")
    assert book.render("mid_autumn", "en", {"name": "Ada", "company": "Acme"}) == (
        "Hi Ada, happy Mid-Autumn! {braces} — Acme"
    )
    assert book.render("followup.win_back", "en", {"name": "Ada"}) == "Ada，好久不见。"
    assert TemplateBook.load(str(path)).keys() == book.keys()
    with pytest.raises(TemplateError, match=r"\[followup.win_back\] has no en text"):
        TemplateBook.load(path, default_locale="en")


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (
            '[birthday]\nzh_CN = "{name} {age}"\n',
            r"\[birthday\] zh_CN has an unknown placeholder \{age\}",
        ),
        ('[birthday]\nzh_CN = "{}"\n', r"unknown placeholder \{\}"),
        ('[birthday]\nzh_CN = "{0}"\n', r"unknown placeholder \{0\}"),
        ('[birthday]\nzh_CN = "{name.upper}"\n', r"unknown placeholder \{name.upper\}"),
        ('[birthday]\nzh_CN = "{name:>20}"\n', r"without a format or conversion"),
        ('[birthday]\nzh_CN = "{name!r}"\n', r"without a format or conversion"),
        ('[birthday]\nzh_CN = "Hi {name"\n', r"\[birthday\] zh_CN has malformed braces"),
        ('[birthday]\nzh_CN = "Hi name}"\n', r"malformed braces"),
        ('[birthday]\nen = "Hi {name}"\n', r"\[birthday\] has no zh_CN text"),
        ('[birthday]\nzh_CN = "   "\n', r"\[birthday\] zh_CN is empty"),
        ('[birthday]\nzh_CN = "hi"\nfr = "salut"\n', r"\[birthday\] fr is not a locale"),
        ("[birthday]\nzh_CN = 3\n", r"\[birthday\] zh_CN is not a text"),
        ('birthday = "hi"\n', r"birthday is not a table"),
        (
            '[followup]\nzh_CN = "hi"\n[followup.win_back]\nzh_CN = "hi"\n',
            r"mixes texts and tables",
        ),
        ('[birthday\nzh_CN = "hi"\n', r"not valid TOML"),
        ("", r"no templates"),
    ],
)
def test_a_bad_file_is_refused_when_loaded(tmp_path: Path, content: str, message: str) -> None:
    path = write(tmp_path, content)
    with pytest.raises(TemplateError, match=message) as caught:
        TemplateBook.load(path)
    assert str(path) in str(caught.value)


def test_a_text_longer_than_a_message_is_refused(tmp_path: Path) -> None:
    fits = "好" * 4096
    assert TemplateBook.load(write(tmp_path, f'[birthday]\nzh_CN = "{fits}"\n'))
    path = write(tmp_path, f'[birthday]\nzh_CN = "{fits}好"\n')
    with pytest.raises(TemplateError, match="4097 characters long; a message holds 4096"):
        TemplateBook.load(path)


def test_a_missing_or_unreadable_file(tmp_path: Path) -> None:
    with pytest.raises(TemplateError, match="cannot be read"):
        TemplateBook.load(tmp_path / "absent.toml")
    path = tmp_path / "gbk.toml"
    path.write_bytes('[birthday]\nzh_CN = "生日快乐"\n'.encode("gbk"))
    with pytest.raises(TemplateError, match="not UTF-8"):
        TemplateBook.load(path)


def test_the_default_locale_must_be_one_of_ours() -> None:
    with pytest.raises(TemplateError, match="'fr' is not one of zh_CN, en"):
        TemplateBook.load(default_locale="fr")
